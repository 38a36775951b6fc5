/**
 * What a newcomer sees: `npm start -- --input FILE` replays a recording, runs the daily batch
 * once it is played, and serves the website with the live local API. Headless Chromium opens
 * the printed URL once the batch is done and takes the screenshot
 * .cache/artifacts/screenshots/npm-start-site.png: the counts table and the labelled map.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { chromiumPath } from "../../local/setup/chromium.js";
import { cacheDir, repoRoot } from "../../local/setup/paths.js";
import { waitUntilGone } from "../support/processes.js";
import { hasSharedData, sharedDataDir } from "../support/shared-data.js";

/** The recorded sample beside the repo, or (in a fresh clone) a synthetic recording. */
function recording(): { file: string; what: string } {
  if (hasSharedData)
    return { file: join(sharedDataDir, "rsvps-sample.jsonl"), what: "the recorded sample" };
  const lines: string[] = [];
  for (const line of syntheticLines({ seed: "site", startTime: Date.now() - 3_600_000 })) {
    lines.push(line);
    if (lines.length === 1500) break;
  }
  const file = join(mkdtempSync(join(tmpdir(), "rsvp-atlas-site-")), "feed.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { file, what: "a synthetic recording (../shared/data is absent, as in a fresh clone)" };
}

const { file, what } = recording();

describe("npm start -- --input FILE", () => {
  it(`serves the website with the live counts and, once the batch has run, the labelled map of ${what}`, async () => {
    const child = spawn(
      process.execPath,
      [
        "local/bootstrap.mjs",
        "start",
        "--input",
        file,
        "--rate",
        "300",
        "--batch-every",
        "0",
        "--api-port",
        "0",
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let output = "";
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    const mapped = new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (chunk) => {
        output += chunk;
        const site = output.match(/site: (http:\/\/127\.0\.0\.1:\d+)\//)?.[1];
        if (site && /the map: /.test(output)) resolve(site);
        if (/daily batch failed/.test(output)) reject(new Error(`the batch failed:\n${output}`));
      });
      void exited.then(() => reject(new Error(`npm start exited early:\n${output}`)));
    });
    try {
      const site = await mapped;
      const browser = await chromium.launch({
        executablePath: chromiumPath(),
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--no-first-run",
        ],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await page.goto(`${site}/#country=us&day=all`);
        await page.waitForSelector("#map[data-state='ready']", { timeout: 30_000 });
        await page.waitForSelector("#live[data-state='ok']", { timeout: 30_000 });
        await page.waitForFunction(
          () => document.querySelectorAll("#counts-body tr td").length > 0,
        );
        const legend = await page.locator("#legend li").allTextContents();
        expect(legend.length).toBeGreaterThan(3);
        for (const item of legend) expect(item).toMatch(/\S+: \S+/);
        mkdirSync(join(cacheDir, "artifacts", "screenshots"), { recursive: true });
        await page.screenshot({
          path: join(cacheDir, "artifacts", "screenshots", "npm-start-site.png"),
          fullPage: true,
        });
      } finally {
        await browser.close();
      }
    } finally {
      if (child.pid) process.kill(-child.pid, "SIGINT");
      expect(await exited, output).toBe(0);
      if (child.pid) expect(await waitUntilGone([child.pid])).toEqual([]);
    }
  }, 600_000);
});
