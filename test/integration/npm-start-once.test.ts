/**
 * `npm start -- --input FILE.jsonl --once --json`: a recording replayed through the whole
 * streaming path, ending with exactly the counts a perfect counter would hold, then the daily
 * batch over what landed (the map of the recorded sample sits over real metro areas). Run
 * through npm itself, as a user does (`--silent`, without which npm's own banner comes first
 * on stdout), so what reaches stdout is the one JSON object.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ClustersDocument } from "../../functions/clustering/build-clusters.js";
import type { CitiesDocument } from "../../functions/clustering/city-topics.js";
import { distanceKm } from "../../functions/shared/geo.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import type { DayCount } from "../../local/pipeline/day-counts.js";
import { repoRoot } from "../../local/setup/paths.js";
import { countsByRule, type RuleRecord } from "../support/counting-rule.js";
import { spawnNode } from "../support/processes.js";
import {
  hasSharedData,
  SKIPPED_WITHOUT_SHARED_DATA,
  sharedDataDir,
} from "../support/shared-data.js";

interface OnceResult {
  received: number;
  counted: number;
  deadLettered: Record<string, number>;
  /** The city-counts event source: read, set aside uncounted after retries, dead-lettered. */
  cityCounts: { read: number; setAside: number; deadLettered: number };
  counts: DayCount[];
  batch?: { status: string; error?: { error: string; cause: string }; copied?: { files: number } };
}

/** npm's own script, as `npm test` (or npx) names it, else where Node's installer puts it. */
const npmCli =
  process.env.npm_execpath ??
  join(dirname(process.execPath), "../lib/node_modules/npm/bin/npm-cli.js");

/** How long one `npm start -- --once` may take here: a wait, not a measurement. */
const PIPELINE_TIMEOUT_MS = 300_000;

async function runOnce(
  file: string,
  out?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const outArgs = out ? ["--out", out] : [];
  const run = spawnNode(
    [npmCli, "start", "--silent", "--", "--input", file, "--once", "--json", ...outArgs],
    { cwd: repoRoot },
  );
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** What the counts must be: the README's counting rule over the records the domain parser accepts. */
function expectedFor(lines: string[]) {
  const parse = createRsvpParser();
  const records: RuleRecord[] = [];
  const rejected: Record<string, number> = {};
  for (const line of lines) {
    const result = parse(line);
    if (result.ok) records.push(result.record);
    else rejected[result.rejection.reason] = (rejected[result.rejection.reason] ?? 0) + 1;
  }
  const { counts, rsvps } = countsByRule(records);
  const sort = (list: OnceResult["counts"]) =>
    [...list].sort((a, b) =>
      `${a.day} ${a.country} ${a.state} ${a.city}`.localeCompare(
        `${b.day} ${b.country} ${b.state} ${b.city}`,
      ),
    );
  const perDay = [...counts.values()].filter((count) => count.day !== "all");
  return { rsvps, rejected, counts: sort(perDay), sort };
}

describe("npm start -- --input FILE --once --json", () => {
  it(
    "counts a replayed recording by the counting rule (updates, duplicates, stale versions, ties across partitions), with every rejected line dead-lettered",
    async () => {
      const lines: string[] = [];
      for (const line of syntheticLines({ seed: "once", malformedShare: 0.08 })) {
        lines.push(line);
        if (lines.length % 9 === 0) lines.push(line); // the feed sent this one twice
        // ... and, late, an earlier line again: a stale version when its RSVP changed since.
        if (lines.length % 13 === 0) lines.push(lines[lines.length - 20] ?? line);
        // A hostile tie: the same RSVP and mtime, the other answer, in another city (so on
        // another partition of the topic): the first to arrive must win, whichever partition
        // the counting reads first.
        if (lines.length % 11 === 0) {
          let tie: { response?: unknown; group?: { group_city?: unknown } } | null = null;
          try {
            tie = JSON.parse(line);
          } catch {
            // a malformed line: no tie of it
          }
          if (
            tie?.group &&
            typeof tie.group.group_city === "string" &&
            (tie.response === "yes" || tie.response === "no")
          ) {
            tie.response = tie.response === "yes" ? "no" : "yes";
            tie.group.group_city = `${tie.group.group_city} Heights`;
            lines.push(JSON.stringify(tie));
          }
        }
        if (lines.length >= 250) break;
      }
      const file = join(mkdtempSync(join(tmpdir(), "rsvp-atlas-once-")), "feed.jsonl");
      writeFileSync(file, `${lines.join("\n")}\n`);
      const { code, stdout, stderr } = await runOnce(file);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as OnceResult;
      const expected = expectedFor(lines);
      expect(result.received).toBe(lines.length);
      expect(result.counted).toBe(expected.rsvps);
      expect(result.deadLettered).toEqual(expected.rejected);
      // Every valid line reached city-counts and was counted: none set aside, none dead-lettered.
      const rejected = Object.values(expected.rejected).reduce((sum, n) => sum + n, 0);
      expect(result.cityCounts).toEqual({
        read: lines.length - rejected,
        setAside: 0,
        deadLettered: 0,
      });
      expect(expected.sort(result.counts)).toEqual(expected.counts);
      // --once also runs the daily batch over what landed.
      expect(result.batch?.status, JSON.stringify(result.batch)).toBe("SUCCEEDED");
      // The whole local pipeline, Spark included: about a minute on its own, and past the
      // integration project's 120 s on a machine busy with other runs (it timed out once so).
    },
    PIPELINE_TIMEOUT_MS,
  );

  it.skipIf(!hasSharedData)(
    `counts the recorded sample exactly and maps it over real metro areas${SKIPPED_WITHOUT_SHARED_DATA}`,
    async () => {
      const file = join(sharedDataDir, "rsvps-sample.jsonl");
      const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
      const out = mkdtempSync(join(tmpdir(), "rsvp-atlas-site-"));
      const { code, stdout, stderr } = await runOnce(file, out);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as OnceResult;
      const expected = expectedFor(lines);
      expect(result).toMatchObject({
        received: 1247,
        counted: 1247,
        deadLettered: {},
        cityCounts: { read: 1247, setAside: 0, deadLettered: 0 },
      });
      expect(expected.sort(result.counts)).toEqual(expected.counts);
      // Every US count carries its state, so same-named cities of different states stay apart.
      expect(result.counts.filter((c) => c.country === "us" && c.state === null)).toEqual([]);

      // The map: --out holds what the site bucket serves.
      expect(result.batch?.status, JSON.stringify(result.batch)).toBe("SUCCEEDED");
      for (const name of ["map.png", "clusters.json", "cities.json", "run.json", "index.html"]) {
        expect(existsSync(join(out, name)), name).toBe(true);
      }
      const clusters = JSON.parse(
        readFileSync(join(out, "clusters.json"), "utf8"),
      ) as ClustersDocument;
      // Clusters of the real data sit over real metro areas, named after them (alone, or with
      // a second city of the cluster: "San Francisco–San Jose").
      for (const metro of [
        { name: "New York City", lat: 40.71, lon: -74.01 },
        { name: "San Francisco", lat: 37.77, lon: -122.42 },
        { name: "London", lat: 51.51, lon: -0.13 },
      ]) {
        const over = clusters.clusters.find(
          (cluster) =>
            distanceKm(cluster.centroid, metro) < 60 &&
            (cluster.label.split(": ")[0] ?? "").split("–").includes(metro.name),
        );
        expect(
          over,
          `a cluster over ${metro.name}: ${clusters.clusters.map((c) => c.label).join(", ")}`,
        ).toBeDefined();
      }
      const cities = JSON.parse(readFileSync(join(out, "cities.json"), "utf8")) as CitiesDocument;
      expect(cities.cities.slice(0, 5).map((city) => city.name)).toContain("New York City");
      const run = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as { dates: unknown };
      expect(run.dates).toEqual({ first: "2017-05-06", last: expect.stringMatching(/^2018-/) });
    },
    PIPELINE_TIMEOUT_MS,
  );
});
