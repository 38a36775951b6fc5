/**
 * The custom resource that puts the Spark job into the artifacts bucket as part of the deploy:
 * CloudFormation sends Create/Update/Delete, the script (bundled into this Lambda as text) goes
 * to `<Prefix><name>-<sha256 prefix>.py`, and its S3 URI comes back as the `ScriptUri`
 * attribute, which the state machine's `${SparkScriptUri}` substitution reads. A new script is a
 * new key, so a new physical id: CloudFormation then updates the state machine to the new URI.
 *
 * Delete keeps the object. A replaced script may still be wanted by an execution that started
 * before the deploy (its definition holds the old URI), and an update rollback points the state
 * machine back at the old URI; the objects are a few kilobytes each.
 *
 * CloudFormation waits (up to an hour) for an answer on the presigned ResponseURL, so every path
 * answers exactly once: success, a failure with its reason, or a failure shortly before the
 * Lambda's own timeout.
 */
import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
} from "aws-lambda";

export interface ScriptArtifact {
  bucket: string;
  key: string;
  uri: string;
}

export interface DeployArtifactDependencies {
  s3: S3Client;
  /** The script's text. */
  script: string;
  /** Its file name, e.g. `curate_rsvps.py`; the key is `<Prefix><stem>-<hash>.py`. */
  fileName: string;
  /** Sends the answer to CloudFormation (global fetch on Lambda). */
  fetch: typeof fetch;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Pause between attempts to answer CloudFormation. */
  sleep?: (ms: number) => Promise<void>;
}

export interface LambdaContextLike {
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

/** Answer FAILED this long before the Lambda would time out without answering. */
export const TIMEOUT_MARGIN_MS = 5_000;
const RESPONSE_ATTEMPTS = 3;

export class InvalidPropertiesError extends Error {
  override readonly name = "InvalidPropertiesError";
}

/** The content-addressed key of a script: same text, same key; any change, a new key. */
export function scriptKey(script: string, fileName: string, prefix = "spark/"): string {
  const hash = createHash("sha256").update(script, "utf8").digest("hex").slice(0, 16);
  const dot = fileName.lastIndexOf(".");
  const stem = dot > 0 ? fileName.slice(0, dot) : fileName;
  const extension = dot > 0 ? fileName.slice(dot) : "";
  const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  return `${folder}${stem}-${hash}${extension}`;
}

/** `Bucket` (required) and `Prefix` (optional) from the resource's properties. */
export function readProperties(properties: Record<string, unknown> | undefined): {
  bucket: string;
  prefix: string;
} {
  const bucket = properties?.Bucket;
  const prefix = properties?.Prefix ?? "spark/";
  if (typeof bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidPropertiesError(
      `property Bucket must be an S3 bucket name, got ${JSON.stringify(bucket)}`,
    );
  }
  if (typeof prefix !== "string" || prefix.startsWith("/")) {
    throw new InvalidPropertiesError(
      `property Prefix must be a key prefix such as spark/, got ${JSON.stringify(prefix)}`,
    );
  }
  return { bucket, prefix };
}

/** Uploads the script (Create, Update) or keeps it (Delete); the response CloudFormation gets. */
export async function applyEvent(
  event: CloudFormationCustomResourceEvent,
  deps: Pick<DeployArtifactDependencies, "s3" | "script" | "fileName" | "log">,
): Promise<Pick<CloudFormationCustomResourceResponse, "PhysicalResourceId" | "Data">> {
  if (event.RequestType === "Delete") {
    deps.log?.("keeping the script on delete", { physicalResourceId: event.PhysicalResourceId });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const { bucket, prefix } = readProperties(event.ResourceProperties);
  const artifact = await uploadScript(deps.s3, bucket, prefix, deps.script, deps.fileName);
  deps.log?.("uploaded the script", { ...artifact });
  return {
    PhysicalResourceId: artifact.uri,
    Data: { ScriptUri: artifact.uri, Bucket: artifact.bucket, Key: artifact.key },
  };
}

export async function uploadScript(
  s3: S3Client,
  bucket: string,
  prefix: string,
  script: string,
  fileName: string,
): Promise<ScriptArtifact> {
  const key = scriptKey(script, fileName, prefix);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: script,
      ContentType: "text/x-python; charset=utf-8",
      ChecksumAlgorithm: "SHA256",
    }),
  );
  return { bucket, key, uri: `s3://${bucket}/${key}` };
}

/** The body CloudFormation expects on the ResponseURL. */
export function responseBody(
  event: CloudFormationCustomResourceEvent,
  outcome:
    | { status: "SUCCESS"; physicalResourceId: string; data?: Record<string, unknown> }
    | { status: "FAILED"; physicalResourceId: string; reason: string },
): CloudFormationCustomResourceResponse {
  const common = {
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  return outcome.status === "SUCCESS"
    ? { Status: "SUCCESS", ...common, ...(outcome.data ? { Data: outcome.data } : {}) }
    : // CloudFormation shows the reason in the stack events; it caps the whole body at 4 KB.
      { Status: "FAILED", Reason: outcome.reason.slice(0, 1000), ...common };
}

/** PUTs the body on the presigned URL, retrying transient failures. */
export async function sendResponse(
  responseUrl: string,
  body: CloudFormationCustomResourceResponse,
  deps: Pick<DeployArtifactDependencies, "fetch" | "log" | "sleep">,
): Promise<void> {
  const text = JSON.stringify(body);
  let lastError: unknown;
  for (let attempt = 1; attempt <= RESPONSE_ATTEMPTS; attempt += 1) {
    try {
      const response = await deps.fetch(responseUrl, {
        method: "PUT",
        // The URL is presigned without a content type: send none.
        headers: { "content-type": "", "content-length": String(Buffer.byteLength(text)) },
        body: text,
      });
      if (response.ok) return;
      lastError = new Error(`CloudFormation response URL answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    deps.log?.("could not answer CloudFormation, retrying", {
      attempt,
      error: String(lastError),
    });
    if (attempt < RESPONSE_ATTEMPTS) await (deps.sleep ?? defaultSleep)(500 * 2 ** attempt);
  }
  throw lastError;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The whole custom-resource exchange: apply the event, answer once. A failure is answered as
 * FAILED with its message; if the work outlives the Lambda's time, FAILED is answered
 * {@link TIMEOUT_MARGIN_MS} before the end instead of leaving the stack waiting.
 */
export async function handleCustomResource(
  event: CloudFormationCustomResourceEvent,
  context: LambdaContextLike,
  deps: DeployArtifactDependencies,
): Promise<CloudFormationCustomResourceResponse> {
  return answerCustomResource(event, context, () => applyEvent(event, deps), deps);
}

/**
 * Answers CloudFormation exactly once for `apply`'s outcome: SUCCESS with its id and data,
 * FAILED with the error, or FAILED {@link TIMEOUT_MARGIN_MS} before the Lambda's end. Shared by
 * every custom resource of the stack (the Spark job here, the website in ../deploy-site/).
 */
export async function answerCustomResource(
  event: CloudFormationCustomResourceEvent,
  context: LambdaContextLike,
  apply: () => Promise<Pick<CloudFormationCustomResourceResponse, "PhysicalResourceId" | "Data">>,
  deps: Pick<DeployArtifactDependencies, "fetch" | "log" | "sleep">,
): Promise<CloudFormationCustomResourceResponse> {
  const fallbackId =
    event.RequestType === "Create" ? context.logStreamName : event.PhysicalResourceId;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CloudFormationCustomResourceResponse>((resolve) => {
    const ms = Math.max(0, context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS);
    timer = setTimeout(
      () =>
        resolve(
          responseBody(event, {
            status: "FAILED",
            physicalResourceId: fallbackId,
            reason: `timed out after ${ms} ms (see log stream ${context.logStreamName})`,
          }),
        ),
      ms,
    );
  });
  const work = apply().then(
    (result) =>
      responseBody(event, {
        status: "SUCCESS",
        physicalResourceId: result.PhysicalResourceId,
        ...(result.Data ? { data: result.Data } : {}),
      }),
    (error: unknown) => {
      deps.log?.("custom resource request failed", { error: String(error) });
      return responseBody(event, {
        status: "FAILED",
        physicalResourceId: fallbackId,
        reason: `${(error as { name?: unknown } | null)?.name ?? "Error"}: ${(error as Error)?.message ?? String(error)}`,
      });
    },
  );
  try {
    const body = await Promise.race([work, timedOut]);
    await sendResponse(event.ResponseURL, body, deps);
    return body;
  } finally {
    clearTimeout(timer);
  }
}
