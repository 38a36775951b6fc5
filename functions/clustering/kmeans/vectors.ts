/**
 * The points of the k-means: venues as 3-D unit vectors in flat typed arrays (x y z per point),
 * and the distances and sums every step measures them with.
 */

export interface GeoPoint {
  lat: number;
  lon: number;
  /** How much the point counts (RSVPs at a venue); must be > 0. */
  weight: number;
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

/** Σ weight × squared Euclidean distance from each vector to the centroid it is assigned to. */
export function inertia(
  vectors: Float64Array,
  weights: Float64Array,
  centroids: Float64Array,
  assignments: Int32Array,
): number {
  let total = 0;
  for (let i = 0; i < assignments.length; i++) {
    const c = 3 * (assignments[i] as number);
    const dx = (vectors[3 * i] as number) - (centroids[c] as number);
    const dy = (vectors[3 * i + 1] as number) - (centroids[c + 1] as number);
    const dz = (vectors[3 * i + 2] as number) - (centroids[c + 2] as number);
    total += (weights[i] as number) * (dx * dx + dy * dy + dz * dz);
  }
  return total;
}

/** Mean over x, y and z of the (unweighted) variance of the points: scikit-learn's tol scale. */
export function meanVariance(vectors: Float64Array): number {
  const n = vectors.length / 3;
  if (n === 0) return 0;
  let variance = 0;
  for (let axis = 0; axis < 3; axis++) {
    let sum = 0;
    for (let i = axis; i < vectors.length; i += 3) sum += vectors[i] as number;
    const mean = sum / n;
    let squares = 0;
    for (let i = axis; i < vectors.length; i += 3) {
      const d = (vectors[i] as number) - mean;
      squares += d * d;
    }
    variance += squares / n;
  }
  return variance / 3;
}

/** Squared Euclidean distance between point i of `a` and point j of `b` (flat triples). */
export function distance2(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const dx = (a[3 * i] as number) - (b[3 * j] as number);
  const dy = (a[3 * i + 1] as number) - (b[3 * j + 1] as number);
  const dz = (a[3 * i + 2] as number) - (b[3 * j + 2] as number);
  return dx * dx + dy * dy + dz * dz;
}

/**
 * The nearest centroid of point i, and into `out` the distances (not squared) to the nearest
 * and the second-nearest one (Infinity when k = 1).
 */
export function nearestTwo(
  vectors: Float64Array,
  i: number,
  centroids: Float64Array,
  k: number,
  out: Float64Array,
): number {
  const x = vectors[3 * i] as number;
  const y = vectors[3 * i + 1] as number;
  const z = vectors[3 * i + 2] as number;
  let best = 0;
  let first = Number.POSITIVE_INFINITY;
  let second = Number.POSITIVE_INFINITY;
  for (let c = 0; c < k; c++) {
    const dx = x - (centroids[3 * c] as number);
    const dy = y - (centroids[3 * c + 1] as number);
    const dz = z - (centroids[3 * c + 2] as number);
    const d = dx * dx + dy * dy + dz * dz;
    if (d < first) {
      second = first;
      first = d;
      best = c;
    } else if (d < second) second = d;
  }
  out[0] = Math.sqrt(first);
  out[1] = Math.sqrt(second);
  return best;
}
