/** Every per-day city counter in the table, for `npm start -- --once --json`. */
import { type DynamoDBClient, paginateScan } from "@aws-sdk/client-dynamodb";
import { toCityCount } from "../../functions/counts-api/top-cities.js";

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
  const pages = paginateScan(
    { client: dynamodb },
    {
      TableName: tableName,
      FilterExpression: "begins_with(pk, :day)",
      ExpressionAttributeValues: { ":day": { S: "DAY#" } },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const { country, state, city, rsvps, yes, no, guests } = toCityCount(item);
      const day = (item.pk?.S ?? "").split("#")[1] ?? "";
      // Zero: its RSVPs moved to another day or city (the counts API shows none either).
      if (rsvps > 0) counts.push({ country, state, city, day, rsvps, yes, no, guests });
    }
  }
  return counts.sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.country.localeCompare(b.country) ||
      (a.state ?? "").localeCompare(b.state ?? "") ||
      a.city.localeCompare(b.city),
  );
}
