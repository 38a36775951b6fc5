/**
 * Choosing k (`npm run bench -- choose-k`): how long the clustering Lambda's search over
 * K_MIN..K_MAX takes (functions/clustering/kmeans/choose-k.ts: one k-means per k, each scored
 * by silhouette), for the default range 8..80 and the largest the template allows, 8..120
 * (ClusteringKMax), on generated venue sets (bench/venue-sets.ts) of about a recorded day's size
 * and larger. The Lambda's limit is 900 s; the figures say how far from it the cap is (8..200
 * took 741 s for 3,500 venues on the machine of docs/measurements.md: too near).
 */
import { chooseK } from "../functions/clustering/kmeans/choose-k.js";
import { venueSet } from "./venue-sets.js";

const RANGES = [
  { kMin: 8, kMax: 80 },
  { kMin: 8, kMax: 120 },
];
const SIZES = [3_500, 10_000];

const say = (line: string) => process.stderr.write(`[bench:choose-k] ${line}\n`);

export async function run(print: (line: string) => void): Promise<void> {
  print("venues   k range   seconds   k chosen");
  for (const n of SIZES) {
    const { vectors, weights } = venueSet(n);
    for (const range of RANGES) {
      say(`${n} venues, k ${range.kMin}..${range.kMax}`);
      const started = performance.now();
      const chosen = chooseK(vectors, weights, { ...range, seed: 1 });
      const seconds = (performance.now() - started) / 1000;
      const best = chosen.scores.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
      print(
        `${String(n).padStart(6)}   ${`${range.kMin}..${range.kMax}`.padEnd(7)}   ${seconds.toFixed(1).padStart(7)}   ${best.k}`,
      );
    }
  }
}
