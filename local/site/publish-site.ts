/**
 * The website into the local site bucket, as a deploy puts it into the real one: the built
 * page (site/build.ts) and a config.json that tells it where the counts API is. The daily batch
 * adds map.png and the JSON documents beside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { buildSite } from "../../site/build.js";
import { uploadFolder } from "../batch/s3-folders.js";
import { runsDir } from "../setup/paths.js";

export interface PublishedSite {
  files: number;
  gzipBytes: number;
}

export async function publishSite(
  s3: S3Client,
  bucket: string,
  config: { countsApiUrl: string },
): Promise<PublishedSite> {
  const dir = mkdtempSync(join(runsDir, "site-"));
  try {
    const built = await buildSite(dir);
    const keys = await uploadFolder(s3, dir, bucket, "", (path) => path.endsWith(".map"));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "config.json",
        Body: JSON.stringify(config),
        ContentType: "application/json; charset=utf-8",
      }),
    );
    return { files: keys.length + 1, gzipBytes: built.gzipBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
