/**
 * Fault injection in the local AWS emulator (moto_server.py, driven by local/stack/aws-faults.ts),
 * on a moto of its own started with a faults file: DynamoDB answers ThrottlingException or a 500
 * for a window (or cancels every transaction as throttled, as DynamoDB does) and serves again
 * after it, Firehose PutRecordBatch fails every n-th entry (which
 * then does not land in S3) and delivers all again after it, moto logs what it injected, and a
 * moto started without a faults file injects nothing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  ThrottlingException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isTransientAwsError } from "../../functions/shared/aws-errors.js";
import { awsClientConfig, LOCAL_REGION } from "../../local/stack/aws-endpoint.js";
import {
  type AwsFaults,
  awsFaultsLogPath,
  clearAwsFaults,
  faultWindowEnd,
  injectedAwsFaults,
  writeAwsFaults,
} from "../../local/stack/aws-faults.js";
import { type MotoServer, startMotoServer } from "../../local/stack/moto-server.js";
import { localResourceNames, provisionAwsResources } from "../../local/stack/provision.js";
import { loadTemplateModel } from "../../local/stack/template-model.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { createCountsTable } from "../support/counts-table.js";
import { bucketLines } from "../support/s3-lines.js";

const model = loadTemplateModel();
const names = localResourceNames(model);
const DeliveryStreamName = names.deliveryStreams.RawDeliveryStream as string;
const rawBucket = names.buckets.RawBucket as string;

/** A moto of this file's own (its faults file in its run dir), and clients that do not retry. */
interface FaultyMoto {
  runDir: string;
  faultsFile: string;
  moto: MotoServer;
  dynamodb: DynamoDBClient;
  firehose: FirehoseClient;
  s3: S3Client;
}

async function startMoto(withFaultsFile: boolean): Promise<FaultyMoto> {
  const runDir = mkdtempSync(join(tmpdir(), "aws-faults-"));
  const faultsFile = join(runDir, "faults.json");
  let moto: MotoServer | undefined;
  try {
    moto = await startMotoServer(runDir, withFaultsFile ? { faultsFile } : {});
    await provisionAwsResources(model, { endpoint: moto.endpoint, region: LOCAL_REGION });
  } catch (error) {
    await moto?.process.stop();
    rmSync(runDir, { recursive: true, force: true });
    throw error;
  }
  const target = { endpoint: moto.endpoint, region: LOCAL_REGION };
  const config = { ...awsClientConfig(target), maxAttempts: 1 };
  return {
    runDir,
    faultsFile,
    moto,
    dynamodb: new DynamoDBClient(config),
    firehose: new FirehoseClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
}

async function stopMoto(local: FaultyMoto | undefined): Promise<void> {
  if (!local) return;
  local.dynamodb.destroy();
  local.firehose.destroy();
  local.s3.destroy();
  await local.moto.process.stop();
  rmSync(local.runDir, { recursive: true, force: true });
}

let local: FaultyMoto;
beforeAll(async () => {
  local = await startMoto(true);
});
afterEach(() => {
  if (local) clearAwsFaults(local.faultsFile);
});
afterAll(() => stopMoto(local));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until a window ending at `until` (epoch seconds) is over. */
const windowOver = (until: number) => sleep(Math.max(0, until * 1000 - Date.now()) + 50);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("the request succeeded");
    },
    (error: unknown) => error as Error & { $metadata: { httpStatusCode?: number } },
  );

/** How much more moto injected than `before` says. */
function injectedSince(before: ReturnType<typeof injectedAwsFaults>) {
  const now = injectedAwsFaults(local.faultsFile);
  return {
    throttle: now.dynamodb.throttle - before.dynamodb.throttle,
    error500: now.dynamodb.error500 - before.dynamodb.error500,
    transactionThrottle:
      now.dynamodb["transaction-throttle"] - before.dynamodb["transaction-throttle"],
    batches: now.firehose.batches - before.firehose.batches,
    failedEntries: now.firehose.failedEntries - before.firehose.failedEntries,
    entries: now.entries.slice(before.entries.length),
  };
}

/** The size of moto's log of injected faults (0 before the first). */
const logSize = () => {
  const log = awsFaultsLogPath(local.faultsFile);
  return existsSync(log) ? statSync(log).size : 0;
};

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: "s" } });
const putItem = (client: DynamoDBClient, TableName: string, pk: string) =>
  client.send(new PutItemCommand({ TableName, Item: { ...key(pk), n: { N: "1" } } }));
const itemExists = async (client: DynamoDBClient, TableName: string, pk: string) =>
  (await client.send(new GetItemCommand({ TableName, Key: key(pk) }))).Item !== undefined;

/** The lines of `tag` that Firehose has landed in the raw bucket, in put order of their `n`. */
async function landed(s3: S3Client, tag: string): Promise<number[]> {
  return (await bucketLines(s3, rawBucket))
    .map((line) => JSON.parse(line) as { tag: string; n: number })
    .filter((record) => record.tag === tag)
    .map((record) => record.n)
    .sort((a, b) => a - b);
}
const record = (tag: string, n: number) => ({ Data: Buffer.from(`{"tag":"${tag}","n":${n}}\n`) });

describe("DynamoDB faults", () => {
  it("throttles every request during a throttle window as ThrottlingException, running none, and serves again after it", async () => {
    const { dynamodb, faultsFile } = local;
    const TableName = await createCountsTable(dynamodb, "aws-faults");
    const before = injectedAwsFaults(faultsFile);
    const until = faultWindowEnd(3000);
    writeAwsFaults(faultsFile, { dynamodb: { mode: "throttle", until } });

    const throttled = await failure(putItem(dynamodb, TableName, "a"));
    expect(throttled).toBeInstanceOf(ThrottlingException);
    // The name the SDK's retry strategy classifies as throttling (THROTTLING_ERROR_CODES).
    expect(throttled.name).toBe("ThrottlingException");
    expect(throttled.$metadata.httpStatusCode).toBe(400);
    expect((throttled as ThrottlingException).$fault).toBe("client");
    expect(throttled.message).toMatch(/^Rate of requests exceeds the allowed throughput\./);
    await expect(failure(itemExists(dynamodb, TableName, "a"))).resolves.toBeInstanceOf(
      ThrottlingException,
    );

    await windowOver(until);
    expect(await itemExists(dynamodb, TableName, "a")).toBe(false); // the throttled put never ran
    await putItem(dynamodb, TableName, "a");
    expect(await itemExists(dynamodb, TableName, "a")).toBe(true);

    const injected = injectedSince(before);
    expect(injected).toMatchObject({ throttle: 2, error500: 0, batches: 0 });
    expect(injected.entries.map((entry) => entry.operation)).toEqual(["PutItem", "GetItem"]);
  });

  it("is retried by the SDK's default retry strategy (a ValidationException is not)", async () => {
    const retrying = new DynamoDBClient({
      ...awsClientConfig({ endpoint: local.moto.endpoint, region: LOCAL_REGION }),
      maxAttempts: 3,
    });
    try {
      const TableName = await createCountsTable(retrying, "aws-faults");
      const notRetried = await failure(
        retrying.send(new PutItemCommand({ TableName, Item: { pk: { S: "no sort key" } } })),
      );
      expect(notRetried.name).toBe("ValidationException");
      expect((notRetried as ThrottlingException).$metadata.attempts).toBe(1);

      writeAwsFaults(local.faultsFile, {
        dynamodb: { mode: "throttle", until: faultWindowEnd(60_000) },
      });
      const throttled = (await failure(putItem(retrying, TableName, "r"))) as ThrottlingException;
      expect(throttled.name).toBe("ThrottlingException");
      expect(throttled.$metadata.attempts).toBe(3);
      expect(throttled.$metadata.totalRetryDelay).toBeGreaterThan(0);
    } finally {
      retrying.destroy();
    }
  });

  it("answers 500 InternalServerError in an error500 window, and faults only the operations named", async () => {
    const { dynamodb, faultsFile } = local;
    const TableName = await createCountsTable(dynamodb, "aws-faults");
    const before = injectedAwsFaults(faultsFile);
    const transaction = new TransactWriteItemsCommand({
      TransactItems: [{ Put: { TableName, Item: { ...key("t"), n: { N: "1" } } } }],
    });

    writeAwsFaults(faultsFile, {
      dynamodb: {
        mode: "throttle",
        until: faultWindowEnd(60_000),
        operations: ["TransactWriteItems"],
      },
    });
    await putItem(dynamodb, TableName, "p"); // not named: served
    expect((await failure(dynamodb.send(transaction))).name).toBe("ThrottlingException");

    writeAwsFaults(faultsFile, { dynamodb: { mode: "error500", until: faultWindowEnd(60_000) } });
    const error500 = await failure(putItem(dynamodb, TableName, "q"));
    expect(error500).toBeInstanceOf(InternalServerError);
    expect(error500.name).toBe("InternalServerError");
    expect(error500.$metadata.httpStatusCode).toBe(500);
    expect((error500 as InternalServerError).$fault).toBe("server");

    clearAwsFaults(faultsFile); // the window ends early
    await dynamodb.send(transaction);
    expect(await itemExists(dynamodb, TableName, "t")).toBe(true);
    expect(await itemExists(dynamodb, TableName, "q")).toBe(false);

    const injected = injectedSince(before);
    expect(injected).toMatchObject({ throttle: 1, error500: 1, batches: 0 });
    expect(injected.entries).toMatchObject([
      { service: "dynamodb", mode: "throttle", operation: "TransactWriteItems", status: 400 },
      { service: "dynamodb", mode: "error500", operation: "PutItem", status: 500 },
    ]);
  });

  it("cancels every transaction as throttled in a transaction-throttle window, as DynamoDB does, runs the other operations, and runs transactions again after it", async () => {
    const { dynamodb, faultsFile } = local;
    const TableName = await createCountsTable(dynamodb, "aws-faults");
    const before = injectedAwsFaults(faultsFile);
    const transaction = new TransactWriteItemsCommand({
      TransactItems: ["t1", "t2", "t3"].map((pk) => ({
        Put: { TableName, Item: { ...key(pk), n: { N: "1" } } },
      })),
    });
    const until = faultWindowEnd(3000);
    writeAwsFaults(faultsFile, { dynamodb: { mode: "transaction-throttle", until } });

    const cancelled = (await failure(dynamodb.send(transaction))) as TransactionCanceledException;
    expect(cancelled).toBeInstanceOf(TransactionCanceledException);
    expect(cancelled.name).toBe("TransactionCanceledException");
    expect(cancelled.$metadata.httpStatusCode).toBe(400);
    expect(cancelled.$fault).toBe("client");
    expect(cancelled.message).toMatch(
      /^Transaction cancelled, please refer cancellation reasons for specific reasons \[ThrottlingError, None, None\]/,
    );
    // One reason per item, in the request's order; "None" for the items that had no error.
    expect(cancelled.CancellationReasons).toEqual([
      {
        Code: "ThrottlingError",
        Message: expect.stringMatching(
          /^Throughput exceeds the current capacity of your table or index\. /,
        ),
      },
      { Code: "None" },
      { Code: "None" },
    ]);
    expect(isTransientAwsError(cancelled)).toBe(true);
    await putItem(dynamodb, TableName, "p"); // not a transaction: served
    expect(await itemExists(dynamodb, TableName, "p")).toBe(true);

    await windowOver(until);
    expect(await itemExists(dynamodb, TableName, "t1")).toBe(false); // the cancelled one never ran
    await dynamodb.send(transaction);
    for (const pk of ["t1", "t2", "t3"])
      expect(await itemExists(dynamodb, TableName, pk)).toBe(true);

    const injected = injectedSince(before);
    expect(injected).toMatchObject({ transactionThrottle: 1, throttle: 0, error500: 0 });
    expect(injected.entries).toMatchObject([
      {
        service: "dynamodb",
        mode: "transaction-throttle",
        operation: "TransactWriteItems",
        status: 400,
      },
    ]);
  });

  it("follows a rewrite of the file that keeps its mtime (rewrites a few ms apart can share one)", async () => {
    const { dynamodb, faultsFile } = local;
    const TableName = await createCountsTable(dynamodb, "aws-faults");
    const until = faultWindowEnd(60_000);
    writeAwsFaults(faultsFile, { dynamodb: { mode: "throttle", until } });
    expect((await failure(itemExists(dynamodb, TableName, "x"))).name).toBe("ThrottlingException");
    const { mtimeNs, size } = statSync(faultsFile, { bigint: true });

    writeAwsFaults(faultsFile, { dynamodb: { mode: "error500", until } });
    // The same mtime to the nanosecond (touch takes them; Node's utimes does not), and size.
    const seconds = mtimeNs / 1_000_000_000n;
    const nanoseconds = String(mtimeNs % 1_000_000_000n).padStart(9, "0");
    execFileSync("touch", ["-m", "-d", `@${seconds}.${nanoseconds}`, faultsFile]);
    expect(statSync(faultsFile, { bigint: true })).toMatchObject({ mtimeNs, size });

    expect((await failure(itemExists(dynamodb, TableName, "x"))).name).toBe("InternalServerError");
  });
});

describe("Firehose faults", () => {
  it("fails every 2nd entry of a PutRecordBatch in a failed-entries window, lands only the others, and lands all after it", async () => {
    const { firehose, s3, faultsFile } = local;
    const before = injectedAwsFaults(faultsFile);
    const until = faultWindowEnd(3000);
    writeAwsFaults(faultsFile, { firehose: { mode: "failed-entries", until, every: 2 } });

    const Records = Array.from({ length: 10 }, (_, n) => record("batch", n));
    const result = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName, Records }));
    expect(result.FailedPutCount).toBe(5);
    expect(result.RequestResponses).toHaveLength(10);
    result.RequestResponses?.forEach((response, n) => {
      if (n % 2 === 1) {
        expect(response).toEqual({
          ErrorCode: "ServiceUnavailableException",
          ErrorMessage: expect.stringMatching(/^Slow down\./),
        });
      } else {
        expect(response.RecordId).toEqual(expect.any(String));
        expect(response.ErrorCode).toBeUndefined();
      }
    });
    expect(await landed(s3, "batch")).toEqual([0, 2, 4, 6, 8]);

    await windowOver(until);
    const failed = Records.filter((_, n) => result.RequestResponses?.[n]?.ErrorCode);
    const again = await firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName, Records: failed }),
    );
    expect(again.FailedPutCount).toBe(0);
    expect(await landed(s3, "batch")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const injected = injectedSince(before);
    expect(injected).toMatchObject({ batches: 1, failedEntries: 5, throttle: 0, error500: 0 });
    expect(injected.entries).toMatchObject([
      { service: "firehose", deliveryStream: DeliveryStreamName, records: 10, failedEntries: 5 },
    ]);
  });

  it("lets the ingest's Firehose writer deliver every record once through a window, resending only the failed entries", async () => {
    const { firehose, s3, faultsFile } = local;
    const before = injectedAwsFaults(faultsFile);
    writeAwsFaults(faultsFile, {
      firehose: { mode: "failed-entries", until: faultWindowEnd(60_000), every: 2 },
    });
    const retries: number[] = [];
    const write = createFirehoseWriter({
      client: firehose,
      deliveryStreamName: DeliveryStreamName,
      onRetry: (failedEntries) => retries.push(failedEntries),
      sleep: async () => {},
    });
    await write(Array.from({ length: 10 }, (_, n) => `{"tag":"writer","n":${n}}`));
    // Each call fails every 2nd of what it was sent: 10 -> 5 -> 2 -> 1 -> 0 left.
    expect(retries).toEqual([5, 2, 1]);
    expect(await landed(s3, "writer")).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(injectedSince(before)).toMatchObject({ batches: 4, failedEntries: 8 });
  });
});

describe("without faults", () => {
  it("injects nothing when moto was started without a faults file, even with the variable in the starter's environment", async () => {
    const faults: AwsFaults = {
      dynamodb: { mode: "throttle", until: faultWindowEnd(60_000) },
      firehose: { mode: "failed-entries", until: faultWindowEnd(60_000), every: 1 },
    };
    writeAwsFaults(local.faultsFile, faults);
    const sizeBefore = logSize();
    const inherited = process.env.RSVP_ATLAS_FAULTS_FILE;
    process.env.RSVP_ATLAS_FAULTS_FILE = local.faultsFile;
    let plain: FaultyMoto | undefined;
    try {
      plain = await startMoto(false);
      const TableName = await createCountsTable(plain.dynamodb, "aws-faults");
      await putItem(plain.dynamodb, TableName, "a");
      expect(await itemExists(plain.dynamodb, TableName, "a")).toBe(true);
      const result = await plain.firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName,
          Records: [0, 1, 2].map((n) => record("plain", n)),
        }),
      );
      expect(result.FailedPutCount).toBe(0);
      expect(await landed(plain.s3, "plain")).toEqual([0, 1, 2]);
    } finally {
      if (inherited === undefined) delete process.env.RSVP_ATLAS_FAULTS_FILE;
      else process.env.RSVP_ATLAS_FAULTS_FILE = inherited;
      await stopMoto(plain);
    }
    expect(logSize()).toBe(sizeBefore);
    // ... while the moto that has the file does inject them.
    expect((await failure(putItem(local.dynamodb, "any-table", "a"))).name).toBe(
      "ThrottlingException",
    );
  });

  it("injects nothing once a window is over or the file is gone, and reports a file it cannot use", async () => {
    const { dynamodb, faultsFile } = local;
    const TableName = await createCountsTable(dynamodb, "aws-faults");
    const before = injectedAwsFaults(faultsFile);
    writeAwsFaults(faultsFile, { dynamodb: { mode: "error500", until: faultWindowEnd(-1000) } });
    await putItem(dynamodb, TableName, "past");
    clearAwsFaults(faultsFile);
    await putItem(dynamodb, TableName, "gone");
    expect(injectedSince(before).entries).toEqual([]);

    const sizeBefore = logSize();
    try {
      writeFileSync(faultsFile, JSON.stringify({ dynamodb: { mode: "slow", until: 1e12 } }));
      await putItem(dynamodb, TableName, "bad");
      expect(() => injectedAwsFaults(faultsFile)).toThrow(
        /moto_server\.py ignored a faults file: .*dynamodb\.mode must be one of/,
      );
    } finally {
      truncateSync(awsFaultsLogPath(faultsFile), sizeBefore); // for the tests after this one
    }
  });
});
