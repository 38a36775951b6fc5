/**
 * Clustering venues (`npm run bench:cluster`): this project's k-means
 * (functions/clustering/spherical-kmeans.ts) against scikit-learn's KMeans and ml-kmeans 7, on
 * the same generated venue sets of 10^4, 10^5 and 10^6 venues (bench/venue-sets.ts), the same
 * k and the same objective for all three: the weighted sum of squared Euclidean distances from
 * the venues' 3-D unit vectors to their cluster means (weights: RSVP counts).
 *
 * - ours: default options, seed 1; the median time of 3 runs (same seed, same result), and the
 *   spread of the inertia over seeds 1-5.
 * - scikit-learn (bench/sklearn_kmeans.py in the venv, sample_weight = the weights):
 *   init="k-means++", n_init=1 (the median time of 3 runs with its default threads, and one run
 *   on a single thread), and the best inertia of n_init=10.
 * - ml-kmeans: k-means++, its default options. It takes no weights, so it clusters the
 *   unweighted venues; its inertia here is the weighted objective of its partition (each cluster
 *   at its weighted mean, the best centroids for that partition).
 *
 * Target at 10^6 venues: our time at most scikit-learn's n_init=1 time, and our inertia within
 * 0.5 % of its best over n_init=10.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { kmeans } from "ml-kmeans";
import { type KMeansResult, sphericalKMeans } from "../functions/clustering/spherical-kmeans.js";
import { repoRoot, venvBin } from "../local/setup/paths.js";
import { ensurePythonVenv } from "../local/setup/python-venv.js";
import { type VenueSet, venueSet } from "./venue-sets.js";

const K = 20;
const SEED = 1;
const SIZES = [10_000, 100_000, 1_000_000];
const REPEAT = 3;
const SPREAD_SEEDS = [1, 2, 3, 4, 5];
const TARGET_GAP = 0.005;

interface SklearnFigures {
  sklearn: string;
  numpy: string;
  threads: number | null;
  single: { seconds: number; inertia: number; iterations: number; oneThreadSeconds: number };
  best: { nInit: number; seconds: number; inertia: number; iterations: number };
}

interface Row {
  n: number;
  ours: { ms: number; iterations: number; inertia: number; searchPoints: number };
  spread: { minGap: number; maxGap: number; minMs: number; maxMs: number };
  sklearn: SklearnFigures;
  ml: { ms: number; iterations: number; inertia: number };
}

const say = (line: string) => process.stderr.write(`[bench:cluster] ${line}\n`);

export async function run(print: (line: string) => void): Promise<void> {
  await ensurePythonVenv();
  const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-cluster-bench-"));
  try {
    // Warm-up: V8 compiles the hot loops on the first runs, as scikit-learn's first fit pays
    // for its imports and thread pool (bench/sklearn_kmeans.py warms up too).
    const warmUp = venueSet(20_000, "warm-up");
    for (let i = 0; i < 3; i++) sphericalKMeans(warmUp.vectors, warmUp.weights, { k: K });

    print(
      `k = ${K}, seed ${SEED}; load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} (other processes slow both sides)`,
    );
    // All of ours first, then scikit-learn, then ml-kmeans: ml-kmeans leaves millions of small
    // arrays to the garbage collector, which would otherwise bill our next run for them.
    const sets = SIZES.map((n) => prepare(n, dir));
    const ours = sets.map(measureOurs);
    const sklearn = sets.map((set) => {
      say(
        `${set.n.toLocaleString("en-US")} venues: scikit-learn (n_init=1 three times, n_init=10)`,
      );
      return runSklearn(set.vectorsPath, set.weightsPath);
    });
    const ml = sets.map((set) => {
      say(`${set.n.toLocaleString("en-US")} venues: ml-kmeans`);
      return runMlKmeans(set.set);
    });
    const rows = sets.map((set, i) => toRow(set.n, ours[i], sklearn[i], ml[i]));
    printTable(rows, print);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Prepared {
  n: number;
  set: VenueSet;
  vectorsPath: string;
  weightsPath: string;
}

function prepare(n: number, dir: string): Prepared {
  say(`${n.toLocaleString("en-US")} venues: generating`);
  const set = venueSet(n);
  const vectorsPath = join(dir, `vectors-${n}.f64`);
  const weightsPath = join(dir, `weights-${n}.f64`);
  writeFileSync(vectorsPath, set.vectors);
  writeFileSync(weightsPath, set.weights);
  return { n, set, vectorsPath, weightsPath };
}

interface Ours {
  result: KMeansResult;
  ms: number;
  spread: { ms: number; inertia: number }[];
}

function measureOurs({ n, set }: Prepared): Ours {
  say(`${n.toLocaleString("en-US")} venues: ours`);
  const timings: number[] = [];
  let result: KMeansResult | undefined;
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    result = sphericalKMeans(set.vectors, set.weights, { k: K, seed: SEED });
    timings.push(performance.now() - started);
  }
  if (!result) throw new Error("unreachable");
  const spread = SPREAD_SEEDS.map((seed) => {
    const started = performance.now();
    const { inertia } = sphericalKMeans(set.vectors, set.weights, { k: K, seed });
    return { ms: performance.now() - started, inertia };
  });
  return { result, ms: median(timings), spread };
}

function toRow(
  n: number,
  ours: Ours | undefined,
  sklearn: SklearnFigures | undefined,
  ml: Row["ml"] | undefined,
): Row {
  if (!ours || !sklearn || !ml) throw new Error("unreachable: a figure is missing");
  const gap = (inertia: number) => inertia / sklearn.best.inertia - 1;
  const { result, spread } = ours;
  return {
    n,
    ours: {
      ms: ours.ms,
      iterations: result.iterations,
      inertia: result.inertia,
      searchPoints: result.searchPoints,
    },
    spread: {
      minGap: Math.min(...spread.map((r) => gap(r.inertia))),
      maxGap: Math.max(...spread.map((r) => gap(r.inertia))),
      minMs: Math.min(...spread.map((r) => r.ms)),
      maxMs: Math.max(...spread.map((r) => r.ms)),
    },
    sklearn,
    ml,
  };
}

function runSklearn(vectorsPath: string, weightsPath: string): SklearnFigures {
  const script = join(repoRoot, "bench", "sklearn_kmeans.py");
  const args = [script, "--vectors", vectorsPath, "--weights", weightsPath];
  args.push("--k", String(K), "--seed", String(SEED), "--n-init", "10", "--repeat", String(REPEAT));
  const result = spawnSync(venvBin("python"), args, {
    encoding: "utf8",
    maxBuffer: 16 * 2 ** 20,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    throw new Error(`bench/sklearn_kmeans.py failed (${result.status}):\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as SklearnFigures;
}

/** ml-kmeans on arrays of arrays, unweighted; its partition scored with the weighted objective. */
function runMlKmeans(set: VenueSet): { ms: number; iterations: number; inertia: number } {
  const { vectors, weights } = set;
  const n = weights.length;
  const rows = Array.from({ length: n }, (_, i) => [
    vectors[3 * i] as number,
    vectors[3 * i + 1] as number,
    vectors[3 * i + 2] as number,
  ]);
  const started = performance.now();
  const result = kmeans(rows, K, { seed: SEED, initialization: "kmeans++" });
  const ms = performance.now() - started;

  const sums = new Float64Array(3 * K);
  const mass = new Float64Array(K);
  result.clusters.forEach((c, i) => {
    const w = weights[i] as number;
    for (let axis = 0; axis < 3; axis++) {
      sums[3 * c + axis] = (sums[3 * c + axis] as number) + w * (vectors[3 * i + axis] as number);
    }
    mass[c] = (mass[c] as number) + w;
  });
  let inertia = 0;
  result.clusters.forEach((c, i) => {
    for (let axis = 0; axis < 3; axis++) {
      const mean = (sums[3 * c + axis] as number) / (mass[c] as number);
      inertia += (weights[i] as number) * ((vectors[3 * i + axis] as number) - mean) ** 2;
    }
  });
  return { ms, iterations: result.iterations, inertia };
}

function printTable(rows: Row[], print: (line: string) => void): void {
  const first = rows[0];
  if (!first) return;
  const seconds = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
  const ms = (value: number) => seconds(value / 1000);
  const percent = (value: number) => `${value >= 0 ? "+" : ""}${(value * 100).toFixed(2)} %`;
  const gap = (row: Row, inertia: number) => percent(inertia / row.sklearn.best.inertia - 1);
  print(
    `scikit-learn ${first.sklearn.sklearn} (numpy ${first.sklearn.numpy}, ${first.sklearn.threads ?? "?"} OpenMP threads), ml-kmeans 7.0.1; ours single-threaded in Node ${process.version}`,
  );
  print(
    "inertia: Σ weight × squared distance to the cluster mean (lower is better); gap: vs scikit-learn's best of n_init=10",
  );
  print("");
  print(
    "| venues | ours: time | ours: inertia (gap) | ours, seeds 1-5: gap, time | scikit-learn n_init=1: time (1 thread) | n_init=1: inertia (gap) | n_init=10: best inertia (time) | ml-kmeans: time | ml-kmeans: inertia (gap) |",
  );
  print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const { ours, spread, sklearn, ml } = row;
    print(
      `| ${row.n.toLocaleString("en-US")} | ${ms(ours.ms)} | ${ours.inertia.toFixed(1)} (${gap(row, ours.inertia)}) | ${percent(spread.minGap)} to ${percent(spread.maxGap)}, ${ms(spread.minMs)}-${ms(spread.maxMs)} | ${seconds(sklearn.single.seconds)} (${seconds(sklearn.single.oneThreadSeconds)}) | ${sklearn.single.inertia.toFixed(1)} (${gap(row, sklearn.single.inertia)}) | ${sklearn.best.inertia.toFixed(1)} (${seconds(sklearn.best.seconds)}) | ${ms(ml.ms)} | ${ml.inertia.toFixed(1)} (${gap(row, ml.inertia)}) |`,
    );
  }
  print("");
  for (const row of rows) {
    print(
      `${row.n.toLocaleString("en-US")} venues: ours searched on ${row.ours.searchPoints.toLocaleString("en-US")} ${row.ours.searchPoints < row.n ? "grid cells" : "venues"}, then ${row.ours.iterations} Lloyd iteration(s) on all venues; scikit-learn n_init=1 ran ${row.sklearn.single.iterations} iterations, ml-kmeans ${row.ml.iterations}`,
    );
  }
  const last = rows[rows.length - 1];
  if (last?.n !== 1_000_000) return;
  const fast = last.ours.ms / 1000 <= last.sklearn.single.seconds;
  const close = last.ours.inertia / last.sklearn.best.inertia - 1 <= TARGET_GAP;
  print("");
  print(
    `target at 10^6, time: ours ${ms(last.ours.ms)} vs scikit-learn n_init=1 ${seconds(last.sklearn.single.seconds)} (${last.sklearn.threads ?? "?"} threads; ${seconds(last.sklearn.single.oneThreadSeconds)} on 1 thread): ${fast ? "MET" : "MISSED"}`,
  );
  print(
    `target at 10^6, inertia: ours ${last.ours.inertia.toFixed(1)} vs scikit-learn best of ${last.sklearn.best.nInit} ${last.sklearn.best.inertia.toFixed(1)}: ${gap(last, last.ours.inertia)} (at most +0.50 %): ${close ? "MET" : "MISSED"}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
