/** A fresh table shaped like the template's CityCountsTable, so a test starts from empty. */
import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { loadTemplateModel } from "../../local/stack/template-model.js";

let made = 0;

export async function createCountsTable(dynamodb: DynamoDBClient, prefix: string): Promise<string> {
  const table = loadTemplateModel().tables.find((t) => t.logicalId === "CityCountsTable");
  if (!table) throw new Error("template.yaml has no CityCountsTable");
  const TableName = `${prefix}-${process.pid}-${++made}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: table.keySchema,
      AttributeDefinitions: table.attributeDefinitions,
    }),
  );
  return TableName;
}
