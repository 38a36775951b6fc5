/**
 * The ingest task's image runs an esbuild bundle of functions/ingest/main.ts (see its
 * Dockerfile). Docker cannot run here, so this builds the same bundle and starts it.
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

describe("ingest task bundle", () => {
  it("bundles into one ESM file that starts and checks its configuration", async () => {
    const outfile = join(outDir, "ingest.mjs");
    await build({
      entryPoints: [join(repoRoot, "functions/ingest/main.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile,
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: "silent",
    });
    // Run from a folder without node_modules: everything must be in the bundle.
    const run = spawnSync(process.execPath, [outfile], {
      cwd: outDir,
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid configuration: FEED_URL: not set/);
    expect(run.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 60_000);
});
