/**
 * The daily batch's CheckRange on moto's S3: raw data found (or not) on a run's landing days
 * with the real ListObjectsV2 (Prefix, StartAfter, MaxKeys), and the raw delivery stream landing
 * its objects where the check and the Spark job look, at Firehose's evaluated prefix
 * (local/stack/moto_server.py evaluates `!{timestamp:...}` as Firehose does).
 */
import { randomUUID } from "node:crypto";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, describe, expect, inject, it } from "vitest";
import { checkRange } from "../../functions/batch-range/check-range.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { loadTemplateModel } from "../../local/stack/template-model.js";
import { stackAws, stackS3 } from "../support/stack-clients.js";

const s3 = stackS3();
const firehose = new FirehoseClient(awsClientConfig(stackAws()));
afterAll(() => {
  s3.destroy();
  firehose.destroy();
});
const STARTED = "2026-12-04T02:00:00.000Z";

async function rawBucketWith(keys: string[]): Promise<string> {
  const bucket = `raw-${randomUUID().slice(0, 12)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: "x" }));
  return bucket;
}

const outcome = (range: string, bucket: string) =>
  checkRange({ range, startedAt: STARTED }, { s3, raw: { bucket, prefix: "rsvps/" } }).then(
    (checked) => checked,
    (error: Error) => error.name,
  );

describe("CheckRange on moto's S3", () => {
  it("goes on for a range whose landing days hold an object, and refuses one whose do not", async () => {
    const bucket = await rawBucketWith([
      "rsvps/dt=2018-05-19/raw-1-2018-05-19-23-59-59-a",
      "rsvps/dt=2018-05-22/raw-1-2018-05-22-00-00-01-b",
      "rsvps/dt=2018-06-30/raw-1-2018-06-30-12-00-00-c",
      "errors/processing-failed/dt=2018-05-25/raw-1-d",
      // Keys that sort just after a day's folder name without it: "-" and "0" sort before "/".
      "rsvps/dt=2018-05-2",
      "rsvps/dt=2018-05-240",
    ]);
    expect(await outcome("2018-05-20", bucket)).toMatchObject({ first: "2018-05-20" }); // the 22nd
    expect(await outcome("2018-05-21..2018-05-22", bucket)).toMatchObject({ all: false });
    expect(await outcome("2018-05-23", bucket)).toBe("NoRawDataInRangeError");
    expect(await outcome("2018-05-18", bucket)).toMatchObject({ first: "2018-05-18" }); // the 19th
    expect(await outcome("2018-05-10..2018-05-16", bucket)).toBe("NoRawDataInRangeError");
    expect(await outcome("2018-06-28", bucket)).toMatchObject({ last: "2018-06-28" });
    expect(await outcome("2018-07-01", bucket)).toBe("NoRawDataInRangeError");
    expect(await outcome("all", bucket)).toEqual({ range: "all", all: true });
    expect(await outcome("all", await rawBucketWith(["errors/x", "rsvps_$folder$"]))).toBe(
      "NoRawDataInRangeError",
    );
  });

  it("finds what the raw delivery stream landed: Firehose's prefix evaluated, at the day it arrived", async () => {
    const { buckets, deliveryStreams } = inject("stack").resources;
    const stream = deliveryStreams.RawDeliveryStream as string;
    const bucket = buckets.RawBucket as string;
    const prefix = loadTemplateModel().deliveryStreams.find(
      (s) => s.bucketLogicalId === "RawBucket",
    )?.prefix;
    expect(prefix).toBe("rsvps/dt=!{timestamp:yyyy-MM-dd}/");
    const marker = `batch-range-test-${randomUUID()}`;
    const before = new Date().toISOString().slice(0, 10);
    const result = await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: stream,
        Records: [{ Data: Buffer.from(`{"marker":"${marker}"}\n`) }],
      }),
    );
    expect(result.FailedPutCount).toBe(0);
    const after = new Date().toISOString().slice(0, 10);
    // moto delivers at once; the object is in the day folder of its arrival, named as Firehose
    // names it: <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.
    const landed: string[] = [];
    for (const day of new Set([before, after])) {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `rsvps/dt=${day}/` }),
      );
      for (const { Key } of page.Contents ?? []) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
        if ((await object.Body?.transformToString())?.includes(marker)) landed.push(Key as string);
      }
    }
    expect(landed).toHaveLength(1);
    expect(landed[0]).toMatch(
      new RegExp(
        `^rsvps/dt=(${before}|${after})/${stream}-\\d+-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}$`,
      ),
    );
    const day = landed[0]?.slice("rsvps/dt=".length, "rsvps/dt=".length + 10) as string;
    const checked = await checkRange(
      { range: day, startedAt: new Date().toISOString() },
      { s3, raw: { bucket, prefix: "rsvps/" } },
    );
    expect(checked).toMatchObject({ first: day, last: day });
  });
});
