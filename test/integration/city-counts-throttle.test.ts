/**
 * The city-counts handler through a throttled DynamoDB transaction: DynamoDB does not answer a
 * throttled TransactWriteItems with ThrottlingException but with TransactionCanceledException,
 * reason ThrottlingError (API Reference, TransactWriteItems, Errors), which the SDK does not
 * retry. On a moto of its own that cancels every transaction so for ~3 s
 * (moto_server.py's "transaction-throttle"), the handler runs the batch again until the window
 * is over (retryTransient), and the table then holds the batch's counts, once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as Handler from "../../functions/city-counts/handler.js";
import {
  awsClientConfig,
  LOCAL_REGION,
  localAwsEnvironment,
} from "../../local/stack/aws-endpoint.js";
import {
  clearAwsFaults,
  faultWindowEnd,
  injectedAwsFaults,
  writeAwsFaults,
} from "../../local/stack/aws-faults.js";
import { type MotoServer, startMotoServer } from "../../local/stack/moto-server.js";
import { tableCounts as countersOf, createCountsTable } from "../support/counts-table.js";
import { mskCityCountsFirstResult, sampleEvent } from "../support/sample-events.js";

const WINDOW_MS = 3000;

let runDir: string;
let faultsFile: string;
let moto: MotoServer | undefined;
let dynamodb: DynamoDBClient;
let TableName: string;
let handler: typeof Handler;
/** The variables this file sets, with their values before it. */
const environment: Record<string, string | undefined> = {};

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), "city-counts-throttle-"));
  faultsFile = join(runDir, "faults.json");
  moto = await startMotoServer(runDir, { faultsFile });
  const target = { endpoint: moto.endpoint, region: LOCAL_REGION };
  dynamodb = new DynamoDBClient(awsClientConfig(target));
  TableName = await createCountsTable(dynamodb, "city-counts-throttle");
  // The handler reads its configuration and builds its client at import, as on Lambda: it
  // counts on this moto with its own DynamoDB client and retry settings.
  const variables = { ...localAwsEnvironment(target), TABLE_NAME: TableName };
  for (const [name, value] of Object.entries(variables)) {
    environment[name] = process.env[name];
    process.env[name] = value;
  }
  handler = await import("../../functions/city-counts/handler.js");
});

afterAll(async () => {
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  dynamodb?.destroy();
  await moto?.process.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

const tableCounts = () => countersOf(dynamodb, TableName);

describe("city-counts handler while DynamoDB throttles its transactions", () => {
  it("rides a window of TransactionCanceledException (ThrottlingError) out and counts the batch once", async () => {
    const retries = vi.spyOn(handler.logger, "warn");
    const until = faultWindowEnd(WINDOW_MS);
    writeAwsFaults(faultsFile, { dynamodb: { mode: "transaction-throttle", until } });
    try {
      const result = await handler.countCityRsvps(sampleEvent("msk-city-counts.json"));
      // Resolved, not thrown, and only once the window was over: every try before was cancelled.
      expect(Date.now()).toBeGreaterThanOrEqual(until * 1000);
      expect(result).toEqual(mskCityCountsFirstResult);
    } finally {
      clearAwsFaults(faultsFile);
    }

    // The batch's counts (as test/integration/city-counts.test.ts has them), none doubled.
    const portlandOr = { rsvps: 2, yes: 1, no: 1, guests: 1 };
    const portlandMe = { rsvps: 1, yes: 1, no: 0, guests: 1 };
    expect(await tableCounts()).toEqual(
      new Map([
        ["DAY#2018-05-20#us us/or/portland", portlandOr],
        ["DAY#2018-05-20#us us/me/portland", portlandMe],
        ["ALL#us us/or/portland", portlandOr],
        ["ALL#us us/me/portland", portlandMe],
      ]),
    );

    // moto did cancel the transaction, only it, and each cancellation cost one run of the batch.
    const injected = injectedAwsFaults(faultsFile);
    expect(injected.dynamodb["transaction-throttle"]).toBeGreaterThanOrEqual(1);
    expect(injected.dynamodb).toMatchObject({
      throttle: 0,
      error500: 0,
      byOperation: { TransactWriteItems: injected.dynamodb["transaction-throttle"] },
    });
    const batchRunsAgain = retries.mock.calls.filter(([message]) =>
      String(message).startsWith("DynamoDB failing for a moment"),
    );
    expect(batchRunsAgain).toHaveLength(injected.dynamodb["transaction-throttle"]);
    expect(batchRunsAgain[0]?.[1]).toMatchObject({
      attempt: 1,
      error: expect.stringMatching(/\[ThrottlingError(, None)*\]/),
    });
  });
});
