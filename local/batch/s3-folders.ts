/**
 * Moving folders between the local S3 (moto) and this machine's disk: the local Spark step
 * reads and writes local paths (s3a:// would need the hadoop-aws jars and their 300 MB SDK), so
 * its input is downloaded before and its output uploaded after, with the same keys as on EMR.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { contentTypeOf, listKeys } from "../../functions/shared/s3-keys.js";

export { contentTypeOf, deleteKeys, listKeys } from "../../functions/shared/s3-keys.js";

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
