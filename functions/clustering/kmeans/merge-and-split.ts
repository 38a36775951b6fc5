/**
 * The local search of step 2, after each start's Lloyd run: merge-and-split moves, estimated
 * for every pair of clusters and tried best first. It escapes the minima where one centroid
 * serves two groups while two centroids share one.
 */
import { type Run, relloyd } from "./lloyd.js";

/**
 * Local search from a settled run: repeatedly remove the cluster that is cheapest to dissolve
 * into its neighbours and split the one that gains most from a split in two (along its
 * principal axis, then 2-means), rerun Lloyd, and keep the change if the inertia fell. Pairs
 * are tried in order of their estimated effect; the search ends after `maxFailures` failed
 * pairs in a row. Returns the best run and how many moves were kept.
 */
export function mergeAndSplit(
  points: { vectors: Float64Array; weights: Float64Array },
  start: Run,
  maxIterations: number,
  shiftTolerance: number,
  maxFailures: number,
): { run: Run; moves: number } {
  const k = start.centroids.length / 3;
  let run = start;
  let moves = 0;
  if (k < 2 || maxFailures <= 0) return { run, moves };
  const pairs: { remove: number; split: number; effect: number }[] = [];
  for (;;) {
    const { effect, halves } = moveEstimates(points, run);
    pairs.length = 0;
    for (let remove = 0; remove < k; remove++) {
      for (let split = 0; split < k; split++) {
        const e = effect[remove * k + split] as number;
        if (e < Number.POSITIVE_INFINITY) pairs.push({ remove, split, effect: e });
      }
    }
    pairs.sort((a, b) => a.effect - b.effect || a.remove - b.remove || a.split - b.split);
    let improved: Run | undefined;
    for (const { remove, split } of pairs.slice(0, maxFailures)) {
      const centroids = Float64Array.from(run.centroids);
      centroids.set(halves.subarray(6 * split, 6 * split + 3), 3 * remove);
      centroids.set(halves.subarray(6 * split + 3, 6 * split + 6), 3 * split);
      const trial = relloyd(run, centroids, [remove, split], points, maxIterations, shiftTolerance);
      if (trial.inertia < run.inertia * (1 - 1e-12)) {
        improved = trial;
        break;
      }
    }
    if (!improved) return { run, moves };
    run = improved;
    moves += 1;
  }
}

/**
 * Estimates every merge-and-split move of a run: `effect[remove * k + split]` is the change of
 * inertia if cluster `remove` were dissolved and cluster `split` split in two, before any Lloyd
 * iteration: the split's gain, and the removed cluster's points each going to the nearest of
 * the other centroids and the two new halves. Also returns the halves' centroids (x y z twice
 * per cluster; a cluster that cannot be split gets an infinite effect).
 */
function moveEstimates(
  points: { vectors: Float64Array; weights: Float64Array },
  run: Run,
): { effect: Float64Array; halves: Float64Array } {
  const { vectors, weights } = points;
  const { centroids, assignments } = run;
  const n = weights.length;
  const k = centroids.length / 3;
  // Members grouped by cluster (a counting sort), then every cluster's best split.
  const count = new Int32Array(k + 1);
  for (let i = 0; i < n; i++) {
    const c = assignments[i] as number;
    count[c + 1] = (count[c + 1] as number) + 1;
  }
  for (let c = 0; c < k; c++) count[c + 1] = (count[c + 1] as number) + (count[c] as number);
  const order = new Int32Array(n);
  const next = count.slice(0, k);
  for (let i = 0; i < n; i++) {
    const c = assignments[i] as number;
    order[next[c] as number] = i;
    next[c] = (next[c] as number) + 1;
  }
  const gain = new Float64Array(k);
  const halves = new Float64Array(6 * k);
  for (let c = 0; c < k; c++) {
    const members = order.subarray(count[c] as number, count[c + 1] as number);
    gain[c] = splitInTwo(vectors, weights, members, halves, 6 * c);
  }

  const effect = new Float64Array(k * k);
  const toCentroid = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const own = assignments[i] as number;
    const x = vectors[3 * i] as number;
    const y = vectors[3 * i + 1] as number;
    const z = vectors[3 * i + 2] as number;
    // The two nearest centroids other than the own one.
    let first = -1;
    let second = -1;
    for (let c = 0; c < k; c++) {
      const dx = x - (centroids[3 * c] as number);
      const dy = y - (centroids[3 * c + 1] as number);
      const dz = z - (centroids[3 * c + 2] as number);
      const d = dx * dx + dy * dy + dz * dz;
      toCentroid[c] = d;
      if (c === own) continue;
      if (first < 0 || d < (toCentroid[first] as number)) {
        second = first;
        first = c;
      } else if (second < 0 || d < (toCentroid[second] as number)) second = c;
    }
    const w = weights[i] as number;
    const stay = toCentroid[own] as number;
    const row = own * k;
    for (let split = 0; split < k; split++) {
      if (split === own) continue;
      // Without its centroid the point goes to the nearest other one, or to a half of `split`.
      const other = first === split ? second : first;
      let to = other < 0 ? Number.POSITIVE_INFINITY : (toCentroid[other] as number);
      for (let h = 0; h < 6; h += 3) {
        const dx = x - (halves[6 * split + h] as number);
        const dy = y - (halves[6 * split + h + 1] as number);
        const dz = z - (halves[6 * split + h + 2] as number);
        const d = dx * dx + dy * dy + dz * dz;
        if (d < to) to = d;
      }
      effect[row + split] = (effect[row + split] as number) + w * (to - stay);
    }
  }
  for (let remove = 0; remove < k; remove++) {
    for (let split = 0; split < k; split++) {
      const at = remove * k + split;
      effect[at] =
        split === remove || !((gain[split] as number) > 0)
          ? Number.POSITIVE_INFINITY
          : (effect[at] as number) - (gain[split] as number);
    }
  }
  return { effect, halves };
}

/**
 * Splits a cluster in two: by the side of the plane through its mean across its principal
 * axis, then a few 2-means iterations. Writes the halves' centroids at `out[at..at+6)` and
 * returns the inertia gained (0 when the cluster cannot be split).
 */
function splitInTwo(
  vectors: Float64Array,
  weights: Float64Array,
  members: Int32Array,
  out: Float64Array,
  at: number,
): number {
  if (members.length < 2) return 0;
  const sum = new Float64Array(4); // weight, x, y, z of all members
  for (const i of members) addPoint(sum, 0, vectors, weights, i);
  const total = sum[0] as number;
  const mx = (sum[1] as number) / total;
  const my = (sum[2] as number) / total;
  const mz = (sum[3] as number) / total;
  let xx = 0;
  let xy = 0;
  let xz = 0;
  let yy = 0;
  let yz = 0;
  let zz = 0;
  for (const i of members) {
    const w = weights[i] as number;
    const dx = (vectors[3 * i] as number) - mx;
    const dy = (vectors[3 * i + 1] as number) - my;
    const dz = (vectors[3 * i + 2] as number) - mz;
    xx += w * dx * dx;
    xy += w * dx * dy;
    xz += w * dx * dz;
    yy += w * dy * dy;
    yz += w * dy * dz;
    zz += w * dz * dz;
  }
  const before = xx + yy + zz;
  if (!(before > 0)) return 0;
  // The principal axis by power iteration (the covariance is 3 × 3 and symmetric).
  let [px, py, pz] = [xx + xy + xz, xy + yy + yz, xz + yz + zz];
  if (Math.hypot(px, py, pz) === 0) [px, py, pz] = [1, 0, 0];
  for (let step = 0; step < 30; step++) {
    const qx = xx * px + xy * py + xz * pz;
    const qy = xy * px + yy * py + yz * pz;
    const qz = xz * px + yz * py + zz * pz;
    const norm = Math.hypot(qx, qy, qz);
    if (norm === 0) break;
    [px, py, pz] = [qx / norm, qy / norm, qz / norm];
  }
  // Start from the two sides of the plane, then 2-means.
  const side = new Float64Array(8); // weight, x, y, z of side A then side B
  for (const i of members) {
    const x = vectors[3 * i] as number;
    const y = vectors[3 * i + 1] as number;
    const z = vectors[3 * i + 2] as number;
    const s = (x - mx) * px + (y - my) * py + (z - mz) * pz < 0 ? 0 : 4;
    addPoint(side, s, vectors, weights, i);
  }
  let after = before;
  for (let step = 0; step < 6; step++) {
    if (!((side[0] as number) > 0 && (side[4] as number) > 0)) return 0;
    const ax = (side[1] as number) / (side[0] as number);
    const ay = (side[2] as number) / (side[0] as number);
    const az = (side[3] as number) / (side[0] as number);
    const bx = (side[5] as number) / (side[4] as number);
    const by = (side[6] as number) / (side[4] as number);
    const bz = (side[7] as number) / (side[4] as number);
    out[at] = ax;
    out[at + 1] = ay;
    out[at + 2] = az;
    out[at + 3] = bx;
    out[at + 4] = by;
    out[at + 5] = bz;
    side.fill(0);
    after = 0;
    for (const i of members) {
      const x = vectors[3 * i] as number;
      const y = vectors[3 * i + 1] as number;
      const z = vectors[3 * i + 2] as number;
      const da = (x - ax) ** 2 + (y - ay) ** 2 + (z - az) ** 2;
      const db = (x - bx) ** 2 + (y - by) ** 2 + (z - bz) ** 2;
      after += (weights[i] as number) * Math.min(da, db);
      const s = da <= db ? 0 : 4;
      addPoint(side, s, vectors, weights, i);
    }
  }
  return before - after;
}

/** Adds point i to the sums at `sums[at..at+4)`: its weight, then weight × x, y and z. */
function addPoint(
  sums: Float64Array,
  at: number,
  vectors: Float64Array,
  weights: Float64Array,
  i: number,
): void {
  const w = weights[i] as number;
  sums[at] = (sums[at] as number) + w;
  sums[at + 1] = (sums[at + 1] as number) + w * (vectors[3 * i] as number);
  sums[at + 2] = (sums[at + 2] as number) + w * (vectors[3 * i + 1] as number);
  sums[at + 3] = (sums[at + 3] as number) + w * (vectors[3 * i + 2] as number);
}
