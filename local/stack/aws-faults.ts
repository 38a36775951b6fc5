/**
 * Faults in the local AWS emulator, for the chaos tests: DynamoDB throttling (of every request,
 * or of transactions only, as DynamoDB cancels them) or 500 errors and Firehose PutRecordBatch
 * failed entries "for a while", while the pipeline runs, then recovery.
 *
 * moto runs in a process of its own (moto_server.py, started by moto-server.ts with
 * `faultsFile`), so the faults travel in a file it reads on every DynamoDB request and Firehose
 * PutRecordBatch, again whenever the file changes: the harness can start and end faults at any
 * time without restarting moto (which would lose its in-memory state). Each fault has a window,
 * `until` (epoch seconds: both processes share the clock), so a window closes by itself even if
 * the harness never gets to clear it. The file is replaced by a rename, so moto never reads a
 * half-written one. moto appends one JSON line per injected fault to `<file>.log`, which
 * {@link injectedAwsFaults} counts, so a chaos test can show that faults did happen.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

export type DynamoDbFaultMode = "throttle" | "error500" | "transaction-throttle";

export interface DynamoDbFault {
  /**
   * `throttle`: HTTP 400, `com.amazonaws.dynamodb.v20120810#ThrottlingException` (the SDK's
   * `ThrottlingException`, which it retries as throttling); `error500`: HTTP 500,
   * `InternalServerError`; `transaction-throttle`: TransactWriteItems only (other operations
   * run), answered as DynamoDB answers a throttled transaction: HTTP 400,
   * `com.amazonaws.dynamodb.v20120810#TransactionCanceledException` (which the SDK does not
   * retry), one `CancellationReasons` entry per item of the request, the first `ThrottlingError`
   * and the others `None` (DynamoDB API Reference, TransactWriteItems, Errors:
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
   * The request itself is not run.
   */
  mode: DynamoDbFaultMode;
  /** The end of the window, in epoch seconds ({@link faultWindowEnd}). */
  until: number;
  /**
   * Only these operations (`TransactWriteItems`, `PutItem`, ...); all when absent (all that the
   * mode faults: `transaction-throttle` faults TransactWriteItems alone).
   */
  operations?: string[];
}

export interface FirehoseFault {
  /**
   * Each PutRecordBatch stores its entries but every `every`-th and answers those as failed
   * (`ErrorCode` `ServiceUnavailableException`, with `ErrorMessage`; `FailedPutCount` counts
   * them). PutRecord is not affected.
   */
  mode: "failed-entries";
  /** The end of the window, in epoch seconds ({@link faultWindowEnd}). */
  until: number;
  /** Which entries of a batch fail: 2 fails the 2nd, 4th, ...; 1 (the default) fails all. */
  every?: number;
}

export interface AwsFaults {
  dynamodb?: DynamoDbFault;
  firehose?: FirehoseFault;
}

/** One line of the log moto_server.py appends to for each injected fault. */
export type InjectedAwsFault =
  | {
      at: number;
      service: "dynamodb";
      mode: DynamoDbFaultMode;
      operation: string;
      status: number;
    }
  | {
      at: number;
      service: "firehose";
      mode: "failed-entries";
      operation: "PutRecordBatch";
      deliveryStream: string;
      records: number;
      failedEntries: number;
    };

export interface InjectedAwsFaults {
  /** DynamoDB requests answered with an injected error, by mode and by operation. */
  dynamodb: Record<DynamoDbFaultMode, number> & { byOperation: Record<string, number> };
  /** PutRecordBatch calls with injected failed entries, and how many entries failed in all. */
  firehose: { batches: number; failedEntries: number };
  entries: InjectedAwsFault[];
}

/** `until` for a window that ends `ms` from now. */
export function faultWindowEnd(ms: number): number {
  return (Date.now() + ms) / 1000;
}

export function awsFaultsLogPath(file: string): string {
  return `${file}.log`;
}

let writes = 0;

/** Replaces the faults moto injects (atomically: a temporary file beside `file`, renamed). */
export function writeAwsFaults(file: string, faults: AwsFaults): void {
  const { dynamodb, firehose } = faults;
  if (dynamodb?.operations?.length === 0) {
    throw new RangeError("dynamodb.operations is empty: leave it out to fault every operation");
  }
  if (firehose?.every !== undefined && !(Number.isInteger(firehose.every) && firehose.every >= 1)) {
    throw new RangeError(`firehose.every must be a whole number >= 1, not ${firehose.every}`);
  }
  const temporary = `${file}.${process.pid}.${++writes}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(faults)}\n`);
  renameSync(temporary, file);
}

/** Ends every fault now (what was injected stays counted). */
export function clearAwsFaults(file: string): void {
  rmSync(file, { force: true });
}

/**
 * What moto has injected so far through `file`. Throws if moto could not use a version of the
 * file (unreadable, or not of the shape above): it then injected nothing for that version, and
 * a chaos test that believed otherwise would prove nothing.
 */
export function injectedAwsFaults(file: string): InjectedAwsFaults {
  let log: string;
  try {
    log = readFileSync(awsFaultsLogPath(file), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    log = "";
  }
  const counts: InjectedAwsFaults = {
    dynamodb: { throttle: 0, error500: 0, "transaction-throttle": 0, byOperation: {} },
    firehose: { batches: 0, failedEntries: 0 },
    entries: [],
  };
  // Only whole lines: moto may be writing the last one.
  for (const line of log.split("\n").slice(0, -1)) {
    const entry = JSON.parse(line) as InjectedAwsFault | { at: number; error: string };
    if ("error" in entry) throw new Error(`moto_server.py ignored a faults file: ${entry.error}`);
    counts.entries.push(entry);
    if (entry.service === "dynamodb") {
      counts.dynamodb[entry.mode]++;
      counts.dynamodb.byOperation[entry.operation] =
        (counts.dynamodb.byOperation[entry.operation] ?? 0) + 1;
    } else {
      counts.firehose.batches++;
      counts.firehose.failedEntries += entry.failedEntries;
    }
  }
  return counts;
}
