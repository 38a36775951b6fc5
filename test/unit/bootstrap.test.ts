/**
 * The entry of every npm script, on a machine that lacks a prerequisite: one clear message
 * naming it, exit code 2, nothing installed. And on a set-up machine: no reinstall.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";

const madeDirs: string[] = [];
afterAll(() => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

/** A PATH like this machine's, but without the named commands. */
function pathWithout(...hidden: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-path-"));
  madeDirs.push(dir);
  const linked = new Set(hidden);
  for (const entry of (process.env.PATH ?? "").split(":")) {
    let names: string[];
    try {
      names = readdirSync(entry);
    } catch {
      continue;
    }
    for (const name of names) {
      if (linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(entry, name), join(dir, name));
    }
  }
  return dir;
}

const PYTHONS = ["python3", "python3.11", "python3.12", "python"];

function bootstrap(command: string, path: string, args: string[] = []) {
  return spawnSync(process.execPath, ["local/bootstrap.mjs", command, ...args], {
    cwd: repoRoot,
    env: { ...process.env, PATH: path },
    encoding: "utf8",
  });
}

describe("bootstrap prerequisites", () => {
  it("names Java when it is missing", () => {
    const result = bootstrap("test", pathWithout("java"));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Java 17\+ is required .*`java` was not found/);
    expect(result.stderr).not.toMatch(/Maven|Python/);
  });

  it("refuses a Java too new for Spark 3.5, naming the one it needs", () => {
    // A stand-in `java` first on PATH, answering as Java 24 does.
    const dir = mkdtempSync(join(tmpdir(), "java-24-"));
    writeFileSync(
      join(dir, "java"),
      `#!/bin/sh\necho 'openjdk version "24.0.1" 2025-04-15' >&2\n`,
      { mode: 0o755 },
    );
    const result = bootstrap("test", `${dir}${delimiter}${process.env.PATH ?? ""}`);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Java 24 is too new for the local Spark 3\.5 .*Java 17/);
  });

  it("runs the dev tools of npm run lint and typecheck through it (npm ci first on a fresh clone), and names a tool it does not have", () => {
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    for (const name of [
      "lint",
      "format",
      "typecheck",
      "build:site",
      "bundle:ingest",
      "bundle:replay",
    ])
      expect(scripts[name], name).toMatch(/^node local\/bootstrap\.mjs tool /);
    const version = bootstrap("tool", process.env.PATH ?? "", ["tsc", "--version"]);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^Version \d+\.\d+/);
    const missing = bootstrap("tool", process.env.PATH ?? "", ["no-such-tool"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no tool "no-such-tool" in node_modules/.bin');
  });

  it("takes relative paths from where it is run, npm or not (INIT_CWD, else its own directory)", () => {
    const here = mkdtempSync(join(tmpdir(), "bootstrap-cwd-"));
    const { INIT_CWD: _unset, ...environment } = process.env;
    const direct = spawnSync(
      process.execPath,
      [join(repoRoot, "local", "bootstrap.mjs"), "synth", "--count", "1", "--out", "feed.jsonl"],
      { cwd: here, env: environment, encoding: "utf8" },
    );
    expect(direct.status, direct.stderr).toBe(0);
    expect(readFileSync(join(here, "feed.jsonl"), "utf8").trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(repoRoot, "feed.jsonl"))).toBe(false);
  });

  it("names Maven when it is missing", () => {
    const result = bootstrap("start", pathWithout("mvn"));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Maven is required .*`mvn` was not found/);
  });

  it("names Python when it is missing", () => {
    const result = bootstrap("test", pathWithout(...PYTHONS));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Python 3\.11\+ .* is required/);
  });

  it("asks nothing of Java, Maven or Python for commands that do not need them", () => {
    const result = spawnSync(process.execPath, ["local/bootstrap.mjs", "synth", "--count", "2"], {
      cwd: repoRoot,
      env: { ...process.env, PATH: pathWithout("java", "mvn", ...PYTHONS) },
      encoding: "utf8",
    });
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(2);
    // node_modules is current (vitest runs from it), so npm ci is not run again.
    expect(result.stderr).not.toMatch(/npm ci/);
  });

  it("rejects an unknown command with its usage", () => {
    const result = bootstrap("deploy", process.env.PATH ?? "");
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /usage: node local\/bootstrap\.mjs <start\|test\|stack\|synth\|replay\|bench\|chaos\|batch\|batch-aws\|tool>/,
    );
  });
});
