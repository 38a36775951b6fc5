/**
 * The site-content custom resource on moto's S3, as a deploy runs it: the built site published
 * with its headers next to the daily batch's files, an Update replacing an earlier deploy's
 * hashed files, and a Delete removing the site's files and never the batch's. `npm start`
 * publishes the local site with the same code (local/site/publish-site.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyEvent,
  IMMUTABLE,
  NO_CACHE,
  type SiteFile,
} from "../../functions/site-content/site-content.js";
import { readSiteFolder } from "../../functions/site-content/site-folder.js";
import { runsDir } from "../../local/setup/paths.js";
import { buildSite } from "../../site/build.js";
import { madeUpRequests } from "../support/custom-resource-events.js";
import { stackS3 } from "../support/stack-clients.js";

const s3 = stackS3();
const BUCKET = `rsvp-atlas-site-content-${process.pid}`;
/** What the daily batch publishes next to the page: never the deploy's to touch. */
const BATCH_KEYS = ["cities.json", "clusters.json", "map.png", "run.json"];
const STALE_KEYS = ["assets/main-OLD00000.js", "basemap/countries-10m.json"];
const event = madeUpRequests({
  functionName: "site-content",
  logicalResourceId: "SiteContent",
  resourceType: "Custom::SiteContent",
  properties: { Bucket: BUCKET, CountsApiUrl: "/api", SiteVersion: "3" },
  physicalResourceId: `s3://${BUCKET}/`,
});

let files: SiteFile[] = [];
const siteDir = mkdtempSync(join(runsDir, "site-content-test-"));

async function keys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (listed.Contents ?? []).map((object) => object.Key ?? "").sort();
}

beforeAll(async () => {
  await buildSite(siteDir);
  files = await readSiteFolder(siteDir);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const Key of [...BATCH_KEYS, ...STALE_KEYS])
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `old ${Key}` }));
}, 120_000);

afterAll(() => {
  rmSync(siteDir, { recursive: true, force: true });
  s3.destroy();
});

describe("the site-content custom resource on S3 (moto)", () => {
  it("Update publishes the built site with its headers, replaces the earlier deploy's hashed files and leaves the batch's", async () => {
    const published = files.filter((file) => !file.key.endsWith(".map")).map((file) => file.key);
    expect(published).toContain("index.html");
    expect(published.some((key) => key.startsWith("assets/"))).toBe(true);

    const result = await applyEvent(event("Update"), { s3, files: async () => files });
    expect(result.Data).toMatchObject({ Bucket: BUCKET, CountsApiUrl: "/api" });
    expect(await keys()).toEqual([...published, "config.json", ...BATCH_KEYS].sort());

    const head = (Key: string) => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    expect(await head("index.html")).toMatchObject({
      ContentType: "text/html; charset=utf-8",
      CacheControl: NO_CACHE,
    });
    const script = published.find((key) => key.startsWith("assets/") && key.endsWith(".js"));
    expect(await head(script ?? "")).toMatchObject({
      ContentType: "text/javascript; charset=utf-8",
      CacheControl: IMMUTABLE,
    });
    const config = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "config.json" }));
    expect(JSON.parse((await config.Body?.transformToString()) ?? "")).toEqual({
      countsApiUrl: "/api",
    });
    // The batch's files are as the batch left them.
    const map = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "map.png" }));
    expect(await map.Body?.transformToString()).toBe("old map.png");
  });

  it("Delete removes the site's files and keeps the batch's", async () => {
    await applyEvent(event("Delete"), { s3, files: async () => files });
    expect(await keys()).toEqual(BATCH_KEYS);
  });
});
