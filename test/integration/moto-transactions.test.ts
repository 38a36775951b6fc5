/**
 * local/stack/moto_server.py, the launcher that makes moto's DynamoDB transactions snapshot
 * only the items they touch: on the real server, a cancelled transaction leaves every item as
 * it was, a successful one applies all, and a fixed scenario gives exactly what unpatched moto
 * gives. (How much faster it is, is a figure: `npm run bench -- counts-store`.)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttributeValue,
  DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, venvBin } from "../../local/setup/paths.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { freePorts } from "../../local/stack/ports.js";
import { type SupervisedProcess, startSupervised } from "../../local/stack/supervised-process.js";
import { createCountsTable } from "../support/counts-table.js";
import { stackAws, stackDynamoDB } from "../support/stack-clients.js";

/** The shared stack's moto, which moto_server.py starts. */
const patched = stackDynamoDB();

let plainMoto: SupervisedProcess;
let unpatched: DynamoDBClient;

beforeAll(async () => {
  // Unpatched moto, as its own moto_server entry point starts it.
  const [port] = (await freePorts(1)) as [number];
  plainMoto = startSupervised({
    name: "moto-unpatched",
    command: venvBin("moto_server"),
    args: ["-H", "127.0.0.1", "-p", String(port)],
    logPath: join(mkdtempSync(join(tmpdir(), "moto-unpatched-")), "moto.log"),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ok = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (tries > 200) throw new Error(`unpatched moto did not start:\n${plainMoto.logTail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  unpatched = new DynamoDBClient(awsClientConfig({ endpoint, region: stackAws().region }));
});

afterAll(async () => {
  patched.destroy();
  unpatched?.destroy();
  await plainMoto?.stop();
});

/** A table shaped like the template's counts table (pk, sk), on either server. */
const freshTable = (client: DynamoDBClient) => createCountsTable(client, "moto-transactions");

const key = (pk: string, sk = "s") => ({ pk: { S: pk }, sk: { S: sk } });
const put = (TableName: string, pk: string, n: number, condition?: string): TransactWriteItem => ({
  Put: {
    TableName,
    Item: { ...key(pk), n: { N: String(n) } },
    ...(condition ? { ConditionExpression: condition } : {}),
  },
});
const add = (TableName: string, pk: string, n: number, condition?: string): TransactWriteItem => ({
  Update: {
    TableName,
    Key: key(pk),
    UpdateExpression: "ADD n :n",
    ExpressionAttributeValues: { ":n": { N: String(n) } },
    ...(condition ? { ConditionExpression: condition } : {}),
  },
});
/** An Update with any expression, for the parse cache: a text seen before must give the same. */
const update = (TableName: string, pk: string, expression: string): TransactWriteItem => ({
  Update: {
    TableName,
    Key: key(pk),
    UpdateExpression: expression,
    ExpressionAttributeValues: { ":n": { N: "3" } },
  },
});
const remove = (TableName: string, pk: string): TransactWriteItem => ({
  Delete: { TableName, Key: key(pk) },
});
const mustExist = (TableName: string, pk: string): TransactWriteItem => ({
  ConditionCheck: { TableName, Key: key(pk), ConditionExpression: "attribute_exists(pk)" },
});

async function run(
  client: DynamoDBClient,
  actions: TransactWriteItem[],
): Promise<string[] | "applied"> {
  try {
    await client.send(new TransactWriteItemsCommand({ TransactItems: actions }));
    return "applied";
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? "");
  }
}

async function items(client: DynamoDBClient, TableName: string) {
  const page = await client.send(new ScanCommand({ TableName }));
  return (page.Items ?? [])
    .map((item: Record<string, AttributeValue>) => `${item.pk?.S}=${item.n?.N}`)
    .sort();
}

describe("moto_server.py (DynamoDB transactions that snapshot only what they touch)", () => {
  it("leaves every item as it was when one condition fails, and applies all when none does", async () => {
    const TableName = await freshTable(patched);
    // Other items, so a rollback that restored the table wholesale or not at all would show.
    for (let i = 0; i < 20; i++)
      expect(await run(patched, [put(TableName, `other-${i}`, i)])).toBe("applied");
    expect(await run(patched, [put(TableName, "a", 1), put(TableName, "gone", 9)])).toBe("applied");
    const before = await items(patched, TableName);

    const cancelled = await run(patched, [
      add(TableName, "a", 5),
      put(TableName, "new", 1),
      remove(TableName, "gone"),
      mustExist(TableName, "missing"),
    ]);
    expect(cancelled).toEqual(["None", "None", "None", "ConditionalCheckFailed"]);
    expect(await items(patched, TableName)).toEqual(before);

    expect(
      await run(patched, [
        add(TableName, "a", 5),
        put(TableName, "new", 1),
        remove(TableName, "gone"),
      ]),
    ).toBe("applied");
    const after = await items(patched, TableName);
    expect(after).toContain("a=6");
    expect(after).toContain("new=1");
    expect(after.some((item) => item.startsWith("gone="))).toBe(false);
  });

  it("gives what unpatched moto gives on a fixed scenario", async () => {
    const scenario = (t: string): TransactWriteItem[][] => [
      [put(t, "a", 1), put(t, "b", 2)],
      [add(t, "a", 1), put(t, "b", 5, "attribute_not_exists(pk)")], // fails on b
      [add(t, "a", 10, "n = :one")], // a validation problem: :one is not defined
      [add(t, "a", 1, "attribute_exists(pk)"), remove(t, "b"), put(t, "c", 3)],
      [put(t, "d", 4), mustExist(t, "b")], // b is gone: fails, d not written
      [add(t, "c", 1), add(t, "c", 1)], // the same item twice
      [add(t, "a", 2), put(t, "e", 5, "attribute_not_exists(pk)")],
      // The same expression texts again (moto_server.py parses each text once) ...
      [update(t, "e", "SET n = n + :n REMOVE z"), update(t, "f", "SET n = :n")],
      [update(t, "e", "SET n = n + :n REMOVE z"), update(t, "f", "SET n = n + :n")],
      // ... and a text that does not parse, twice: the same error both times.
      [update(t, "a", "ADD n :n,")],
      [update(t, "a", "ADD n :n,")],
    ];
    const outcomes = async (client: DynamoDBClient) => {
      const TableName = await freshTable(client);
      const results: unknown[] = [];
      for (const actions of scenario(TableName)) {
        results.push(
          await run(client, actions).catch((error: Error) => `${error.name}: ${error.message}`),
          await items(client, TableName),
        );
      }
      return results;
    };
    const withPatch = await outcomes(patched);
    expect(withPatch).toEqual(await outcomes(unpatched));
    // And the scenario did go through cancellations and errors, not only successes.
    expect(
      withPatch.filter((r) => Array.isArray(r) && r.includes("ConditionalCheckFailed")).length,
    ).toBe(2);
  });

  it("answers a Query of the table itself as unpatched moto does, reading only its partition", async () => {
    // Partitions of several items, a missing one, pages (Limit + ExclusiveStartKey), both
    // orders, a sort-key condition and a filter, projections, counts.
    const answers = async (client: DynamoDBClient) => {
      const TableName = await freshTable(client);
      const puts: TransactWriteItem[] = [];
      for (const pk of ["UNSETTLED#t-0", "UNSETTLED#t-1", "DAY#2026-01-01#us"])
        for (let i = 0; i < 7; i++)
          puts.push({
            Put: { TableName, Item: { ...key(pk, `${i * 37}-${i}#0`), n: { N: String(i) } } },
          });
      await run(client, puts.slice(0, 21));
      const query = (input: Omit<QueryCommandInput, "TableName">) =>
        client.send(new QueryCommand({ TableName, ...input })).then(
          (answer) => ({
            Items: answer.Items,
            Count: answer.Count,
            ScannedCount: answer.ScannedCount,
            LastEvaluatedKey: answer.LastEvaluatedKey,
          }),
          (error: Error) => `${error.name}: ${error.message}`,
        );
      const partition = (pk: string) => ({
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: pk } },
        ConsistentRead: true,
      });
      const firstPage = await query({ ...partition("UNSETTLED#t-0"), Limit: 3 });
      return [
        await query(partition("UNSETTLED#t-1")),
        await query(partition("UNSETTLED#none")),
        firstPage,
        await query({
          ...partition("UNSETTLED#t-0"),
          Limit: 3,
          ExclusiveStartKey: typeof firstPage === "string" ? undefined : firstPage.LastEvaluatedKey,
        }),
        await query({ ...partition("DAY#2026-01-01#us"), ScanIndexForward: false }),
        await query({
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :one)",
          ExpressionAttributeValues: { ":pk": { S: "UNSETTLED#t-0" }, ":one": { S: "1" } },
        }),
        await query({
          ...partition("UNSETTLED#t-0"),
          FilterExpression: "n > :two",
          ExpressionAttributeValues: { ":pk": { S: "UNSETTLED#t-0" }, ":two": { N: "2" } },
          ProjectionExpression: "sk",
        }),
        await query({ ...partition("UNSETTLED#t-0"), Select: "COUNT" }),
      ];
    };
    const withPatch = await answers(patched);
    expect(withPatch).toEqual(await answers(unpatched));
    // It did read pages and partitions, not only empty answers.
    expect(withPatch[2]).toMatchObject({ Count: 3, LastEvaluatedKey: expect.anything() });
    expect(withPatch[0]).toMatchObject({ Count: 7 });
  });

  it("refuses to start on a moto version it was not written for, saying why", () => {
    const result = spawnSync(
      venvBin("python"),
      [join(repoRoot, "local/stack/moto_server.py"), "--help"],
      {
        env: { ...process.env, RSVP_ATLAS_MOTO_PIN: "0.0.1" },
        encoding: "utf8",
      },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /patches moto 0\.0\.1's DynamoDB transactions, but this venv has moto 5\.2\.5/,
    );
  });
});
