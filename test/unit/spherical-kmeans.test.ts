import { describe, expect, it } from "vitest";
import {
  chooseK,
  type GeoPoint,
  inertia,
  sphericalKMeans,
  toLatLon,
  toUnitVectors,
} from "../../functions/clustering/spherical-kmeans.js";
import { seededRandom } from "../../functions/shared/seeded-random.js";

/** `count` points scattered (seeded) within about `spread` degrees of a centre. */
function blob(
  lat: number,
  lon: number,
  count: number,
  spread: number,
  seed: number,
  weight = 1,
): GeoPoint[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    lat: Math.max(-90, Math.min(90, lat + (random() - 0.5) * 2 * spread)),
    lon: ((lon + (random() - 0.5) * 2 * spread + 540) % 360) - 180,
    weight,
  }));
}

function cluster(points: GeoPoint[], k: number, seed = 1) {
  const result = sphericalKMeans(
    toUnitVectors(points),
    Float64Array.from(points, (p) => p.weight),
    { k, seed },
  );
  const centres = Array.from({ length: result.k }, (_, c) =>
    toLatLon(
      result.centroids[3 * c] as number,
      result.centroids[3 * c + 1] as number,
      result.centroids[3 * c + 2] as number,
    ),
  );
  return { result, centres };
}

/** Great-circle angle in degrees. */
function angle(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const [va, vb] = [toUnitVectors([{ ...a, weight: 1 }]), toUnitVectors([{ ...b, weight: 1 }])];
  const dot =
    (va[0] as number) * (vb[0] as number) +
    (va[1] as number) * (vb[1] as number) +
    (va[2] as number) * (vb[2] as number);
  return (Math.acos(Math.max(-1, Math.min(1, dot))) * 180) / Math.PI;
}

describe("unit vectors", () => {
  it("round-trip latitude and longitude", () => {
    for (const p of [
      { lat: 45.52, lon: -122.68 },
      { lat: -18.14, lon: 178.44 },
      { lat: 89.9, lon: 10 },
      { lat: 0, lon: 180 },
    ]) {
      const v = toUnitVectors([{ ...p, weight: 1 }]);
      const back = toLatLon(v[0] as number, v[1] as number, v[2] as number);
      expect(angle(back, p)).toBeLessThan(1e-9);
    }
  });
});

/** 40 groups of venues of different sizes and weights scattered over the world (2,000 venues). */
function world(): GeoPoint[] {
  const random = seededRandom(77);
  return Array.from({ length: 40 }, (_, g) =>
    blob(
      (random() - 0.5) * 120,
      (random() - 0.5) * 360,
      20 + Math.floor(random() * 60),
      2,
      200 + g,
      1 + Math.floor(random() * 5),
    ),
  ).flat();
}

/** Every point's nearest centroid, by brute force. */
function nearestCentroids(vectors: Float64Array, centroids: Float64Array): number[] {
  return Array.from({ length: vectors.length / 3 }, (_, i) => {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let c = 0; c < centroids.length / 3; c++) {
      const d =
        ((vectors[3 * i] as number) - (centroids[3 * c] as number)) ** 2 +
        ((vectors[3 * i + 1] as number) - (centroids[3 * c + 1] as number)) ** 2 +
        ((vectors[3 * i + 2] as number) - (centroids[3 * c + 2] as number)) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    return best;
  });
}

describe("k-means on unit vectors", () => {
  it("refuses a weight that is not a finite number above 0, naming it", () => {
    const vectors = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() =>
        sphericalKMeans(vectors, new Float64Array([1, bad, 1]), { k: 2, seed: 1 }),
      ).toThrow(`weight 1 is ${bad}`);
    }
  });

  it("minimizes the squared Euclidean distances: a centroid is its cluster's weighted mean, inside the sphere", () => {
    const points = [
      { lat: 0, lon: -30, weight: 1 },
      { lat: 0, lon: 30, weight: 3 },
      { lat: 10, lon: 0, weight: 2 },
    ];
    const vectors = toUnitVectors(points);
    const weights = Float64Array.from(points, (p) => p.weight);
    const result = sphericalKMeans(vectors, weights, { k: 1 });
    for (let axis = 0; axis < 3; axis++) {
      const mean =
        points.reduce((sum, p, i) => sum + p.weight * (vectors[3 * i + axis] as number), 0) / 6;
      expect(result.centroids[axis]).toBeCloseTo(mean, 12);
    }
    expect(Math.hypot(...result.centroids)).toBeLessThan(0.95);
    const expected = points.reduce((sum, p, i) => {
      const squares = [0, 1, 2].map(
        (axis) => ((vectors[3 * i + axis] as number) - (result.centroids[axis] as number)) ** 2,
      );
      return sum + p.weight * squares.reduce((a, b) => a + b, 0);
    }, 0);
    expect(result.inertia).toBeCloseTo(expected, 12);
  });

  it("escapes the local minima that single k-means++ runs end in", () => {
    const points = world();
    const vectors = toUnitVectors(points);
    const weights = Float64Array.from(points, (p) => p.weight);
    const found = new Set<string>();
    let plainWorse = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const plain = sphericalKMeans(vectors, weights, { k: 8, seed, starts: 1, maxFailedMoves: 0 });
      const result = sphericalKMeans(vectors, weights, { k: 8, seed });
      expect(result.inertia).toBeLessThanOrEqual(plain.inertia);
      if (plain.inertia > result.inertia * 1.01) plainWorse += 1;
      found.add(result.inertia.toPrecision(10));
    }
    // Plain k-means++ (scikit-learn's n_init=1) ends above the minimum for most seeds; the
    // local search reaches the same minimum from every seed.
    expect(plainWorse).toBeGreaterThanOrEqual(5);
    expect(found.size).toBe(1);
  });

  it("clusters many points on a grid summary, then assigns every point to its nearest centroid", () => {
    const points = world();
    const vectors = toUnitVectors(points);
    const weights = Float64Array.from(points, (p) => p.weight);
    const direct = sphericalKMeans(vectors, weights, { k: 8, seed: 3 });
    const summarized = sphericalKMeans(vectors, weights, { k: 8, seed: 3, summarySize: 500 });
    expect(direct.searchPoints).toBe(points.length);
    expect(summarized.searchPoints).toBeLessThanOrEqual(500);
    expect(summarized.searchPoints).toBeLessThan(points.length / 2);
    expect(summarized.inertia).toBeLessThanOrEqual(direct.inertia * (1 + 1e-9));
    expect(Array.from(summarized.assignments)).toEqual(
      nearestCentroids(vectors, summarized.centroids),
    );
    expect(inertia(vectors, weights, summarized.centroids, summarized.assignments)).toBeCloseTo(
      summarized.inertia,
      9,
    );
  });

  it("sizes the grid to the venues' extent: the venues of one metro area still make many cells", () => {
    const random = seededRandom(5);
    const points = Array.from({ length: 12 }, () => ({
      lat: 52.52 + (random() - 0.5) * 0.5,
      lon: 13.4 + (random() - 0.5) * 0.8,
    })).flatMap((centre, b) => blob(centre.lat, centre.lon, 250, 0.02, 300 + b, 1 + (b % 4)));
    const vectors = toUnitVectors(points);
    const weights = Float64Array.from(points, (p) => p.weight);
    const direct = sphericalKMeans(vectors, weights, { k: 8, seed: 2 });
    const summarized = sphericalKMeans(vectors, weights, { k: 8, seed: 2, summarySize: 1000 });
    expect(summarized.searchPoints).toBeGreaterThan(400);
    expect(summarized.searchPoints).toBeLessThanOrEqual(1000);
    expect(summarized.inertia).toBeLessThanOrEqual(direct.inertia * (1 + 1e-6));
  });
});

describe("spherical k-means", () => {
  it("keeps Fiji in one cluster across the antimeridian, centred near 180°", () => {
    const fiji = [...blob(-17.8, 179.8, 60, 0.6, 1), ...blob(-17.8, -179.8, 60, 0.6, 2)];
    const europe = blob(50, 8, 80, 3, 3);
    const { result, centres } = cluster([...fiji, ...europe], 2);
    const fijiClusters = new Set(Array.from(result.assignments.slice(0, fiji.length)));
    expect(fijiClusters.size).toBe(1);
    const fijiCentre = centres[[...fijiClusters][0] as number] as { lat: number; lon: number };
    expect(Math.abs(fijiCentre.lon)).toBeGreaterThan(179);
    expect(angle(fijiCentre, { lat: -17.8, lon: 180 })).toBeLessThan(1);
  });

  it("clusters points around the North Pole around the pole, whatever their longitudes", () => {
    const arctic = Array.from({ length: 72 }, (_, i) => ({
      lat: 86,
      lon: -180 + i * 5,
      weight: 1,
    }));
    const tropics = blob(5, 20, 50, 4, 4);
    const { result, centres } = cluster([...arctic, ...tropics], 2);
    const arcticCluster = result.assignments[0] as number;
    expect(
      Array.from(result.assignments.slice(0, arctic.length)).every((c) => c === arcticCluster),
    ).toBe(true);
    expect(centres[arcticCluster]?.lat).toBeGreaterThan(89.9);
  });

  it("weights points: a heavy venue pulls its centroid", () => {
    const points = [
      { lat: 40, lon: -74, weight: 1 },
      { lat: 41, lon: -74, weight: 9 },
    ];
    const { centres } = cluster(points, 1);
    expect(centres[0]?.lat).toBeGreaterThan(40.85);
    expect(centres[0]?.lat).toBeLessThan(40.95);
  });

  it("is reproducible for a seed", () => {
    const points = [
      ...blob(37.7, -122.4, 200, 2, 5),
      ...blob(40.7, -74, 200, 2, 6),
      ...blob(51.5, 0, 200, 2, 7),
    ];
    const a = cluster(points, 5, 42).result;
    const b = cluster(points, 5, 42).result;
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
  });

  it("never returns a cluster without points, even for k = n", () => {
    const points = blob(0, 0, 12, 10, 8);
    const { result } = cluster(points, 12);
    expect(new Set(Array.from(result.assignments)).size).toBe(12);
    expect(result.inertia).toBeLessThan(1e-12);
  });
});

describe("choosing k", () => {
  it("finds the number of well-separated groups, and reports the score of every k", () => {
    const points = [
      ...blob(37.7, -122.4, 150, 1.5, 11, 3),
      ...blob(40.7, -74, 150, 1.5, 12, 2),
      ...blob(51.5, 0, 150, 1.5, 13),
      ...blob(-33.9, 151.2, 150, 1.5, 14),
    ];
    const { result, scores } = chooseK(
      toUnitVectors(points),
      Float64Array.from(points, (p) => p.weight),
      { kMin: 2, kMax: 8, seed: 3 },
    );
    expect(result.k).toBe(4);
    expect(scores.map((s) => s.k)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const best = Math.max(...scores.map((s) => s.silhouette));
    expect(scores.find((s) => s.k === 4)?.silhouette).toBe(best);
  });
});
