/** A fresh table shaped like the template's CityCountsTable, so a test starts from empty. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
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
