/**
 * The cities with the most RSVPs of all time, read straight from the counts table: what
 * `npm start` shows while it runs (the counts API will serve the same to the website).
 */
import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";

export interface CityTotal {
  cityKey: string;
  label: string;
  rsvps: number;
}

export async function topCities(
  dynamodb: DynamoDBClient,
  tableName: string,
  limit: number,
): Promise<CityTotal[]> {
  const totals: CityTotal[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :all",
        ExpressionAttributeValues: { ":all": { S: "ALL" } },
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const state = item.state?.S;
      const name = item.city?.S ?? item.sk?.S ?? "?";
      totals.push({
        cityKey: item.sk?.S ?? "",
        label: state ? `${name}, ${state}` : `${name} (${item.country?.S ?? "?"})`,
        rsvps: Number(item.rsvps?.N ?? 0),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return totals
    .sort((a, b) => b.rsvps - a.rsvps || a.cityKey.localeCompare(b.cityKey))
    .slice(0, limit);
}
