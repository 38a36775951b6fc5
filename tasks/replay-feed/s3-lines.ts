/**
 * The lines of a recording kept in S3, for the replay feed on AWS. A recording of a busy day is
 * hundreds of MiB (more once decompressed) and the task has little memory, so the object is
 * streamed and split as it arrives, never held whole; a client that disconnects stops the
 * download. Lines are verbatim (no parsing, no trimming), as `local/feed/jsonl.ts` reads files,
 * so a malformed line of the recording reaches the ingest as it was recorded.
 */

import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { boundedLines, type LineLimit, type RecordingLine } from "./bounded-lines.js";

export type S3SourceProblem = "invalid-uri" | "not-found" | "access-denied" | "read-failed";

/** Every failure names the URI: the task's log is often the only place it shows. */
export class S3SourceError extends Error {
  override readonly name = "S3SourceError";
  constructor(
    readonly uri: string,
    readonly problem: S3SourceProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${uri}: ${message}`, options);
  }
}

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` (the key taken literally, as the AWS CLI does: slashes and all). */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2])
    throw new S3SourceError(uri, "invalid-uri", "not an S3 object URI (expected s3://bucket/key)");
  return { bucket: match[1], key: match[2] };
}

/**
 * Checks up front that the object can be read, so a wrong URI or a missing grant stops the task
 * at start instead of surfacing only as dropped connections. Returns its size in bytes.
 */
export async function checkS3Object(s3: S3Client, uri: string): Promise<number> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    throw toSourceError(uri, error);
  }
}

/**
 * The object's lines, gunzipped when the key ends in `.gz`. Each call downloads the object
 * anew (every connection and every pass of a loop plays from the start). A final newline does
 * not make an extra empty line; CRLF counts as one line break. A line over the limit is
 * reported to `limit.onOversized` and left out (bounded-lines.ts).
 */
export async function* s3Lines(
  s3: S3Client,
  uri: string,
  limit: LineLimit,
): AsyncGenerator<RecordingLine> {
  const { bucket, key } = parseS3Uri(uri);
  let body: Readable;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!(object.Body instanceof Readable))
      throw new TypeError("the S3 client returned a body that is not a Node.js stream");
    body = object.Body;
  } catch (error) {
    throw toSourceError(uri, error);
  }
  const gunzip = key.endsWith(".gz") ? createGunzip() : undefined;
  // A read error of the body must reach the gunzip stream, which the lines are read from.
  const input = gunzip ? body.pipe(gunzip) : body;
  if (gunzip) body.once("error", (error) => gunzip.destroy(error));
  try {
    yield* boundedLines(input, limit);
  } catch (error) {
    throw new S3SourceError(uri, "read-failed", `reading failed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    // A reader that stops early (a client that disconnected) must not keep the download open.
    gunzip?.destroy();
    body.destroy();
  }
}

function toSourceError(uri: string, error: unknown): S3SourceError {
  if (error instanceof S3SourceError) return error;
  const name = (error as { name?: string }).name ?? "";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === "NoSuchKey" || name === "NoSuchBucket" || name === "NotFound" || status === 404)
    return new S3SourceError(uri, "not-found", "no such object", { cause: error });
  if (name === "AccessDenied" || name === "Forbidden" || status === 403)
    // Without s3:ListBucket on the bucket, S3 answers 403 for a missing object too.
    return new S3SourceError(
      uri,
      "access-denied",
      "access denied (or no such object: without s3:ListBucket, S3 answers 403 for both)",
      { cause: error },
    );
  return new S3SourceError(uri, "read-failed", `reading failed: ${(error as Error).message}`, {
    cause: error,
  });
}
