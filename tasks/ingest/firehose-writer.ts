/**
 * Sends newline-delimited records to a Kinesis Data Firehose delivery stream with
 * PutRecordBatch, within its limits (500 records and 4 MiB per call, 1,000 KiB per record),
 * resending only the entries a call reports as failed, with exponential backoff and full jitter.
 */
import { type _Record, type FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { backoffDelay, sleep as realSleep } from "../../functions/shared/backoff.js";

/**
 * The ingest's Firehose client's HTTP limits. The SDK's own default is none (a connection that
 * goes silent holds a call until TCP gives up, minutes, and the feed waits on it), and its
 * request timeout only warns unless told to throw (@smithy/types, NodeHttpHandlerOptions):
 * thrown, the SDK retries the call, and past its retries the batch is sent again.
 */
export const FIREHOSE_HTTP_LIMITS = {
  connectionTimeout: 5_000,
  requestTimeout: 30_000,
  throwOnRequestTimeout: true,
} as const;

export const MAX_RECORDS_PER_CALL = 500;
export const MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1000 * 1024;

export interface FirehoseWriterOptions {
  client: FirehoseClient;
  deliveryStreamName: string;
  /** Attempts per record before giving up on it (default 8). */
  maxAttempts?: number;
  /** Told about each retry round, for the counters. */
  onRetry?: (failedEntries: number, attempt: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class FirehoseDeliveryError extends Error {
  override readonly name = "FirehoseDeliveryError";
  /** The lines that could not be delivered. */
  declare readonly undelivered: string[];
  /** How many: what a log of the error says of them. */
  readonly undeliveredCount: number;
  constructor(message: string, undelivered: string[]) {
    super(message);
    this.undeliveredCount = undelivered.length;
    // Not enumerable: the logger writes an error's enumerable properties, and this one holds up
    // to 500 records, logged again at every retry of the batch.
    Object.defineProperty(this, "undelivered", { value: undelivered, enumerable: false });
  }
}

/** Splits lines into PutRecordBatch-sized groups, in order. Each line gets its newline. */
export function toCalls(lines: string[]): Uint8Array[][] {
  const calls: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let bytes = 0;
  for (const line of lines) {
    const data = Buffer.from(`${line}\n`, "utf8");
    if (data.byteLength > MAX_RECORD_BYTES) {
      throw new RangeError(
        `a record of ${data.byteLength} bytes is over Firehose's ${MAX_RECORD_BYTES}`,
      );
    }
    if (current.length === MAX_RECORDS_PER_CALL || bytes + data.byteLength > MAX_BYTES_PER_CALL) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(data);
    bytes += data.byteLength;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

export function createFirehoseWriter(options: FirehoseWriterOptions) {
  const maxAttempts = options.maxAttempts ?? 8;
  const sleep = options.sleep ?? realSleep;

  /**
   * Delivers every line or throws {@link FirehoseDeliveryError} naming those it did not: the
   * failing call's, and every later call's, not tried.
   */
  return async function write(lines: string[]): Promise<void> {
    const calls = toCalls(lines);
    for (const [index, call] of calls.entries()) {
      const untried = () => calls.slice(index + 1).flatMap((later) => later.map(asLine));
      let pending: Uint8Array[] = call;
      for (let attempt = 1; pending.length > 0; attempt++) {
        let failed: Uint8Array[];
        try {
          const result = await options.client.send(
            new PutRecordBatchCommand({
              DeliveryStreamName: options.deliveryStreamName,
              Records: pending.map((Data): _Record => ({ Data })),
            }),
          );
          const responses = result.RequestResponses ?? [];
          failed =
            (result.FailedPutCount ?? 0) > 0
              ? pending.filter((_, i) => responses[i]?.ErrorCode)
              : [];
        } catch (error) {
          if (attempt >= maxAttempts) {
            throw new FirehoseDeliveryError((error as Error).message, [
              ...pending.map(asLine),
              ...untried(),
            ]);
          }
          failed = pending; // the whole call failed (throttled, network): all again
        }
        if (failed.length === 0) break;
        if (attempt >= maxAttempts) {
          throw new FirehoseDeliveryError(
            `${failed.length} records still failing after ${attempt} attempts`,
            [...failed.map(asLine), ...untried()],
          );
        }
        options.onRetry?.(failed.length, attempt);
        await sleep(backoffDelay(attempt, { baseMs: 100, capMs: 10_000 }));
        pending = failed;
      }
    }
  };
}

function asLine(data: Uint8Array): string {
  return Buffer.from(data).toString("utf8").replace(/\n$/, "");
}
