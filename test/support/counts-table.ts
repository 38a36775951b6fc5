/** A fresh table shaped like the template's CityCountsTable, so a test starts from empty. */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { createTable } from "../../local/stack/provision.js";
import { loadTemplateModel } from "../../local/stack/template-model.js";

let made = 0;

export async function createCountsTable(dynamodb: DynamoDBClient, prefix: string): Promise<string> {
  const table = loadTemplateModel().tables.find((t) => t.logicalId === "CityCountsTable");
  if (!table) throw new Error("template.yaml has no CityCountsTable");
  const TableName = `${prefix}-${process.pid}-${++made}`;
  await createTable(dynamodb, table, TableName);
  return TableName;
}

export interface CounterRow {
  rsvps: number;
  yes: number;
  no: number;
  guests: number;
}

/**
 * Every counter in the table, keyed like the counting rule's oracle: `DAY#<day>#<country> <key>`
 * and `ALL#<country> <key>`. A counter that went back to zero is as good as none (its RSVPs
 * moved to another day or city), so it is left out.
 */
export async function tableCounts(
  dynamodb: DynamoDBClient,
  TableName: string,
): Promise<Map<string, CounterRow>> {
  const items: Record<string, AttributeValue>[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return countsOfItems(items);
}

/** The counter rows among these items, as {@link tableCounts} gives them. */
export function countsOfItems(
  items: Iterable<Record<string, AttributeValue>>,
): Map<string, CounterRow> {
  const counts = new Map<string, CounterRow>();
  for (const item of items) {
    const pk = item.pk?.S ?? "";
    if (!pk.startsWith("DAY#") && !pk.startsWith("ALL#")) continue;
    const row = {
      rsvps: Number(item.rsvps?.N),
      yes: Number(item.yes?.N),
      no: Number(item.no?.N),
      guests: Number(item.guests?.N),
    };
    if (row.rsvps !== 0 || row.yes !== 0 || row.no !== 0 || row.guests !== 0)
      counts.set(`${pk} ${item.sk?.S}`, row);
  }
  return counts;
}
