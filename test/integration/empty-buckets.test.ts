/**
 * The stack-delete cleanup (functions/stack-cleanup/) on moto's S3: versioned buckets (old
 * versions, delete markers, more than one page of them), plain buckets, and a writer that is
 * still finishing while the cleanup runs.
 */
import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceDeleteEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyEvent,
  emptyBucket,
  emptyUntilQuiet,
  refuseWritesPolicy,
} from "../../functions/stack-cleanup/empty-buckets.js";
import { requestOfType } from "../support/custom-resource-events.js";
import { sampleEvent } from "../support/sample-events.js";
import { stackS3 } from "../support/stack-clients.js";

const s3 = stackS3();
afterAll(() => s3.destroy());

async function bucket(versioned: boolean): Promise<string> {
  const name = `empty-${randomUUID().slice(0, 12)}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (versioned)
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: name,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    );
  return name;
}

const put = (Bucket: string, Key: string) =>
  s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}` }));

/** Every version and delete marker left in the bucket. */
async function leftIn(Bucket: string): Promise<number> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  return (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
}

describe("emptying the stack's buckets on delete", () => {
  it("removes every version and delete marker of a versioned bucket, page after page", async () => {
    const versioned = await bucket(true);
    // 700 keys twice (1,400 versions) and 300 of them deleted (300 markers): 1,700 entries,
    // more than one page of ListObjectVersions (1,000) and than one DeleteObjects call.
    for (const round of [0, 1])
      await Promise.all(
        Array.from({ length: 700 }, (_, i) => put(versioned, `rsvps/${round}-${i % 700}`)),
      );
    await Promise.all(Array.from({ length: 700 }, (_, i) => put(versioned, `rsvps/0-${i}`)));
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        s3.send(new DeleteObjectCommand({ Bucket: versioned, Key: `rsvps/1-${i}` })),
      ),
    );
    expect(await leftIn(versioned)).toBeGreaterThan(0);
    const deleted = await emptyBucket(s3, versioned);
    expect(deleted).toBe(700 * 3 + 300);
    expect(await leftIn(versioned)).toBe(0);

    const plain = await bucket(false);
    for (let i = 0; i < 5; i++) await put(plain, `site/${i}.html`);
    expect(await emptyBucket(s3, plain)).toBe(5);
    expect(await leftIn(plain)).toBe(0);
  });

  it("keeps emptying while a writer still finishes, and stops once the buckets stay empty", async () => {
    const raw = await bucket(true);
    const logs = await bucket(false);
    await put(raw, "rsvps/dt=2026-12-04/a");
    let sleeps = 0;
    const result = await emptyUntilQuiet(s3, [raw, logs], {
      quietMs: 150,
      passIntervalMs: 50,
      deadlineMs: 10_000,
      // Firehose's last buffer and the flow log's last interval land after the first pass.
      sleep: async (ms) => {
        sleeps += 1;
        if (sleeps === 1) await put(raw, "rsvps/dt=2026-12-04/late");
        if (sleeps === 2) await put(logs, "vpc-flow-logs/late.log.gz");
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    expect(result.deleted).toBe(3);
    expect(result.passes).toBeGreaterThanOrEqual(4);
    expect(await leftIn(raw)).toBe(0);
    expect(await leftIn(logs)).toBe(0);
  });

  it("says what is still writing when objects keep arriving past the deadline", async () => {
    const raw = await bucket(false);
    let n = 0;
    await expect(
      emptyUntilQuiet(s3, [raw], {
        quietMs: 10_000,
        passIntervalMs: 20,
        deadlineMs: 300,
        sleep: async (ms) => {
          await put(raw, `rsvps/${n++}`);
          await new Promise((resolve) => setTimeout(resolve, ms));
        },
      }),
    ).rejects.toThrow(/objects kept arriving in .+: something still writes to them/);
  });

  it("refuses new objects, then empties the buckets of the Delete request in events/; nothing on Create", async () => {
    const event = sampleEvent<CloudFormationCustomResourceDeleteEvent>("empty-buckets-delete.json");
    const buckets = [await bucket(true), await bucket(false)];
    for (const name of buckets) {
      await put(name, "something");
      // An expiry rule, as the stack's raw and artifacts buckets have: S3 would add delete
      // markers while the bucket is emptied.
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: name,
          LifecycleConfiguration: {
            Rules: [{ ID: "expire", Status: "Enabled", Filter: {}, Expiration: { Days: 1 } }],
          },
        }),
      );
    }
    /** What `read` gives, or undefined where S3 answers that there is none (`missing`). */
    const unlessMissing = async <T>(missing: string, read: () => Promise<T>) => {
      try {
        return await read();
      } catch (error) {
        if ((error as Error).name === missing) return undefined;
        throw error;
      }
    };
    const lifecycleRules = (Bucket: string) =>
      unlessMissing(
        "NoSuchLifecycleConfiguration",
        async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules,
      );
    for (const name of buckets) expect(await lifecycleRules(name)).toHaveLength(1);
    // The calls the cleanup makes, in order, to moto's S3.
    const calls: string[] = [];
    const recording = new Proxy(s3, {
      get: (target, property, receiver) =>
        property === "send"
          ? (command: { constructor: { name: string } }) => {
              calls.push(command.constructor.name);
              return target.send(command as never);
            }
          : Reflect.get(target, property, receiver),
    });
    const policy = (Bucket: string) =>
      unlessMissing(
        "NoSuchBucketPolicy",
        async () => (await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy,
      );
    const deps = {
      s3: recording,
      quietMs: 0,
      passIntervalMs: 10,
      deadlineMs: 5_000,
    };
    const request = {
      ...event,
      ResourceProperties: { ...event.ResourceProperties, Buckets: buckets },
    };
    const previous = { physicalResourceId: event.PhysicalResourceId };
    await applyEvent(requestOfType("Create", request, previous), deps);
    for (const name of buckets) {
      expect(await leftIn(name)).toBe(1);
      expect(await policy(name)).toBeUndefined();
      expect(await lifecycleRules(name)).toHaveLength(1);
    }
    expect(calls).toEqual([]);
    const remove = requestOfType("Delete", request, previous);
    expect(await applyEvent(remove, deps)).toEqual({
      PhysicalResourceId: "empty-buckets-on-delete",
      Data: { Deleted: "2" },
    });
    for (const name of buckets) {
      expect(await leftIn(name)).toBe(0);
      expect(JSON.parse((await policy(name)) ?? "{}")).toEqual(
        JSON.parse(refuseWritesPolicy(name, "aws")),
      );
      expect(await lifecycleRules(name)).toBeUndefined();
    }
    // Every refusal before the first listing: nothing lands between a pass and the bucket's end.
    const refusal = ["PutBucketPolicyCommand", "DeleteBucketLifecycleCommand"];
    expect(calls.slice(0, 4)).toEqual([...refusal, ...refusal]);
    expect(calls.slice(4)).not.toContain("PutBucketPolicyCommand");
    expect(calls.slice(4)).not.toContain("DeleteBucketLifecycleCommand");
    expect(calls).toContain("ListObjectVersionsCommand");
  });
});
