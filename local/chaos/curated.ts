/**
 * After the faults: the daily batch (the same workflow file, on local Spark) curates the raw
 * landing, duplicates and all, and its `rsvp` table must hold each RSVP once, as many as the
 * counting rule counts. Raw duplicates are at-least-once by design; this shows where they end.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parquetReadObjects } from "hyparquet";
import { listKeys } from "../../functions/shared/s3-keys.js";
import { runLocalBatch } from "../batch/run-batch.js";
import type { AwsEndpoint } from "../stack/aws-endpoint.js";

export interface CuratedCheck {
  status: string;
  /** Rows of the curated rsvp table. */
  rows: number;
  /** Distinct rsvp_id among them. */
  distinct: number;
}

export async function curateAndCheck(
  aws: AwsEndpoint,
  s3: S3Client,
  buckets: Record<string, string>,
  progress: (line: string) => void,
): Promise<CuratedCheck> {
  const batch = await runLocalBatch({ aws, buckets, range: "all", progress });
  const curated = buckets.CuratedBucket as string;
  const ids: bigint[] = [];
  for (const key of await listKeys(s3, curated, "rsvp/")) {
    if (!key.endsWith(".parquet")) continue;
    const object = await s3.send(new GetObjectCommand({ Bucket: curated, Key: key }));
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) continue;
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    for (const row of await parquetReadObjects({ file: file as ArrayBuffer, columns: ["rsvp_id"] }))
      ids.push(BigInt(row.rsvp_id as bigint | number));
  }
  return { status: batch.status, rows: ids.length, distinct: new Set(ids).size };
}
