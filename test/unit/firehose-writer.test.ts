/**
 * Firehose's limits and partial failures (error paths, with aws-sdk-client-mock); delivery to
 * a real engine is in test/integration/ingest.test.ts.
 */
import { LogFormatter, LogItem } from "@aws-lambda-powertools/logger";
import type { UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandInput,
} from "@aws-sdk/client-firehose";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  createFirehoseWriter,
  FirehoseDeliveryError,
  MAX_BYTES_PER_CALL,
  MAX_RECORDS_PER_CALL,
  toCalls,
} from "../../tasks/ingest/firehose-writer.js";
import { resetAfterEach } from "../support/aws-mock.js";

const firehose = resetAfterEach(mockClient(FirehoseClient));
const client = new FirehoseClient({ region: "us-east-1" });
const noSleep = async () => {};
const text = (input: PutRecordBatchCommandInput) =>
  (input.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString());

/** Powertools' own formatting of an error, as every logger of the project writes one. */
class ErrorFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes): LogItem {
    return new LogItem({ attributes });
  }
}

describe("toCalls", () => {
  it("keeps every call within 500 records and 4 MiB, in order, each line with its newline", () => {
    const small = Array.from({ length: 1234 }, (_, i) => `{"n":${i}}`);
    const calls = toCalls(small);
    expect(calls.map((c) => c.length)).toEqual([500, 500, 234]);
    expect(calls.flat().map((d) => Buffer.from(d).toString())).toEqual(small.map((l) => `${l}\n`));

    const big = Array.from({ length: 12 }, () => "x".repeat(900 * 1024));
    for (const call of toCalls(big)) {
      expect(call.reduce((n, d) => n + d.byteLength, 0)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
      expect(call.length).toBeLessThanOrEqual(MAX_RECORDS_PER_CALL);
    }
    expect(toCalls(big).flat()).toHaveLength(12);
  });

  it("refuses a record over Firehose's 1,000 KiB", () => {
    expect(() => toCalls(["x".repeat(1000 * 1024)])).toThrow(RangeError);
  });
});

describe("Firehose writer", () => {
  it("resends only the entries a call reports as failed", async () => {
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 2,
        RequestResponses: [
          { RecordId: "a" },
          { ErrorCode: "ServiceUnavailableException" },
          { RecordId: "c" },
          { ErrorCode: "InternalFailure" },
        ],
      })
      .resolvesOnce({
        FailedPutCount: 0,
        RequestResponses: [{ RecordId: "b" }, { RecordId: "d" }],
      });
    const retries: number[] = [];
    const write = createFirehoseWriter({
      client,
      deliveryStreamName: "raw",
      sleep: noSleep,
      onRetry: (n) => retries.push(n),
    });
    await write(["a", "b", "c", "d"]);
    const calls = firehose
      .commandCalls(PutRecordBatchCommand)
      .map((call) => text(call.args[0].input));
    expect(calls).toEqual([
      ["a\n", "b\n", "c\n", "d\n"],
      ["b\n", "d\n"],
    ]);
    expect(retries).toEqual([2]);
  });

  it("retries a call that failed whole, then succeeds", async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejectsOnce(new Error("throttled"))
      .resolves({ FailedPutCount: 0, RequestResponses: [{}, {}] });
    await createFirehoseWriter({ client, deliveryStreamName: "raw", sleep: noSleep })(["a", "b"]);
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(2);
  });

  it("gives up after the last attempt and names what was not delivered", async () => {
    // Firehose keeps failing the one record, whatever call it is in.
    firehose.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => {
      const responses = text(input).map((line) =>
        line === "stuck\n" ? { ErrorCode: "InternalFailure" } : { RecordId: "r" },
      );
      return {
        FailedPutCount: responses.filter((r) => "ErrorCode" in r).length,
        RequestResponses: responses,
      };
    });
    const write = createFirehoseWriter({
      client,
      deliveryStreamName: "raw",
      sleep: noSleep,
      maxAttempts: 3,
    });
    const error = await write(["ok", "stuck"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FirehoseDeliveryError);
    expect((error as FirehoseDeliveryError).undelivered).toEqual(["stuck"]);
    // What the shared logger writes of it: the count, not the records.
    const logged = new ErrorFormatter().formatError(error as Error);
    expect(logged).toMatchObject({ name: "FirehoseDeliveryError", undeliveredCount: 1 });
    expect(JSON.stringify(logged)).not.toContain("stuck");
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(3);
  });

  it("names the lines of the calls it never got to as undelivered too", async () => {
    // 501 lines are two calls; the first keeps failing whole, so the second is never made.
    firehose.on(PutRecordBatchCommand).rejects(new Error("ServiceUnavailableException"));
    const write = createFirehoseWriter({
      client,
      deliveryStreamName: "raw",
      sleep: noSleep,
      maxAttempts: 2,
    });
    const lines = Array.from({ length: MAX_RECORDS_PER_CALL + 1 }, (_, i) => `line ${i}`);
    const error = await write(lines).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FirehoseDeliveryError);
    expect((error as FirehoseDeliveryError).undelivered).toEqual(lines);
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(2);
  });
});
