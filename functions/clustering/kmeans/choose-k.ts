/** Choosing k: a k-means for every k of a range, scored by silhouette. */
import { seededRandom } from "../../shared/seeded-random.js";
import { type KMeansResult, sphericalKMeans } from "./search.js";

export interface ChooseKOptions {
  kMin: number;
  kMax: number;
  seed?: number;
  /** Points used to score a k (the silhouette is quadratic in them). */
  sampleSize?: number;
}

export interface ChosenK {
  result: KMeansResult;
  /** The weighted mean silhouette of every k tried, for the run report. */
  scores: { k: number; silhouette: number }[];
}

/**
 * Runs k-means for every k in [kMin, kMax] and keeps the one with the highest weighted mean
 * silhouette (how much closer each point is to its own cluster than to the next one, in
 * [-1, 1]). It needs no tuning constant and penalizes both merged and split clusters. Scored
 * on a seeded sample of at most `sampleSize` points; angles are the distances.
 */
export function chooseK(
  vectors: Float64Array,
  weights: Float64Array,
  options: ChooseKOptions,
): ChosenK {
  const n = weights.length;
  const seed = options.seed ?? 1;
  const kMax = Math.min(options.kMax, n);
  const kMin = Math.max(2, Math.min(options.kMin, kMax));
  const sample = sampleIndexes(n, options.sampleSize ?? 1500, seed);
  const angles = pairwiseAngles(vectors, sample);
  let best: { result: KMeansResult; silhouette: number } | undefined;
  const scores: { k: number; silhouette: number }[] = [];
  for (let k = kMin; k <= kMax; k++) {
    const result = sphericalKMeans(vectors, weights, { k, seed });
    const silhouette = weightedSilhouette(sample, angles, weights, result.assignments, k);
    scores.push({ k, silhouette });
    if (!best || silhouette > best.silhouette + 1e-12) best = { result, silhouette };
  }
  if (!best) throw new RangeError("no k to try");
  return { result: best.result, scores };
}

function sampleIndexes(n: number, size: number, seed: number): Int32Array {
  if (n <= size) return Int32Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed ^ 0x5bd1e995);
  const indexes = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (n - i));
    const swap = indexes[i] as number;
    indexes[i] = indexes[j] as number;
    indexes[j] = swap;
  }
  return indexes.slice(0, size);
}

function pairwiseAngles(vectors: Float64Array, sample: Int32Array): Float64Array {
  const m = sample.length;
  const angles = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      const i = sample[a] as number;
      const j = sample[b] as number;
      const dot =
        (vectors[3 * i] as number) * (vectors[3 * j] as number) +
        (vectors[3 * i + 1] as number) * (vectors[3 * j + 1] as number) +
        (vectors[3 * i + 2] as number) * (vectors[3 * j + 2] as number);
      const angle = Math.acos(Math.max(-1, Math.min(1, dot)));
      angles[a * m + b] = angle;
      angles[b * m + a] = angle;
    }
  }
  return angles;
}

function weightedSilhouette(
  sample: Int32Array,
  angles: Float64Array,
  weights: Float64Array,
  assignments: Int32Array,
  k: number,
): number {
  const m = sample.length;
  const sumTo = new Float64Array(k);
  const weightIn = new Float64Array(k);
  let total = 0;
  let totalWeight = 0;
  for (let a = 0; a < m; a++) {
    sumTo.fill(0);
    weightIn.fill(0);
    const own = assignments[sample[a] as number] as number;
    for (let b = 0; b < m; b++) {
      if (a === b) continue;
      const j = sample[b] as number;
      const c = assignments[j] as number;
      const w = weights[j] as number;
      sumTo[c] = (sumTo[c] as number) + w * (angles[a * m + b] as number);
      weightIn[c] = (weightIn[c] as number) + w;
    }
    const w = weights[sample[a] as number] as number;
    totalWeight += w;
    if ((weightIn[own] as number) === 0) continue; // a singleton scores 0
    const inner = (sumTo[own] as number) / (weightIn[own] as number);
    let nearestOther = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      if (c !== own && (weightIn[c] as number) > 0)
        nearestOther = Math.min(nearestOther, (sumTo[c] as number) / (weightIn[c] as number));
    }
    if (!Number.isFinite(nearestOther)) continue;
    const spread = Math.max(inner, nearestOther);
    total += w * (spread > 0 ? (nearestOther - inner) / spread : 0);
  }
  return totalWeight > 0 ? total / totalWeight : 0;
}
