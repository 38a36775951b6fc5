/**
 * The ingest image runs esbuild bundles of tasks/ingest/main.ts and, for the replay-feed
 * task, tasks/replay-feed/main.ts (see tasks/Dockerfile). Docker cannot run here,
 * so this builds the same bundles and starts them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";

const outDir = mkdtempSync(join(tmpdir(), "rsvp-atlas-bundle-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Bundles `entry` with the Dockerfile's flags and runs it without configuration. */
async function bundleAndRun(entry: string, name: string) {
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [join(repoRoot, entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    outfile,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  // Run from a folder without node_modules: everything must be in the bundle.
  return spawnSync(process.execPath, [outfile], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
  });
}

describe("ingest task bundle", () => {
  it("bundles into one ESM file that starts and checks its configuration", async () => {
    const run = await bundleAndRun("tasks/ingest/main.ts", "ingest");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid configuration: FEED_URL: not set/);
    expect(run.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 60_000);
});

describe("replay-feed task bundle", () => {
  it("bundles into one ESM file that starts and checks its configuration", async () => {
    const run = await bundleAndRun("tasks/replay-feed/main.ts", "replay-feed");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid configuration: SOURCE_URI: not set/);
    expect(run.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 60_000);
});
