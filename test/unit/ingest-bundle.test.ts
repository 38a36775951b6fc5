/**
 * The ingest image runs esbuild bundles of tasks/ingest/main.ts and, for the replay-feed
 * task, tasks/replay-feed/main.ts (see tasks/Dockerfile). Docker cannot run here, so this
 * reads the Dockerfile's esbuild commands, checks that `npm run bundle:ingest` and
 * `npm run bundle:replay` make the same bundles, and builds and starts them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";

const outDir = mkdtempSync(join(tmpdir(), "rsvp-atlas-bundle-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** A command line's words, as the shell splits them (the quoting these commands use). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? "",
  );
}

/** An esbuild command: its entry point, and its flags but where the bundle goes. */
function esbuildCommand(words: string[]) {
  const [entry, ...flags] = words;
  return { entry, flags: flags.filter((flag) => !flag.startsWith("--outfile=")) };
}

const dockerfile = readFileSync(join(repoRoot, "tasks/Dockerfile"), "utf8");
/** The image's bundles, as tasks/Dockerfile makes them. */
const imageBundles = [
  ...dockerfile.replace(/\\\n\s*/g, " ").matchAll(/^RUN npx esbuild (.+)$/gm),
].map((match) => esbuildCommand(shellWords(match[1] ?? "")));

const scripts = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;
/** The same bundles made locally by `npm run <script>`. */
function scriptBundle(script: string) {
  const words = shellWords(scripts[script] ?? "");
  expect(words.slice(0, 4), script).toEqual(["node", "local/bootstrap.mjs", "tool", "esbuild"]);
  return esbuildCommand(words.slice(4));
}

/** Bundles `entry` with the Dockerfile's flags and runs it without configuration. */
function bundleAndRun(entry: string, name: string) {
  const flags = imageBundles.find((bundle) => bundle.entry === entry)?.flags;
  expect(flags, `tasks/Dockerfile bundles ${entry}`).toBeDefined();
  const outfile = join(outDir, `${name}.mjs`);
  const built = spawnSync(
    join(repoRoot, "node_modules", ".bin", "esbuild"),
    [entry, ...(flags ?? []), `--outfile=${outfile}`, "--log-level=error"],
    { cwd: repoRoot, encoding: "utf8" },
  );
  expect(built.status, built.stderr).toBe(0);
  // Run from a folder without node_modules: everything must be in the bundle.
  return spawnSync(process.execPath, [outfile], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
  });
}

describe("the task bundles' esbuild flags", () => {
  it("are the same in tasks/Dockerfile and in package.json's bundle:ingest and bundle:replay", () => {
    expect(imageBundles.map((bundle) => bundle.entry)).toEqual([
      "tasks/ingest/main.ts",
      "tasks/replay-feed/main.ts",
    ]);
    expect(imageBundles).toEqual([scriptBundle("bundle:ingest"), scriptBundle("bundle:replay")]);
    // The words were read whole: no quote left inside one.
    for (const { flags } of imageBundles) for (const flag of flags) expect(flag).not.toContain('"');
  });
});

describe("ingest task bundle", () => {
  it("bundles into one ESM file that starts and checks its configuration", () => {
    const run = bundleAndRun("tasks/ingest/main.ts", "ingest");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid configuration: FEED_URL: not set/);
    expect(run.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 60_000);
});

describe("replay-feed task bundle", () => {
  it("bundles into one ESM file that starts and checks its configuration", () => {
    const run = bundleAndRun("tasks/replay-feed/main.ts", "replay-feed");
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/invalid configuration: SOURCE_URI: not set/);
    expect(run.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 60_000);
});
