/**
 * The custom resource that uploads the Spark job during the deploy
 * (functions/deploy-artifacts/spark-artifact.ts): content-addressed keys, Create/Update/Delete,
 * and CloudFormation always answered, on success, on failure and before a timeout. S3 is
 * aws-sdk-client-mock; the presigned response URL is a recording fetch.
 */
import { readFileSync } from "node:fs";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  applyEvent,
  handleCustomResource,
  InvalidPropertiesError,
  readProperties,
  scriptKey,
} from "../../functions/deploy-artifacts/spark-artifact.js";
import { sendResponse } from "../../functions/shared/custom-resource.js";
import { resetAfterEach } from "../support/aws-mock.js";
import {
  expectFailedBeforeTimeout,
  lambdaContext,
  madeUpRequests,
  noSleep,
  RESPONSE_URL,
  recordingFetch,
} from "../support/custom-resource-events.js";

const s3Mock = resetAfterEach(mockClient(S3Client));
const s3 = new S3Client({ region: "us-east-1" });
const SCRIPT = readFileSync(new URL("../../spark/curate_rsvps.py", import.meta.url), "utf8");
const event = madeUpRequests({
  functionName: "deploy-artifacts",
  logicalResourceId: "SparkJobScript",
  resourceType: "Custom::SparkJobScript",
  properties: { Bucket: "rsvp-atlas-artifacts-abc", Prefix: "spark/" },
  physicalResourceId: "s3://rsvp-atlas-artifacts-abc/spark/curate_rsvps-0000000000000000.py",
});

describe("scriptKey", () => {
  it("is the file name with a hash of the content: same text, same key; one byte more, another", () => {
    const key = scriptKey(SCRIPT, "curate_rsvps.py");
    expect(key).toMatch(/^spark\/curate_rsvps-[0-9a-f]{16}\.py$/);
    expect(scriptKey(SCRIPT, "curate_rsvps.py")).toBe(key);
    expect(scriptKey(`${SCRIPT}\n`, "curate_rsvps.py")).not.toBe(key);
  });

  it("takes any prefix, with or without its trailing slash", () => {
    expect(scriptKey("x", "job.py", "jobs")).toMatch(/^jobs\/job-[0-9a-f]{16}\.py$/);
    expect(scriptKey("x", "job.py", "a/b/")).toMatch(/^a\/b\/job-[0-9a-f]{16}\.py$/);
    expect(scriptKey("x", "job.py", "")).toMatch(/^job-[0-9a-f]{16}\.py$/);
  });
});

describe("readProperties", () => {
  it("wants a bucket name and defaults the prefix to spark/", () => {
    expect(readProperties({ Bucket: "my-bucket" })).toEqual({
      bucket: "my-bucket",
      prefix: "spark/",
    });
    expect(() => readProperties({})).toThrow(InvalidPropertiesError);
    expect(() => readProperties({ Bucket: "s3://my-bucket" })).toThrow(/Bucket must be/);
    expect(() => readProperties({ Bucket: "my-bucket", Prefix: "/abs" })).toThrow(/Prefix/);
  });
});

describe("applyEvent", () => {
  it.each(["Create", "Update"] as const)(
    "%s uploads the script under its hashed key and returns its S3 URI",
    async (type) => {
      s3Mock.on(PutObjectCommand).resolves({});
      const result = await applyEvent(event(type), {
        s3,
        script: SCRIPT,
        fileName: "curate_rsvps.py",
      });
      const key = scriptKey(SCRIPT, "curate_rsvps.py");
      const uri = `s3://rsvp-atlas-artifacts-abc/${key}`;
      expect(result).toEqual({
        PhysicalResourceId: uri,
        Data: { ScriptUri: uri, Bucket: "rsvp-atlas-artifacts-abc", Key: key },
      });
      const puts = s3Mock.commandCalls(PutObjectCommand);
      expect(puts).toHaveLength(1);
      expect(puts[0]?.args[0].input).toMatchObject({
        Bucket: "rsvp-atlas-artifacts-abc",
        Key: key,
        Body: SCRIPT,
      });
    },
  );

  it("keeps the object on Delete (running executions and rollbacks may still use it)", async () => {
    const result = await applyEvent(event("Delete"), { s3, script: SCRIPT, fileName: "x.py" });
    expect(result.PhysicalResourceId).toBe(
      "s3://rsvp-atlas-artifacts-abc/spark/curate_rsvps-0000000000000000.py",
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });
});

describe("handleCustomResource", () => {
  const deps = (fetchFn: typeof fetch) => ({
    s3,
    script: SCRIPT,
    fileName: "curate_rsvps.py",
    fetch: fetchFn,
    sleep: noSleep,
  });

  it("answers SUCCESS with the ScriptUri attribute on the presigned URL, content type empty", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const { calls, fetchFn, bodies } = recordingFetch();
    await handleCustomResource(event("Create"), lambdaContext, deps(fetchFn));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(RESPONSE_URL);
    expect(calls[0]?.init.method).toBe("PUT");
    expect(calls[0]?.init.headers).toMatchObject({ "content-type": "" });
    const uri = `s3://rsvp-atlas-artifacts-abc/${scriptKey(SCRIPT, "curate_rsvps.py")}`;
    expect(bodies()[0]).toEqual({
      Status: "SUCCESS",
      PhysicalResourceId: uri,
      StackId: event("Create").StackId,
      RequestId: "request-1",
      LogicalResourceId: "SparkJobScript",
      Data: { ScriptUri: uri, Bucket: "rsvp-atlas-artifacts-abc", Key: expect.any(String) },
    });
  });

  it("answers FAILED with the S3 error, keeping the old physical id on Update", async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));
    const { fetchFn, bodies } = recordingFetch();
    const update = event("Update");
    await handleCustomResource(update, lambdaContext, deps(fetchFn));
    expect(bodies()).toEqual([
      expect.objectContaining({
        Status: "FAILED",
        Reason: "AccessDenied: Access Denied",
        PhysicalResourceId: update.RequestType === "Update" ? update.PhysicalResourceId : "",
      }),
    ]);
  });

  it("answers FAILED for bad properties, with the log stream as the id of a failed Create", async () => {
    const { fetchFn, bodies } = recordingFetch();
    await handleCustomResource(event("Create", { Prefix: "spark/" }), lambdaContext, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({
      Status: "FAILED",
      PhysicalResourceId: lambdaContext.logStreamName,
      Reason: expect.stringMatching(/^InvalidPropertiesError: property Bucket/),
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("answers SUCCESS on Delete without touching S3", async () => {
    const { fetchFn, bodies } = recordingFetch();
    await handleCustomResource(event("Delete"), lambdaContext, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({ Status: "SUCCESS" });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("answers FAILED before the Lambda times out when S3 never answers", async () => {
    s3Mock.on(PutObjectCommand).callsFake(() => new Promise(() => {}));
    await expectFailedBeforeTimeout((context, fetchFn) =>
      handleCustomResource(event("Create"), context, deps(fetchFn)),
    );
  });
});

describe("sendResponse", () => {
  const body = {
    Status: "SUCCESS" as const,
    PhysicalResourceId: "id",
    StackId: "stack",
    RequestId: "r",
    LogicalResourceId: "L",
  };

  it("retries a failed PUT and succeeds", async () => {
    const { calls, fetchFn } = recordingFetch([503, new Error("socket hang up"), 200]);
    await sendResponse(RESPONSE_URL, body, { fetch: fetchFn, sleep: noSleep });
    expect(calls).toHaveLength(3);
  });

  it("gives up after three attempts with the last error", async () => {
    const { calls, fetchFn } = recordingFetch([500]);
    await expect(
      sendResponse(RESPONSE_URL, body, { fetch: fetchFn, sleep: noSleep }),
    ).rejects.toThrow(/answered 500/);
    expect(calls).toHaveLength(3);
  });
});
