/** Error paths of the stack-delete cleanup (the happy paths run on moto, in integration). */
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { applyEvent, emptyBucket } from "../../functions/stack-cleanup/empty-buckets.js";

describe("emptying a bucket", () => {
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
    await expect(
      applyEvent(event, { s3: new S3Client({}), quietMs: 0, passIntervalMs: 0, deadlineMs: 0 }),
    ).resolves.toEqual({ PhysicalResourceId: "empty-buckets-on-delete" });
    expect(s3.calls()).toHaveLength(0);
    // ... while a Create with them fails, saying why.
    await expect(
      applyEvent({ ...event, RequestType: "Create" } as CloudFormationCustomResourceEvent, {
        s3: new S3Client({}),
        quietMs: 0,
        passIntervalMs: 0,
        deadlineMs: 0,
      }),
    ).rejects.toThrow(/property Buckets must list S3 bucket names/);
    s3.restore();
  });
});
