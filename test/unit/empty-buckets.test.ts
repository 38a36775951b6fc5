/** Error paths of the stack-delete cleanup (the happy paths run on moto, in integration). */
import {
  DeleteBucketLifecycleCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { applyEvent, emptyBucket } from "../../functions/stack-cleanup/empty-buckets.js";

const NO_WAIT = { quietMs: 0, passIntervalMs: 0, deadlineMs: 10_000 };

const deleteOf = (buckets: string[]) =>
  ({
    RequestType: "Delete",
    StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
    PhysicalResourceId: "empty-buckets-on-delete",
    ResourceProperties: { ServiceToken: "arn", Buckets: buckets },
  }) as unknown as CloudFormationCustomResourceEvent;

const NO_SUCH_BUCKET = Object.assign(new Error("The specified bucket does not exist"), {
  name: "NoSuchBucket",
});

describe("emptying a bucket", () => {
  it("empties a bucket whose policy it may not replace, and says so, instead of failing the delete", async () => {
    // An organization's guardrail may deny s3:PutBucketPolicy: the delete must be no worse
    // than without the refusal.
    const s3 = mockClient(S3Client);
    s3.on(PutBucketPolicyCommand, { Bucket: "raw" }).rejects(
      Object.assign(new Error("explicit deny in a service control policy"), {
        name: "AccessDenied",
      }),
    );
    s3.on(PutBucketPolicyCommand, { Bucket: "logs" }).resolves({});
    // Nor may its lifecycle rules be deletable: emptied all the same.
    s3.on(DeleteBucketLifecycleCommand, { Bucket: "raw" }).resolves({});
    s3.on(DeleteBucketLifecycleCommand, { Bucket: "logs" }).rejects(
      Object.assign(new Error("explicit deny on s3:PutLifecycleConfiguration"), {
        name: "AccessDenied",
      }),
    );
    s3.on(ListObjectVersionsCommand)
      .resolvesOnce({ Versions: [{ Key: "a", VersionId: "v1" }] })
      .resolves({});
    s3.on(DeleteObjectsCommand).resolves({});
    const logged: { message: string; data?: Record<string, unknown> }[] = [];
    await expect(
      applyEvent(deleteOf(["raw", "logs"]), {
        s3: new S3Client({}),
        log: (message, data) => logged.push({ message, ...(data ? { data } : {}) }),
        ...NO_WAIT,
      }),
    ).resolves.toEqual({ PhysicalResourceId: "empty-buckets-on-delete", Data: { Deleted: "1" } });
    expect(logged.slice(0, 3)).toEqual([
      {
        message: "new objects could not be refused; emptying it all the same",
        data: { bucket: "raw", error: "explicit deny in a service control policy" },
      },
      {
        message: "its lifecycle rules could not be deleted; emptying it all the same",
        data: { bucket: "logs", error: "explicit deny on s3:PutLifecycleConfiguration" },
      },
      { message: "new objects refused", data: { buckets: ["logs"] } },
    ]);
    expect(s3.commandCalls(DeleteBucketLifecycleCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "raw" },
      { Bucket: "logs" },
    ]);
    s3.restore();
  });

  it("takes a bucket already gone (deleted by hand after a failed delete) as empty", async () => {
    const s3 = mockClient(S3Client);
    s3.on(PutBucketPolicyCommand, { Bucket: "gone" }).rejects(NO_SUCH_BUCKET);
    s3.on(PutBucketPolicyCommand, { Bucket: "site" }).resolves({});
    s3.on(ListObjectVersionsCommand, { Bucket: "gone" }).rejects(NO_SUCH_BUCKET);
    s3.on(ListObjectVersionsCommand, { Bucket: "site" }).resolves({});
    await expect(
      applyEvent(deleteOf(["gone", "site"]), { s3: new S3Client({}), ...NO_WAIT }),
    ).resolves.toEqual({ PhysicalResourceId: "empty-buckets-on-delete", Data: { Deleted: "0" } });
    s3.restore();
  });

  it("fails naming the object S3 would not delete, instead of looping on it", async () => {
    const s3 = mockClient(S3Client);
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: "emr/j-1/step.log", VersionId: "v1" }],
    });
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: "emr/j-1/step.log", Code: "AccessDenied", Message: "Access Denied" }],
    });
    await expect(emptyBucket(new S3Client({}), "logs")).rejects.toThrow(
      "s3://logs: 1 objects could not be deleted (emr/j-1/step.log: AccessDenied Access Denied)",
    );
    s3.restore();
  });

  it("lets a Delete of a resource whose properties were never valid succeed, touching nothing", async () => {
    const s3 = mockClient(S3Client);
    const event = {
      RequestType: "Delete",
      PhysicalResourceId: "empty-buckets-on-delete",
      ResourceProperties: { ServiceToken: "arn", Buckets: "not a list" },
    } as unknown as CloudFormationCustomResourceEvent;
    await expect(applyEvent(event, { s3: new S3Client({}), ...NO_WAIT })).resolves.toEqual({
      PhysicalResourceId: "empty-buckets-on-delete",
    });
    expect(s3.calls()).toHaveLength(0);
    // ... while a Create with them fails, saying why.
    await expect(
      applyEvent({ ...event, RequestType: "Create" } as CloudFormationCustomResourceEvent, {
        s3: new S3Client({}),
        ...NO_WAIT,
      }),
    ).rejects.toThrow(/property Buckets must list S3 bucket names/);
    s3.restore();
  });
});
