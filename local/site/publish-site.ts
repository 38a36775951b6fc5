/**
 * The website into the local site bucket, as a deploy puts it into the real one, by the same
 * code: the built page (site/build.ts) and a config.json that tells it where the counts API is,
 * with the headers and order the site-content Lambda gives them. The daily batch adds map.png
 * and the JSON documents beside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { publishSiteFiles } from "../../functions/site-content/site-content.js";
import { readSiteFolder } from "../../functions/site-content/site-folder.js";
import { buildSite } from "../../site/build.js";
import { runsDir } from "../setup/paths.js";

export interface PublishedSite {
  files: number;
  gzipBytes: number;
}

/** The site-content Lambda's own publishing (functions/site-content/), on the built folder. */
export async function publishSite(
  s3: S3Client,
  bucket: string,
  config: { countsApiUrl: string },
): Promise<PublishedSite> {
  const dir = mkdtempSync(join(runsDir, "site-"));
  try {
    const built = await buildSite(dir);
    const { puts } = await publishSiteFiles(
      s3,
      bucket,
      config.countsApiUrl,
      await readSiteFolder(dir),
    );
    return { files: puts.length, gzipBytes: built.gzipBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
