/**
 * Empties the stack's buckets when the stack is deleted, so `sam delete` finishes on its own:
 * CloudFormation cannot delete a bucket that holds objects (or, in a versioned bucket, old
 * versions and delete markers). The writers (the ingest and replay services, Firehose, the flow
 * log, the city-counts event source) depend on this resource, so CloudFormation deletes them
 * first; what they had in flight may still land for a few minutes (Firehose's buffer, the flow
 * log's last file), so emptying repeats until every bucket has stayed empty for a quiet
 * period, or the time runs out and the answer says what is left.
 *
 * Some writers outlive any quiet period: a batch Lambda that was running when the delete began
 * writes until its own timeout (15 minutes), and a flow log publishes its files every 5 minutes,
 * some time after the interval they hold (VPC User Guide, "Flow log files"). One object landing
 * after the last pass would leave a bucket CloudFormation cannot delete, and a second
 * `sam delete` could not help (this resource is gone by then). So before emptying, each bucket
 * gets a policy that refuses every new object, whoever writes it. The stack's own bucket
 * policies depend on this resource, so CloudFormation deletes them before it, and nothing takes
 * the refusal away again before the bucket goes. S3 itself writes too: a lifecycle rule that
 * expires objects adds a delete marker to a versioned bucket, and no bucket policy refuses it,
 * so each bucket's lifecycle configuration is deleted with the refusal (S3 says the deletion
 * takes some time to reach all its systems: it narrows that window, it cannot close it).
 */
import {
  DeleteBucketLifecycleCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  PutBucketPolicyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { sleep as realSleep } from "../shared/backoff.js";
import type { CustomResourceLog, CustomResourceResult } from "../shared/custom-resource.js";
import { applyCleanupEvent, readListProperty } from "./cleanup-resource.js";

/** DeleteObjects takes at most 1,000 keys (S3 API reference, DeleteObjects). */
const DELETE_BATCH = 1000;

/** The bucket policy that refuses every new object of `bucket` (in AWS partition `partition`). */
export function refuseWritesPolicy(bucket: string, partition: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "StackDeletedRefuseNewObjects",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `arn:${partition}:s3:::${bucket}/*`,
      },
    ],
  });
}

/**
 * Replaces the policy of each bucket with {@link refuseWritesPolicy} and deletes its lifecycle
 * configuration; the buckets it could not refuse (an organization's guardrail may deny
 * s3:PutBucketPolicy; a bucket already gone) are emptied all the same, so the delete is no
 * worse than without the refusal. Returns those buckets.
 */
export async function refuseWrites(
  s3: S3Client,
  buckets: string[],
  partition: string,
  log?: CustomResourceLog,
): Promise<string[]> {
  const unrefused: string[] = [];
  for (const bucket of buckets) {
    try {
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: bucket,
          Policy: refuseWritesPolicy(bucket, partition),
        }),
      );
    } catch (error) {
      unrefused.push(bucket);
      log?.("new objects could not be refused; emptying it all the same", {
        bucket,
        error: (error as Error).message,
      });
    }
    try {
      // Succeeds on a bucket without a lifecycle configuration too (S3 API Reference: 204).
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    } catch (error) {
      log?.("its lifecycle rules could not be deleted; emptying it all the same", {
        bucket,
        error: (error as Error).message,
      });
    }
  }
  return unrefused;
}

const listVersions = (s3: S3Client, bucket: string) =>
  s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));

/** Deletes every object version and delete marker of `bucket`; how many it deleted. */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    // Always the first page: what this loop lists it deletes, so the next listing starts with
    // what is left (no paging markers to get wrong). ListObjectVersions also lists an
    // unversioned bucket's objects (version id "null").
    let page: Awaited<ReturnType<typeof listVersions>>;
    try {
      page = await listVersions(s3, bucket);
    } catch (error) {
      // Deleted by hand after an earlier delete failed: nothing left to empty.
      if ((error as Error).name === "NoSuchBucket") return deleted;
      throw error;
    }
    const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((entry) => entry.Key !== undefined)
      .map((entry) => ({
        Key: entry.Key as string,
        ...(entry.VersionId ? { VersionId: entry.VersionId } : {}),
      }));
    if (objects.length === 0) return deleted;
    for (let start = 0; start < objects.length; start += DELETE_BATCH) {
      const batch = objects.slice(start, start + DELETE_BATCH);
      const answer = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
      );
      const errors = answer.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new Error(
          `s3://${bucket}: ${errors.length} objects could not be deleted (${first?.Key}: ${first?.Code} ${first?.Message})`,
        );
      }
      deleted += batch.length;
    }
  }
}

export interface EmptyUntilQuietOptions {
  /** How long every bucket must stay empty before the job is done. */
  quietMs: number;
  /** Pause between passes. */
  passIntervalMs: number;
  /** Give up (and say what was still arriving) after this long. */
  deadlineMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: CustomResourceLog;
}

/** Empties the buckets, again and again, until a pass finds nothing for `quietMs`. */
export async function emptyUntilQuiet(
  s3: S3Client,
  buckets: string[],
  options: EmptyUntilQuietOptions,
): Promise<{ deleted: number; passes: number }> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const started = now();
  let lastFound = started;
  let deleted = 0;
  let passes = 0;
  for (;;) {
    passes += 1;
    let found = 0;
    for (const bucket of buckets) {
      const count = await emptyBucket(s3, bucket);
      if (count > 0) options.log?.("emptied", { bucket, objects: count, pass: passes });
      found += count;
    }
    deleted += found;
    if (found > 0) lastFound = now();
    if (now() - lastFound >= options.quietMs) return { deleted, passes };
    if (now() - started >= options.deadlineMs) {
      throw new Error(
        `objects kept arriving in ${buckets.join(", ")} for ${Math.round((now() - started) / 1000)} s (${deleted} deleted): something still writes to them`,
      );
    }
    await sleep(options.passIntervalMs);
  }
}

/** `Buckets` (required): the names of the buckets to empty on Delete. */
export const readProperties = (properties: Record<string, unknown> | undefined): string[] =>
  readListProperty(properties, "Buckets", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "S3 bucket names");

/**
 * Create and Update: nothing to do but check the properties; Delete: refuse new objects, then
 * empty the buckets.
 */
export function applyEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { s3: S3Client; log?: CustomResourceLog } & Omit<EmptyUntilQuietOptions, "log">,
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "empty-buckets-on-delete",
    readProperties,
    cleanup: async (buckets) => {
      // The stack's ARN names the partition (aws, aws-cn, aws-us-gov) of the buckets' ARNs.
      const partition = event.StackId.split(":")[1] || "aws";
      const unrefused = await refuseWrites(deps.s3, buckets, partition, deps.log);
      deps.log?.("new objects refused", {
        buckets: buckets.filter((bucket) => !unrefused.includes(bucket)),
      });
      const { deleted, passes } = await emptyUntilQuiet(deps.s3, buckets, deps);
      deps.log?.("buckets empty", { buckets, deleted, passes });
      return { Deleted: String(deleted) };
    },
  });
}
