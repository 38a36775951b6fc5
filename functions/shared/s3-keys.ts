/**
 * The S3 key chores more than one part of the project does: listing a prefix, deleting keys
 * (where S3's per-key errors must not pass unnoticed: DeleteObjects answers 200 even when some
 * keys failed), and the Content-Type a key is served with. Used by the website's deploy
 * (functions/site-content) and the local batch and site (local/batch/s3-folders.ts).
 */
import { DeleteObjectsCommand, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";

/** Every key under `prefix`, all pages. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: bucket, Prefix: prefix },
  )) {
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
  }
  return keys;
}

/** DeleteObjects in batches of 1000; any key S3 could not delete is an error. */
export async function deleteKeys(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<void> {
  for (let at = 0; at < keys.length; at += 1000) {
    const batch = keys.slice(at, at + 1000);
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const errors = result.Errors ?? [];
    if (errors.length > 0) {
      const first = errors
        .slice(0, 3)
        .map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ""}`.trim())
        .join("; ");
      throw new Error(`S3 did not delete ${errors.length} of ${batch.length} objects (${first})`);
    }
  }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** The Content-Type of a key by its extension (none after the last slash: octet-stream). */
export function contentTypeOf(key: string): string {
  const slash = key.lastIndexOf("/");
  const dot = key.lastIndexOf(".");
  const extension = dot > slash ? key.slice(dot).toLowerCase() : "";
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}
