/**
 * The city-counts handler while DynamoDB throttles its counter writes, as it throttles a hot key.
 * The counting writes single items: states and day markers with PutItem, counters with
 * UpdateItem, and a city's counters are its hot keys (every RSVP of the city writes them). A key
 * past its partition's throughput (1,000 WRU/s, on-demand tables too) has its writes answered
 * with HTTP 400 ThrottlingException or ProvisionedThroughputExceededException, ThrottlingReasons
 * naming TableWriteKeyRangeThroughputExceeded (DynamoDB Developer Guide, "Key range throughput
 * exceeded (hot partitions)"; API Reference, UpdateItem, Errors), and the SDK retries both as
 * throttling; past its attempts, the handler runs the batch again (retryTransient).
 *
 * Pinned here, on a moto of its own that answers every UpdateItem so for ~3 s with
 * ThrottlingException (moto_server.py's "throttle" mode limited to UpdateItem): inside the window
 * a batch's state writes are done and its counters not (the states hold the changes as pending),
 * the batch resolves only after the window, ridden out by the SDK's own retries (the handler's
 * ten attempts, their throttling backoff full jitter over a base of 0.5 s or more doubling, run
 * out within 3 s about once in 10^8 calls), and the table then holds the batch's counts once.
 * It takes 4-25 s: the SDK's first try after the window may come up to 20 s after it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AttributeValue, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { storedStateOf } from "../../functions/city-counts/counting.js";
import type * as Handler from "../../functions/city-counts/handler.js";
import { sleep } from "../../functions/shared/backoff.js";
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

/** Per RSVP with a state item, the offsets of its pending changes (Scan is not throttled). */
async function pendingByRsvp(): Promise<Map<number, number[]>> {
  const pending = new Map<number, number[]>();
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      if (!item.pk?.S?.startsWith("RSVP#")) continue;
      const stored = storedStateOf(item);
      if (stored === null) throw new Error(`unreadable state item ${item.pk.S}`);
      pending.set(
        stored.state.rsvpId,
        stored.pending.map((change) => change.offset),
      );
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return pending;
}

describe("city-counts handler while DynamoDB throttles its counter writes (a hot key)", () => {
  it("rides a window of ThrottlingException on UpdateItem out and counts the batch once", async () => {
    const retries = vi.spyOn(handler.logger, "warn");
    const until = faultWindowEnd(WINDOW_MS);
    writeAwsFaults(faultsFile, {
      dynamodb: { mode: "throttle", until, operations: ["UpdateItem"] },
    });
    try {
      let settled = false;
      const counting = handler.countCityRsvps(sampleEvent("msk-city-counts.json")).finally(() => {
        settled = true;
      });
      // Inside the window: the RSVPs of both partitions, counted side by side (meetup-0's
      // 1700000001 at offsets 100 and 102, an exact copy, and 1700000002 at 101; meetup-3's
      // 1700000003 at 40) have their states written, each holding its change as pending at its
      // last offset, and no counter has moved: the batch waits on its counters.
      const statesWritten = new Map([
        [1700000001, [102]],
        [1700000002, [101]],
        [1700000003, [40]],
      ]);
      let midWindow = new Map<number, number[]>();
      while (!settled && Date.now() < until * 1000 && midWindow.size < statesWritten.size) {
        midWindow = await pendingByRsvp();
        if (midWindow.size < statesWritten.size) await sleep(50);
      }
      const counters = await tableCounts();
      expect(Date.now()).toBeLessThan(until * 1000);
      expect(midWindow).toEqual(statesWritten);
      expect(counters).toEqual(new Map());

      const result = await counting;
      // Resolved, not thrown, and only once the window was over: no counter write got through
      // before.
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

    // moto throttled UpdateItem only, at least the first partition's two counter writes once.
    const injected = injectedAwsFaults(faultsFile);
    expect(injected.dynamodb.throttle).toBeGreaterThanOrEqual(2);
    expect(injected.dynamodb).toMatchObject({
      error500: 0,
      "transaction-throttle": 0,
      byOperation: { UpdateItem: injected.dynamodb.throttle },
    });
    expect(Object.keys(injected.dynamodb.byOperation)).toEqual(["UpdateItem"]);
    // The SDK rode the window out within each call: the batch ran once, not again.
    const batchRunsAgain = retries.mock.calls.filter(([message]) =>
      String(message).startsWith("DynamoDB failing for a moment"),
    );
    expect(batchRunsAgain).toEqual([]);
  });
});
