/**
 * The website in a real browser (headless Chromium from Debian, driven by playwright-core),
 * served the way `npm start` serves it: the built site in a bucket of moto, the counts API's
 * own handler behind the local HTTP API, the city-counts handler counting into a fresh table.
 * Screenshots go to .cache/artifacts/screenshots/.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildClusters } from "../../functions/clustering/build-clusters.js";
import type { Venue } from "../../functions/clustering/venue-table.js";
import { indexHtml } from "../../functions/render-map/site-files.js";
import { loadGazetteer } from "../../functions/shared/atlas-data.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { bucketFiles } from "../../local/batch/s3-folders.js";
import { type LocalHttpApi, startLocalHttpApi } from "../../local/pipeline/http-api.js";
import { chromiumPath } from "../../local/setup/chromium.js";
import { cacheDir, repoRoot } from "../../local/setup/paths.js";
import { publishSite } from "../../local/site/publish-site.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { functionEnvironment, siteResponseHeaders } from "../../local/stack/template-model.js";
import { createCountsTable } from "../support/counts-table.js";

const stack = inject("stack");
const aws = { endpoint: stack.awsEndpoint, region: stack.region };
const client = { ...aws, credentials: { accessKeyId: "local", secretAccessKey: "local" } };
const s3 = new S3Client({ ...client, forcePathStyle: true });
const dynamodb = new DynamoDBClient(client);
const screenshots = join(cacheDir, "artifacts", "screenshots");
const HOSTILE_CITY = "<img src=x onerror=alert(1)>";
const HOSTILE_GROUP = "Night owls </script><script>alert(2)</script>";
/** A country of its own (ISO leaves "zz" unassigned): no other test counts there. */
const COUNTRY = "zz";

let bucket: string;
let api: LocalHttpApi;
let browser: Browser;
let countCityRsvps: typeof import("../../functions/city-counts/handler.js").countCityRsvps;
let offset = 0;
const template = JSON.parse(
  readFileSync(join(repoRoot, "events", "msk-city-counts.json"), "utf8"),
) as { records: Record<string, { value: string }[]> };
const parse = createRsvpParser();

/** RSVPs for `city` counted by the city-counts handler, as the MSK trigger would deliver them. */
async function count(city: string, rsvps: number, groupName = "Makers"): Promise<void> {
  const base = JSON.parse(
    readFileSync(join(repoRoot, "test", "fixtures", "stream-message.json"), "utf8"),
  );
  const records = Array.from({ length: rsvps }, () => {
    offset++;
    const message = {
      ...base,
      rsvp_id: 1_900_000_000 + offset,
      mtime: Date.now(),
      group: {
        ...base.group,
        group_city: city,
        group_country: COUNTRY,
        group_name: groupName,
        group_state: undefined,
      },
    };
    const result = parse(JSON.stringify(message));
    if (!result.ok) throw new Error(`test message rejected: ${result.rejection.reason}`);
    const [first] = template.records["meetup-0"] ?? [];
    return {
      ...first,
      offset: 10_000 + offset,
      value: Buffer.from(JSON.stringify(result.record)).toString("base64"),
    };
  });
  await countCityRsvps({ ...template, records: { "meetup-0": records } } as never);
}

async function open(path: string): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => errors.push(error.message));
  // A Content-Security-Policy violation is no exception; Chromium reports it on the console.
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text()))
      errors.push(message.text());
  });
  await page.goto(`${api.url}${path}`);
  return { page, dialogs, errors };
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

async function put(key: string, body: string | Uint8Array, type: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: type }));
}

beforeAll(async () => {
  bucket = `rsvp-atlas-browser-site-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await publishSite(s3, bucket, { countsApiUrl: "/api" });

  const table = await createCountsTable(dynamodb, "browser-counts");
  const names = { ...stack.resources.tables, ...stack.resources.buckets, CityCountsTable: table };
  // All but the template's log level (INFO): the tests' output keeps vitest.config.ts's.
  const quiet = (environment: Record<string, string>) => {
    const { POWERTOOLS_LOG_LEVEL: _level, ...rest } = environment;
    return rest;
  };
  Object.assign(
    process.env,
    quiet(functionEnvironment("CityCountsFunction", names)),
    localAwsEnvironment(aws),
  );
  ({ countCityRsvps } = await import("../../functions/city-counts/handler.js"));
  Object.assign(process.env, quiet(functionEnvironment("CountsApiFunction", names)));
  const { getCounts } = await import("../../functions/counts-api/handler.js");
  // With the headers CloudFront adds on AWS (SiteResponseHeadersPolicy): the page must work
  // under their Content-Security-Policy, which is stricter than its own meta one.
  api = await startLocalHttpApi(
    { "/api/counts": (event) => getCounts(event) },
    0,
    bucketFiles(s3, bucket),
    siteResponseHeaders(),
  );
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("the website in headless Chromium", () => {
  it("says there is no map yet before the first batch, and shows the live counts", async () => {
    await count("Springfield", 3);
    const { page, errors } = await open(`/#country=${COUNTRY}&day=all`);
    await page.waitForSelector("#map[data-state='no-batch']");
    expect(await page.textContent("#map-message")).toMatch(/No map yet/);
    await page.waitForSelector("#live[data-state='ok']");
    expect(await page.textContent("#counts-body")).toContain("Springfield");
    await shoot(page, "no-batch");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("updates the table by itself when new RSVPs are counted, and shows hostile names as text", async () => {
    const { page, dialogs, errors } = await open(`/#country=${COUNTRY}&day=all`);
    await page.waitForSelector("#live[data-state='ok']");
    /** The RSVPs cell of a city's row (rank, city, state, country, RSVPs, yes, no). */
    const rsvpsOf = async (city: string) =>
      (
        await page
          .locator("#counts-body tr", { hasText: city })
          .first()
          .locator("td, th")
          .allTextContents()
      )[4];
    expect(await rsvpsOf("Springfield")).toBe("3");

    await count("Springfield", 4);
    await count(HOSTILE_CITY, 5, HOSTILE_GROUP);
    // No reload: the page polls the API every few seconds.
    await page.waitForFunction(
      (city) => document.querySelector("#counts-body")?.textContent?.includes(city) ?? false,
      HOSTILE_CITY,
      { timeout: 30_000 },
    );
    await expect.poll(() => rsvpsOf("Springfield"), { timeout: 30_000 }).toBe("7");
    expect(await rsvpsOf(HOSTILE_CITY)).toBe("5");
    // The hostile name is text in a cell: no element came from it, nothing ran.
    expect(await page.locator("img[src='x']").count()).toBe(0);
    expect(await page.locator("#counts-body :is(td, th)", { hasText: HOSTILE_CITY }).count()).toBe(
      1,
    );
    expect(dialogs).toEqual([]);
    await shoot(page, "live-counts");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("draws every cluster of clusters.json with its label, hostile text included, and runs nothing", async () => {
    const cities = loadGazetteer(300_000).filter((city) =>
      ["us", "gb", "jp", "au", "br"].includes(city.country),
    );
    let id = 0;
    const venues: Venue[] = cities.slice(0, 60).flatMap((city, c) =>
      Array.from({ length: 8 }, (_, i) => ({
        id: ++id,
        name: `venue ${id}`,
        position: { lat: city.lat + (i % 3) * 0.02, lon: city.lon + Math.floor(i / 3) * 0.02 },
        firstSeen: 0,
        lastSeen: 0,
        rsvpCount: 1 + ((c * 7 + i) % 13),
        yesCount: 1,
        topics: [
          { key: c % 2 ? "python" : "hiking", name: c % 2 ? "Python" : "Hiking" },
          { key: "hostile", name: HOSTILE_GROUP },
        ],
      })),
    );
    const clusters = buildClusters(venues, loadGazetteer(50_000), { kMin: 8, kMax: 12, seed: 1 });
    const first = clusters.clusters[0];
    if (!first) throw new Error("no clusters");
    first.label = `${HOSTILE_CITY}: Tech`;
    const dates = { first: "2026-11-26", last: "2026-11-26" };
    await put("clusters.json", JSON.stringify({ dates, ...clusters }), "application/json");
    await put(
      "cities.json",
      JSON.stringify({
        dates,
        radiusKm: 50,
        minPopulation: 100_000,
        venuesOutsideCities: 0,
        cities: [],
      }),
      "application/json",
    );
    await put(
      "run.json",
      JSON.stringify({
        range: "yesterday",
        dates,
        startedAt: "2026-11-27T02:00:00.000Z",
        finishedAt: "2026-11-27T02:14:00.000Z",
        durationSeconds: 840,
        counts: {
          venues: venues.length,
          venuesClustered: venues.length,
          venuesWithoutPosition: 0,
          rsvps: 1,
          clusters: clusters.clusters.length,
        },
      }),
      "application/json",
    );

    const { page, dialogs, errors } = await open("/");
    await page.waitForSelector("#map[data-state='ready']", { timeout: 30_000 });
    const legend = await page.locator("#legend li").allTextContents();
    expect(legend).toHaveLength(clusters.clusters.length);
    for (const cluster of clusters.clusters) {
      expect(
        legend.some((item) => item.includes(cluster.label)),
        cluster.label,
      ).toBe(true);
    }
    expect(await page.textContent("#run-line")).toMatch(/2026-11-26/);
    // The tooltip of the hostile cluster: its label and topics as text.
    await page.locator("#legend button").first().focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector("#map-tooltip:not([hidden])");
    expect(await page.textContent("#map-tooltip")).toContain(HOSTILE_CITY);
    expect(await page.locator("img[src='x']").count()).toBe(0);
    expect(dialogs).toEqual([]);
    await shoot(page, "cluster-map");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("does not pass another run's clusters.json off as run.json's, and loads them again at the next look", async () => {
    // As a cache in front of the bucket can serve them for a while after a batch run: the new
    // run.json (of the run started 02:00, left by the test above) beside the day before's
    // clusters.json.
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "clusters.json" }));
    const clusters = JSON.parse((await object.Body?.transformToString()) ?? "{}") as Record<
      string,
      unknown
    >;
    const publish = (runStartedAt: string) =>
      put("clusters.json", JSON.stringify({ ...clusters, runStartedAt }), "application/json");
    await publish("2026-11-26T02:00:00.000Z");

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.clock.install();
    await page.goto(`${api.url}/`);
    await page.waitForSelector("#map[data-state='ready']", { timeout: 30_000 });
    // The clusters' own dates, without the other run's drawing time or duration.
    expect(await page.textContent("#run-line")).toBe("Map of 2026-11-26");
    expect(await page.textContent("#map-summary")).not.toMatch(/took/);

    // The cache has caught up: the next look (5 minutes on) loads both again and pairs them.
    await publish("2026-11-27T02:00:00.000Z");
    await page.clock.runFor(5 * 60_000 + 1_000);
    await page.waitForFunction(
      () => document.querySelector("#run-line")?.textContent?.includes("drawn"),
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.textContent("#run-line")).toBe(
      "Map of 2026-11-26 · drawn 2026-11-27 02:14 UTC",
    );
    expect(await page.textContent("#map-summary")).toMatch(/took 14 min/);
    await page.close();
  }, 90_000);

  it("says so when the counts API is unreachable, and keeps the map", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.route("**/api/counts**", (route) => route.abort("connectionrefused"));
    await page.goto(`${api.url}/`);
    await page.waitForSelector("#live[data-state='failing']", { timeout: 30_000 });
    expect(await page.textContent("#live")).toMatch(/unavailable|does not answer|unreachable/i);
    await page.waitForSelector("#map[data-state='ready']");
    await shoot(page, "api-down");
    await page.close();
  }, 60_000);

  it("shows the render-map Lambda's fallback page styled under the CloudFront headers (its one inline style allowed by hash)", async () => {
    const fallback = await startLocalHttpApi(
      {},
      0,
      async (path) =>
        path === "index.html"
          ? {
              contentType: "text/html; charset=utf-8",
              body: new TextEncoder().encode(
                indexHtml({
                  range: "yesterday",
                  dates: { first: "2018-05-20", last: "2018-05-20" },
                  width: 1600,
                  height: 900,
                }),
              ),
            }
          : undefined,
      siteResponseHeaders(),
    );
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
    try {
      await page.goto(`${fallback.url}/`);
      // #fbfaf7, the style's background: applied, so the policy let the style in.
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
        "rgb(251, 250, 247)",
      );
      expect(refused).toEqual([]);
    } finally {
      await page.close();
      await fallback.close();
    }
  }, 30_000);

  it("cannot be framed by another page (frame-ancestors of the CloudFront headers)", async () => {
    const framing = await browser.newPage();
    const refusals: string[] = [];
    framing.on("console", (message) => {
      if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
    });
    // Another origin (about:blank) puts the site in a frame; the page itself is never shown.
    await framing.setContent(`<iframe id="site" src="${api.url}/"></iframe>`);
    await expect.poll(() => refusals.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const frame = await (await framing.$("#site"))?.contentFrame();
    expect(await frame?.$("#live")).toBeNull();
    await framing.close();
  }, 30_000);
});
