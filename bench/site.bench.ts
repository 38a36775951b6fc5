/**
 * The website's weight and speed (issue 5's targets): the page's own code and styles gzipped
 * (budget 300 KB, basemap aside), and how long headless Chromium takes from navigation to the
 * first frame with the clusters drawn, for a clusters.json built from 10^5 venues.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import { buildClusters } from "../functions/clustering/build-clusters.js";
import type { Venue } from "../functions/clustering/venue-table.js";
import { loadGazetteer } from "../functions/shared/atlas-data.js";
import { seededRandom } from "../functions/shared/seeded-random.js";
import { chromiumPath, ensureChromium } from "../local/setup/chromium.js";
import { buildSite } from "../site/build.js";
import { validationSizes } from "./site-validation-size.js";

const VENUES = 100_000;
const RUNS = 5;
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
};

/** Venues scattered around the world's large cities, RSVP counts skewed as in the feed. */
function venues(): Venue[] {
  const random = seededRandom(5);
  const cities = loadGazetteer(200_000);
  return Array.from({ length: VENUES }, (_, i) => {
    const city = cities[Math.floor(random() * random() * cities.length)] ?? cities[0];
    if (!city) throw new Error("empty gazetteer");
    return {
      id: i + 1,
      name: `venue ${i + 1}`,
      position: { lat: city.lat + (random() - 0.5) * 0.6, lon: city.lon + (random() - 0.5) * 0.6 },
      firstSeen: 0,
      lastSeen: 0,
      rsvpCount: 1 + Math.floor(1 / (random() + 0.02)),
      yesCount: 1,
      topics: [{ key: i % 3 ? "python" : "hiking", name: i % 3 ? "Python" : "Hiking" }],
    };
  });
}

export async function run(print: (line: string) => void): Promise<void> {
  await ensureChromium();
  const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-site-bench-"));
  try {
    const built = await buildSite(dir);
    print(
      `page code and styles: ${(built.bytes / 1024).toFixed(1)} KB, ${(built.gzipBytes / 1024).toFixed(1)} KB gzipped (budget 300 KB gzipped; basemaps aside)`,
    );
    const { zodMini, fullZod } = await validationSizes();
    const kb = (size: { bytes: number; gzipBytes: number }) =>
      `${(size.bytes / 1024).toFixed(1)} KB, ${(size.gzipBytes / 1024).toFixed(1)} KB gzipped`;
    print(`the page's JSON checks (site/src/validate.ts, zod/mini), bundled alone: ${kb(zodMini)}`);
    print(
      `clusters.json's contract in full zod (batch-contract.ts), bundled alone: ${kb(fullZod)}`,
    );
    let started = performance.now();
    const document = buildClusters(venues(), loadGazetteer(50_000), {
      kMin: 30,
      kMax: 40,
      seed: 1,
    });
    const clusters = JSON.stringify({
      dates: { first: "2026-11-26", last: "2026-11-26" },
      ...document,
    });
    print(
      `clusters.json of ${VENUES.toLocaleString("en-US")} venues: k = ${document.k}, ${(clusters.length / 1024).toFixed(0)} KB (built in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    writeFileSync(join(dir, "clusters.json"), clusters);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ countsApiUrl: "/api" }));
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({
        range: "yesterday",
        dates: { first: "2026-11-26", last: "2026-11-26" },
        startedAt: "2026-11-27T02:00:00Z",
        finishedAt: "2026-11-27T02:10:00Z",
        durationSeconds: 600,
        counts: {
          venues: VENUES,
          venuesClustered: VENUES,
          venuesWithoutPosition: 0,
          rsvps: 1,
          clusters: document.k,
        },
      }),
    );
    writeFileSync(join(dir, "cities.json"), JSON.stringify({ cities: [] }));

    const server = createServer((request, response) => {
      const path =
        normalize(new URL(request.url ?? "/", "http://x").pathname).replace(/^\/+/, "") ||
        "index.html";
      try {
        const body = readFileSync(join(dir, path));
        response
          .writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" })
          .end(body);
      } catch {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    const times: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        // A fresh context each time: nothing cached, as for a first visitor.
        const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
        const page = await context.newPage();
        started = performance.now();
        await page.goto(url);
        await page.waitForSelector("#map[data-state='ready'][data-drawn-ms]", { timeout: 30_000 });
        times.push(Number(await page.getAttribute("#map", "data-drawn-ms")));
        await context.close();
      }
    } finally {
      await browser.close();
      server.close();
    }
    const sorted = [...times].sort((a, b) => a - b);
    print(
      `headless Chromium, navigation to the first frame with the clusters drawn (${RUNS} fresh loads): median ${sorted[Math.floor(RUNS / 2)]} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms (target: within 1,000 ms)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
