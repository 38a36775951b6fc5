/**
 * Weighted spherical k-means: clusters venues on the sphere, not on raw lat/lon. Each venue is a
 * 3-D unit vector; similarity is the dot product (the cosine of the angle between two places);
 * a centroid is the normalized weighted sum of its members (their mean direction). So Fiji at
 * 179.9°E and at 179.9°W are neighbours, and points around a pole cluster around the pole,
 * which k-means on (lat, lon) gets wrong.
 *
 * Seeding is k-means++ (weighted, from a seeded PRNG), so results are reproducible. Vectors are
 * kept in flat Float64Arrays: 200k venues fit in 4.8 MB and one iteration is a tight loop.
 */

export interface GeoPoint {
  lat: number;
  lon: number;
  /** How much the point counts (RSVPs at a venue); must be > 0. */
  weight: number;
}

export interface KMeansOptions {
  k: number;
  seed?: number;
  maxIterations?: number;
  /** Also stop when no centroid moved more than this (radians; 1e-7 is about 0.6 m). */
  tolerance?: number;
}

export interface KMeansResult {
  k: number;
  /** k unit vectors, x y z each. */
  centroids: Float64Array;
  /** Cluster index of every point. */
  assignments: Int32Array;
  iterations: number;
  /** Weighted mean of (1 - cos) to the own centroid: 0 when every point sits on its centroid. */
  meanDistance: number;
}

const DEG = Math.PI / 180;

export function toUnitVectors(points: readonly GeoPoint[]): Float64Array {
  const vectors = new Float64Array(points.length * 3);
  points.forEach((point, i) => {
    const lat = point.lat * DEG;
    const lon = point.lon * DEG;
    vectors[3 * i] = Math.cos(lat) * Math.cos(lon);
    vectors[3 * i + 1] = Math.cos(lat) * Math.sin(lon);
    vectors[3 * i + 2] = Math.sin(lat);
  });
  return vectors;
}

/** Latitude and longitude (degrees, lon in [-180, 180]) of the direction of (x, y, z). */
export function toLatLon(x: number, y: number, z: number): { lat: number; lon: number } {
  const norm = Math.hypot(x, y, z) || 1;
  return { lat: Math.asin(Math.max(-1, Math.min(1, z / norm))) / DEG, lon: Math.atan2(y, x) / DEG };
}

/** A small seeded PRNG (mulberry32), so the same input and seed give the same clusters. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sphericalKMeans(
  vectors: Float64Array,
  weights: Float64Array,
  options: KMeansOptions,
): KMeansResult {
  const n = weights.length;
  const k = Math.min(options.k, n);
  if (k < 1) throw new RangeError("k-means needs at least one point and k >= 1");
  const random = seededRandom(options.seed ?? 1);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-7;

  const centroids = kMeansPlusPlus(vectors, weights, k, random);
  const assignments = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * 3);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // Converged when no point changes cluster: the centroids would not move again.
    if (assign(vectors, centroids, assignments) === 0) break;
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignments[i] as number;
      const w = weights[i] as number;
      sums[3 * c] = (sums[3 * c] as number) + w * (vectors[3 * i] as number);
      sums[3 * c + 1] = (sums[3 * c + 1] as number) + w * (vectors[3 * i + 1] as number);
      sums[3 * c + 2] = (sums[3 * c + 2] as number) + w * (vectors[3 * i + 2] as number);
    }
    let moved = 0;
    for (let c = 0; c < k; c++) {
      const x = sums[3 * c] as number;
      const y = sums[3 * c + 1] as number;
      const z = sums[3 * c + 2] as number;
      const norm = Math.hypot(x, y, z);
      // An empty cluster (or members that cancel out) takes the point worst served by its centroid.
      const [nx, ny, nz] =
        norm > 1e-12
          ? [x / norm, y / norm, z / norm]
          : farthestPoint(vectors, centroids, assignments);
      const dot =
        nx * (centroids[3 * c] as number) +
        ny * (centroids[3 * c + 1] as number) +
        nz * (centroids[3 * c + 2] as number);
      moved = Math.max(moved, Math.acos(Math.max(-1, Math.min(1, dot))));
      centroids[3 * c] = nx;
      centroids[3 * c + 1] = ny;
      centroids[3 * c + 2] = nz;
    }
    if (moved <= tolerance) {
      iterations += 1;
      break;
    }
  }
  assign(vectors, centroids, assignments);
  return {
    k,
    centroids,
    assignments,
    iterations,
    meanDistance: meanDistance(vectors, weights, centroids, assignments),
  };
}

function dotWith(vectors: Float64Array, i: number, centroids: Float64Array, c: number): number {
  return (
    (vectors[3 * i] as number) * (centroids[3 * c] as number) +
    (vectors[3 * i + 1] as number) * (centroids[3 * c + 1] as number) +
    (vectors[3 * i + 2] as number) * (centroids[3 * c + 2] as number)
  );
}

/** Assigns every point to its most similar centroid; returns how many assignments changed. */
function assign(vectors: Float64Array, centroids: Float64Array, assignments: Int32Array): number {
  const k = centroids.length / 3;
  let changed = 0;
  for (let i = 0; i < assignments.length; i++) {
    let best = 0;
    let bestDot = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const dot = dotWith(vectors, i, centroids, c);
      if (dot > bestDot) {
        bestDot = dot;
        best = c;
      }
    }
    if (assignments[i] !== best) changed += 1;
    assignments[i] = best;
  }
  return changed;
}

/** k-means++ on the sphere: each next seed is drawn with probability ∝ weight × (1 - cos)². */
function kMeansPlusPlus(
  vectors: Float64Array,
  weights: Float64Array,
  k: number,
  random: () => number,
): Float64Array {
  const n = weights.length;
  const centroids = new Float64Array(k * 3);
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const pick = (scores: (i: number) => number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) total += scores(i);
    if (total <= 0) return Math.floor(random() * n);
    let target = random() * total;
    for (let i = 0; i < n; i++) {
      target -= scores(i);
      if (target < 0) return i;
    }
    return n - 1;
  };
  let chosen = pick((i) => weights[i] as number);
  for (let c = 0; c < k; c++) {
    centroids[3 * c] = vectors[3 * chosen] as number;
    centroids[3 * c + 1] = vectors[3 * chosen + 1] as number;
    centroids[3 * c + 2] = vectors[3 * chosen + 2] as number;
    for (let i = 0; i < n; i++) {
      const distance = 1 - dotWith(vectors, i, centroids, c);
      if (distance < (nearest[i] as number)) nearest[i] = distance;
    }
    if (c + 1 < k)
      chosen = pick((i) => (weights[i] as number) * Math.max(0, nearest[i] as number) ** 2);
  }
  return centroids;
}

function farthestPoint(
  vectors: Float64Array,
  centroids: Float64Array,
  assignments: Int32Array,
): [number, number, number] {
  let worst = 0;
  let worstDot = Number.POSITIVE_INFINITY;
  for (let i = 0; i < assignments.length; i++) {
    const dot = dotWith(vectors, i, centroids, assignments[i] as number);
    if (dot < worstDot) {
      worstDot = dot;
      worst = i;
    }
  }
  return [
    vectors[3 * worst] as number,
    vectors[3 * worst + 1] as number,
    vectors[3 * worst + 2] as number,
  ];
}

function meanDistance(
  vectors: Float64Array,
  weights: Float64Array,
  centroids: Float64Array,
  assignments: Int32Array,
): number {
  let total = 0;
  let weight = 0;
  for (let i = 0; i < assignments.length; i++) {
    total +=
      (weights[i] as number) * (1 - dotWith(vectors, i, centroids, assignments[i] as number));
    weight += weights[i] as number;
  }
  return weight > 0 ? total / weight : 0;
}

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
