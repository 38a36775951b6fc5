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
 * Lambda's own timeout (../shared/custom-resource.ts).
 */
import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
} from "aws-lambda";
import {
  answerCustomResource,
  type CustomResourceAnswerDependencies,
  type CustomResourceResult,
  InvalidPropertiesError,
  type LambdaContextLike,
  TIMEOUT_MARGIN_MS,
} from "../shared/custom-resource.js";

export { InvalidPropertiesError };

export interface ScriptArtifact {
  bucket: string;
  key: string;
  uri: string;
}

export interface DeployArtifactDependencies extends CustomResourceAnswerDependencies {
  s3: S3Client;
  /** The script's text. */
  script: string;
  /** Its file name, e.g. `curate_rsvps.py`; the key is `<Prefix><stem>-<hash>.py`. */
  fileName: string;
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
): Promise<CustomResourceResult> {
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
