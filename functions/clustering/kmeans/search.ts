/**
 * sphericalKMeans end to end (the module comment of ../spherical-kmeans.ts tells the whole
 * story): the grid summary, the starts on it (k-means++ seeding, Lloyd, merge-and-split), the
 * best few polished on the finer summary, and Lloyd on all points from the best centroids.
 */
import { seededRandom } from "../../shared/seeded-random.js";
import { gridSummary } from "./grid-summary.js";
import { iterate, Lloyd, lloyd, type Run } from "./lloyd.js";
import { mergeAndSplit } from "./merge-and-split.js";
import { kMeansPlusPlus } from "./seeding.js";
import { inertia, meanVariance } from "./vectors.js";

export interface KMeansOptions {
  k: number;
  seed?: number;
  /** At most this many Lloyd iterations per run (scikit-learn's default, 300). */
  maxIterations?: number;
  /**
   * Relative tolerance, scikit-learn's `tol`: a run also stops when the sum of the squared
   * centroid shifts of an iteration is at most this × the mean per-coordinate variance of the
   * points (unweighted, as scikit-learn computes it). Default 1e-4; 0 runs until no point moves.
   */
  tolerance?: number;
  /** Independent k-means++ starts of the search. Default 20. */
  starts?: number;
  /** Failed merge-and-split moves in a row that end a local search. Default 8. */
  maxFailedMoves?: number;
  /**
   * Beyond this many points the search runs on a grid summary of at most this many cells.
   * Default 3,000 (at least 50 × k).
   */
  summarySize?: number;
  /** How many of the best starts are polished on the finer summary. Default 3. */
  polished?: number;
}

export interface KMeansResult {
  k: number;
  /** k weighted means, x y z each (inside the unit ball; toLatLon gives their direction). */
  centroids: Float64Array;
  /** Cluster index of every point: its nearest centroid. */
  assignments: Int32Array;
  /** Lloyd iterations (an update of the centroids and an assignment) of the run on all points. */
  iterations: number;
  /** That run stopped because the clusters settled, not because maxIterations ran out. */
  converged: boolean;
  /** The objective: Σ weight × squared Euclidean distance to the own centroid. */
  inertia: number;
  /** Points the search ran on: the grid summary's cells, or all points when there are few. */
  searchPoints: number;
  /** Merge-and-split moves kept, over all starts. */
  movesKept: number;
}

/**
 * Weighted k-means of unit vectors (flat x y z triples) into at most `k` clusters; see the
 * module comment of ../spherical-kmeans.ts. (The name stays from when centroids were
 * renormalized onto the sphere.)
 */
export function sphericalKMeans(
  vectors: Float64Array,
  weights: Float64Array,
  options: KMeansOptions,
): KMeansResult {
  const n = weights.length;
  if (vectors.length !== 3 * n) throw new RangeError("vectors must hold 3 numbers per weight");
  // A zero, negative or non-finite weight would turn means into NaN without a word.
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (!(w > 0 && Number.isFinite(w))) {
      throw new RangeError(`weight ${i} is ${w}: every weight must be a finite number above 0`);
    }
  }
  const k = Math.min(options.k, n);
  if (k < 1) throw new RangeError("k-means needs at least one point and k >= 1");
  const random = seededRandom(options.seed ?? 1);
  const maxIterations = Math.max(1, options.maxIterations ?? 300);
  const tolerance = options.tolerance ?? 1e-4;
  const starts = Math.max(1, options.starts ?? 20);
  const maxFailedMoves = options.maxFailedMoves ?? 8;
  const summarySize = Math.max(options.summarySize ?? 3000, 50 * k);
  const polished = Math.max(1, options.polished ?? 3);

  const levels = n > summarySize ? gridSummary(vectors, weights, summarySize) : undefined;
  const search = levels?.coarse ?? { vectors, weights };
  const searchTolerance = tolerance * meanVariance(search.vectors);
  // The best few distinct results of the starts, lowest inertia first.
  const finalists: Run[] = [];
  let movesKept = 0;
  for (let start = 0; start < starts; start++) {
    const centroids = kMeansPlusPlus(search.vectors, search.weights, k, random);
    const seeded = lloyd(search.vectors, search.weights, centroids, maxIterations, searchTolerance);
    const improved = mergeAndSplit(search, seeded, maxIterations, searchTolerance, maxFailedMoves);
    movesKept += improved.moves;
    const run = improved.run;
    if (finalists.some((other) => Math.abs(other.inertia - run.inertia) <= 1e-9 * run.inertia))
      continue;
    finalists.push(run);
    finalists.sort((a, b) => a.inertia - b.inertia);
    finalists.length = Math.min(finalists.length, polished);
  }
  let best = finalists[0];
  if (!best) throw new Error("unreachable: no start ran");
  const shared = { k, searchPoints: search.weights.length, movesKept };
  if (!levels) {
    const { centroids, assignments, iterations, converged, inertia } = best;
    return { centroids, assignments, iterations, converged, inertia, ...shared };
  }

  // Polish the finalists on the finer summary, where the inertia is closer to the venues' own.
  let summary = levels.coarse;
  const fine = levels.fine;
  if (fine) {
    summary = fine;
    const fineTolerance = tolerance * meanVariance(fine.vectors);
    let polishedBest: Run | undefined;
    for (const finalist of finalists) {
      const centroids = Float64Array.from(finalist.centroids);
      const settled = lloyd(fine.vectors, fine.weights, centroids, maxIterations, fineTolerance);
      const improved = mergeAndSplit(fine, settled, maxIterations, fineTolerance, maxFailedMoves);
      movesKept += improved.moves;
      if (!polishedBest || improved.run.inertia < polishedBest.inertia) polishedBest = improved.run;
    }
    best = polishedBest ?? best;
  }

  const centroids = best.centroids;
  const state = new Lloyd(vectors, weights, centroids);
  state.assignFromCells(summary);
  const run = iterate(state, maxIterations, tolerance * meanVariance(vectors));
  return {
    centroids,
    assignments: state.assignments,
    ...run,
    inertia: inertia(vectors, weights, centroids, state.assignments),
    ...shared,
    movesKept,
  };
}
