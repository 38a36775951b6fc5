/**
 * Clustering 200,000 venues into 15 clusters, as the daily batch will: this project's
 * spherical k-means (flat Float64Arrays, unit vectors) against ml-kmeans 7 on the same unit
 * vectors (arrays of arrays, Euclidean; its centroids are not renormalized, so it is only an
 * approximation of spherical k-means). Same seed, same k-means++ seeding idea.
 */
import { kmeans } from "ml-kmeans";
import {
  seededRandom,
  sphericalKMeans,
  toUnitVectors,
} from "../functions/clustering/spherical-kmeans.js";

export async function run(print: (line: string) => void): Promise<void> {
  const random = seededRandom(7);
  const centres = Array.from({ length: 40 }, () => ({
    lat: (random() - 0.5) * 140,
    lon: (random() - 0.5) * 360,
  }));
  const points = Array.from({ length: 200_000 }, () => {
    const centre = centres[Math.floor(random() * centres.length)] as { lat: number; lon: number };
    return {
      lat: centre.lat + (random() - 0.5) * 6,
      lon: centre.lon + (random() - 0.5) * 6,
      weight: 1 + Math.floor(random() * 20),
    };
  });
  const vectors = toUnitVectors(points);
  const weights = Float64Array.from(points, (p) => p.weight);

  let started = performance.now();
  const ours = sphericalKMeans(vectors, weights, { k: 15, seed: 1 });
  const oursMs = performance.now() - started;
  print(
    `spherical k-means (this project), 200k points, k=15: ${oursMs.toFixed(0)} ms, ${ours.iterations} iterations, ${(oursMs / ours.iterations).toFixed(1)} ms/iteration`,
  );

  const rows = Array.from({ length: points.length }, (_, i) => [
    vectors[3 * i] as number,
    vectors[3 * i + 1] as number,
    vectors[3 * i + 2] as number,
  ]);
  started = performance.now();
  const theirs = kmeans(rows, 15, { seed: 1, initialization: "kmeans++", maxIterations: 100 });
  const theirsMs = performance.now() - started;
  print(
    `ml-kmeans 7.0.1 (unweighted, Euclidean on the same vectors), 200k points, k=15: ${theirsMs.toFixed(0)} ms, ${theirs.iterations} iterations`,
  );
}
