/**
 * The custom resource that uploads the Spark job during the deploy
 * (functions/deploy-artifacts/spark-artifact.ts): content-addressed keys, Create/Update/Delete,
 * and CloudFormation always answered, on success, on failure and before a timeout. S3 is
 * aws-sdk-client-mock; the presigned response URL is a recording fetch.
 */
import { readFileSync } from "node:fs";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  applyEvent,
  handleCustomResource,
  InvalidPropertiesError,
  readProperties,
  scriptKey,
} from "../../functions/deploy-artifacts/spark-artifact.js";
import { sendResponse, TIMEOUT_MARGIN_MS } from "../../functions/shared/custom-resource.js";

const s3Mock = mockClient(S3Client);
afterEach(() => {
  s3Mock.reset();
  vi.useRealTimers();
});
const s3 = new S3Client({ region: "us-east-1" });
const SCRIPT = readFileSync(new URL("../../spark/curate_rsvps.py", import.meta.url), "utf8");
const RESPONSE_URL = "https://cloudformation-custom-resource-response.example/presigned?sig=1";

function event(
  requestType: "Create" | "Update" | "Delete",
  properties: Record<string, unknown> = { Bucket: "rsvp-atlas-artifacts-abc", Prefix: "spark/" },
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:deploy-artifacts",
    ResponseURL: RESPONSE_URL,
    StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/guid",
    RequestId: "request-1",
    LogicalResourceId: "SparkJobScript",
    ResourceType: "Custom::SparkJobScript",
    ResourceProperties: { ServiceToken: "token", ...properties },
  };
  if (requestType === "Create") return { ...common, RequestType: "Create" };
  const PhysicalResourceId = "s3://rsvp-atlas-artifacts-abc/spark/curate_rsvps-0000000000000000.py";
  return requestType === "Update"
    ? {
        ...common,
        RequestType: "Update",
        PhysicalResourceId,
        OldResourceProperties: { ServiceToken: "token" },
      }
    : { ...common, RequestType: "Delete", PhysicalResourceId };
}

function recordingFetch(statuses: (number | Error)[] = [200]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = statuses[Math.min(calls.length - 1, statuses.length - 1)] ?? 200;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next });
  }) as unknown as typeof fetch;
  return { calls, fetchFn, bodies: () => calls.map((c) => JSON.parse(String(c.init.body))) };
}

const context = {
  logStreamName: "2026/01/01/[$LATEST]abc",
  getRemainingTimeInMillis: () => 60_000,
};
const noSleep = async () => {};

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
    await handleCustomResource(event("Create"), context, deps(fetchFn));
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
    await handleCustomResource(update, context, deps(fetchFn));
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
    await handleCustomResource(event("Create", { Prefix: "spark/" }), context, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({
      Status: "FAILED",
      PhysicalResourceId: context.logStreamName,
      Reason: expect.stringMatching(/^InvalidPropertiesError: property Bucket/),
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("answers SUCCESS on Delete without touching S3", async () => {
    const { fetchFn, bodies } = recordingFetch();
    await handleCustomResource(event("Delete"), context, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({ Status: "SUCCESS" });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("answers FAILED before the Lambda times out when S3 never answers", async () => {
    vi.useFakeTimers();
    s3Mock.on(PutObjectCommand).callsFake(() => new Promise(() => {}));
    const { fetchFn, bodies } = recordingFetch();
    const shortContext = { ...context, getRemainingTimeInMillis: () => TIMEOUT_MARGIN_MS + 1000 };
    const done = handleCustomResource(event("Create"), shortContext, deps(fetchFn));
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(bodies()).toEqual([
      expect.objectContaining({ Status: "FAILED", Reason: expect.stringMatching(/^timed out/) }),
    ]);
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
