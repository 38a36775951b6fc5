/**
 * The site-content custom resource on moto's S3, as a deploy runs it: the built site published
 * with its headers next to the daily batch's files, an Update replacing an earlier deploy's
 * hashed files, a Delete removing the site's files and never the batch's, and the render step's
 * first index.html written only where no page is. `npm start` publishes the local site with the
 * same code (local/site/publish-site.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putIfAbsent } from "../../functions/render-map/render-site.js";
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

  it("the render step's first index.html goes only where no page is, and a deploy replaces it", async () => {
    const page = async () => {
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "index.html" }));
      return (await object.Body?.transformToString()) ?? "";
    };
    const fallback = { Bucket: BUCKET, Key: "index.html", ContentType: "text/html" };
    // A bucket without a page (as after the Delete above): the render step's goes in.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "index.html" }));
    expect(await putIfAbsent(s3, { ...fallback, Body: "first fallback" })).toBe(true);
    expect(await page()).toBe("first fallback");
    // A second run's does not replace it (moto answers If-None-Match "*" with 412, as S3 does).
    expect(await putIfAbsent(s3, { ...fallback, Body: "second fallback" })).toBe(false);
    expect(await page()).toBe("first fallback");
    // A deploy puts the site's own page over it, and a run after that leaves the deploy's page.
    await applyEvent(event("Update"), { s3, files: async () => files });
    const deployed = await page();
    expect(deployed).toMatch(/^<!doctype html>/i);
    expect(await putIfAbsent(s3, { ...fallback, Body: "third fallback" })).toBe(false);
    expect(await page()).toBe(deployed);
  });
});
