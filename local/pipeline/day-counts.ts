/** Every per-day city counter in the table, for `npm start -- --once --json`. */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";

export interface DayCount {
  country: string;
  state: string | null;
  city: string;
  day: string;
  rsvps: number;
  yes: number;
  no: number;
  guests: number;
}

export async function dayCounts(dynamodb: DynamoDBClient, tableName: string): Promise<DayCount[]> {
  const counts: DayCount[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "begins_with(pk, :day)",
        ExpressionAttributeValues: { ":day": { S: "DAY#" } },
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const number = (name: string) => Number(item[name]?.N ?? 0);
      counts.push({
        country: item.country?.S ?? "",
        state: item.state?.S ?? null,
        city: item.city?.S ?? "",
        day: (item.pk?.S ?? "").split("#")[1] ?? "",
        rsvps: number("rsvps"),
        yes: number("yes"),
        no: number("no"),
        guests: number("guests"),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return counts.sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.country.localeCompare(b.country) ||
      (a.state ?? "").localeCompare(b.state ?? "") ||
      a.city.localeCompare(b.city),
  );
}
