/**
 * Moving folders between the local S3 (moto) and this machine's disk: the local Spark step
 * reads and writes local paths (s3a:// would need the hadoop-aws jars and their 300 MB SDK), so
 * its input is downloaded before and its output uploaded after, with the same keys as on EMR.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";

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

/** Downloads every object under `prefix` to `dir`, each at the path `toPath(key)` gives (null skips). */
export async function downloadFolder(
  s3: S3Client,
  bucket: string,
  prefix: string,
  dir: string,
  toPath: (key: string) => string | null = (key) => key.slice(prefix.length),
): Promise<number> {
  let files = 0;
  for (const key of await listKeys(s3, bucket, prefix)) {
    const path = toPath(key);
    if (path === null) continue;
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
    files++;
  }
  return files;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

export function contentTypeOf(path: string): string {
  const extension = path.slice(path.lastIndexOf(".")).toLowerCase();
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** Uploads every file under `dir` to `prefix`; `skip` leaves out files such as Spark's .crc. */
export async function uploadFolder(
  s3: S3Client,
  dir: string,
  bucket: string,
  prefix: string,
  skip: (relativePath: string) => boolean = () => false,
): Promise<string[]> {
  const keys: string[] = [];
  for (const file of await filesUnder(dir)) {
    const path = relative(dir, file).split(sep).join("/");
    if (skip(path)) continue;
    const key = `${prefix}${path}`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(file),
        ContentType: contentTypeOf(path),
      }),
    );
    keys.push(key);
  }
  return keys;
}

export async function deleteKeys(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}

/** The website as the S3 website endpoint serves it: an object per path, 404 when absent. */
export function bucketFiles(
  s3: S3Client,
  bucket: string,
): (path: string) => Promise<{ contentType: string; body: Uint8Array } | undefined> {
  return async (path) => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: path }));
      return {
        contentType: object.ContentType ?? contentTypeOf(path),
        body: (await object.Body?.transformToByteArray()) ?? new Uint8Array(),
      };
    } catch (error) {
      if ((error as Error).name === "NoSuchKey") return undefined;
      throw error;
    }
  };
}
