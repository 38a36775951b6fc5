/**
 * Weighted k-means of venues on the sphere. Every venue is a 3-D unit vector, not a (lat, lon)
 * pair, so Fiji at 179.9°E and at 179.9°W are neighbours and points ringing a pole cluster at
 * the pole, which k-means on (lat, lon) gets wrong. The objective is the classic k-means one on
 * those vectors: the weighted sum of squared Euclidean (chord) distances from each venue to the
 * mean of its cluster, the "inertia" (weights: RSVP counts). A centroid is the weighted mean of
 * its members' vectors, so it lies a little inside the sphere; its direction (toLatLon
 * normalizes) is the cluster's centre on the map. This is what scikit-learn's KMeans minimizes
 * on the same vectors, so the two compare directly (bench/cluster.bench.ts).
 *
 * k-means has many local minima on venue data: one k-means++ run can end several % above
 * another (scikit-learn's n_init exists for that). How this one gets low and stays fast,
 * single-threaded:
 *
 * 1. Summary. Beyond `summarySize` points the search runs on a grid summary: venues are binned
 *    into cubic cells of the 3-D space (1/1024 of the venues' extent: 12 km for the world,
 *    metres for one metro area), 2 × 2 × 2 cells are merged until at most `summarySize` cells
 *    remain, and each cell stands for its venues with their total weight at their weighted
 *    mean. For any clustering that keeps cells whole, the venues' inertia is exactly the
 *    cells' inertia plus a constant (the scatter inside the cells), so the summary is the same
 *    problem except at the cells that straddle a border; 1,000,000 venues of the benchmark
 *    become about 1,100 cells (and 3,000 one level finer).
 * 2. Search, on the summary: `starts` independent starts, each greedy weighted k-means++
 *    seeding as in scikit-learn (at each step 2 + ⌊ln k⌋ candidates drawn with probability ∝
 *    weight × squared distance to the nearest centre; the one lowering the potential most is
 *    kept), Lloyd's iterations, then a merge-and-split local search: dissolve one cluster into
 *    its neighbours and split another in two (the pairs estimated best first), rerun Lloyd
 *    from there, keep the change if the inertia fell, until `maxFailedMoves` pairs in a row
 *    fail. This escapes the minima where one centroid serves two groups while two centroids
 *    share one. The best `polished` starts are polished the same way on the summary one level
 *    finer (2 to 8 × the cells), where the inertia is closer to the venues' own.
 * 3. Refinement, on all venues: Lloyd's iterations from the best centroids, starting from the
 *    cells' assignment (a venue's bounds follow from its distance to its cell's mean, so only
 *    venues in cells near a border are looked at), stopping like scikit-learn.
 *
 * Lloyd's iterations use Hamerly's bounds (G. Hamerly, "Making k-means even faster", SDM 2010):
 * each point keeps an upper bound on the distance to its own centroid and a lower bound on the
 * distance to every other one; when centroids move, the bounds move by the shifts, and a point
 * whose upper bound is below max(lower bound, half the distance from its centroid to the nearest
 * other one) cannot change cluster and is skipped. When the lower bound fails only because a few
 * centroids moved far (as after a merge-and-split move), those few are measured instead of all
 * k. Cluster sums are updated only for the points that change cluster. A run stops when no
 * point changes cluster, or (scikit-learn's `tol`) when the sum of the squared centroid shifts
 * of an iteration is at most `tolerance` × the mean per-coordinate variance of the points, after
 * one last assignment to the final centroids. An empty cluster takes the farthest point.
 *
 * Every random draw comes from a seeded PRNG: the same input and seed give the same clusters.
 * Everything lives in flat typed arrays (1M venues: 24 MB of vectors, about 32 MB more).
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

/**
 * Weighted k-means of unit vectors (flat x y z triples) into at most `k` clusters; see the
 * module comment. (The name stays from when centroids were renormalized onto the sphere.)
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

interface Run {
  centroids: Float64Array;
  assignments: Int32Array;
  /** Hamerly's bounds at the end of the run, for a warm restart. */
  upper: Float64Array;
  lower: Float64Array;
  iterations: number;
  converged: boolean;
  inertia: number;
}

/** Lloyd's iterations from `centroids` (updated in place) until they settle. */
function lloyd(
  vectors: Float64Array,
  weights: Float64Array,
  centroids: Float64Array,
  maxIterations: number,
  shiftTolerance: number,
): Run {
  const state = new Lloyd(vectors, weights, centroids);
  state.assignAll();
  return finish(state, maxIterations, shiftTolerance);
}

/**
 * Lloyd's iterations after some centroids of a settled run were `replaced` by new positions
 * (in `centroids`): a warm start from the run's assignment and bounds.
 */
function relloyd(
  previous: Run,
  centroids: Float64Array,
  replaced: readonly number[],
  points: { vectors: Float64Array; weights: Float64Array },
  maxIterations: number,
  shiftTolerance: number,
): Run {
  const state = new Lloyd(points.vectors, points.weights, centroids);
  state.assignAfterReplacing(previous, replaced);
  return finish(state, maxIterations, shiftTolerance);
}

function finish(state: Lloyd, maxIterations: number, shiftTolerance: number): Run {
  const run = iterate(state, maxIterations, shiftTolerance);
  return {
    centroids: state.centroids,
    assignments: state.assignments,
    upper: state.upper,
    lower: state.lower,
    ...run,
    inertia: inertia(state.vectors, state.weights, state.centroids, state.assignments),
  };
}

/** Update, assign, repeat: from an assigned state to one whose centroids settled. */
function iterate(
  state: Lloyd,
  maxIterations: number,
  shiftTolerance: number,
): { iterations: number; converged: boolean } {
  for (let iterations = 1; ; iterations++) {
    const shifted = state.updateCentroids();
    if (shifted <= shiftTolerance || iterations >= maxIterations) {
      state.assign();
      return { iterations, converged: shifted <= shiftTolerance };
    }
    // No point moved: the centroids are the means of their clusters already.
    if (state.assign() === 0) return { iterations, converged: true };
  }
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
function meanVariance(vectors: Float64Array): number {
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
function distance2(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const dx = (a[3 * i] as number) - (b[3 * j] as number);
  const dy = (a[3 * i + 1] as number) - (b[3 * j + 1] as number);
  const dz = (a[3 * i + 2] as number) - (b[3 * j + 2] as number);
  return dx * dx + dy * dy + dz * dz;
}

/**
 * The nearest centroid of point i, and into `out` the distances (not squared) to the nearest
 * and the second-nearest one (Infinity when k = 1).
 */
function nearestTwo(
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

/** The points binned into grid cells: each cell's weighted mean and total weight. */
interface GridSummary {
  vectors: Float64Array;
  weights: Float64Array;
  /** The cell of every point. */
  cellOf: Int32Array;
}

/**
 * Cells per axis at the finest level, across the points' extent: for venues all over the world
 * (extent 2) a cell is 2 / 1024 wide, about 12 km; for the venues of one metro area, metres.
 */
const GRID_BITS = 10;

/**
 * Bins the points into cubic cells of side 2 / 1024, then merges 2 × 2 × 2 cells at a time
 * until at most `maxCells` remain. Returns that summary and the one a level finer (when there
 * was a merge), where the best clusterings of the search are polished.
 */
function gridSummary(
  vectors: Float64Array,
  weights: Float64Array,
  maxCells: number,
): { coarse: GridSummary; fine: GridSummary | undefined } {
  const n = weights.length;
  const side = 1 << GRID_BITS;
  // The grid spans the points' bounding box (a cube of its longest side).
  const low = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  let extent = 0;
  for (let axis = 0; axis < 3; axis++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = axis; i < vectors.length; i += 3) {
      const v = vectors[i] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    low[axis] = min;
    extent = Math.max(extent, max - min);
  }
  const [x0, y0, z0] = low as [number, number, number];
  const scale = extent > 0 ? side / extent : 0;
  const cell = (value: number): number => Math.min(side - 1, Math.floor(value * scale));
  let cellOf: Int32Array = new Int32Array(n);
  let table = new CellTable(Math.min(n, 1 << 16));
  for (let i = 0; i < n; i++) {
    const x = vectors[3 * i] as number;
    const y = vectors[3 * i + 1] as number;
    const z = vectors[3 * i + 2] as number;
    const key = (cell(x - x0) << (2 * GRID_BITS)) | (cell(y - y0) << GRID_BITS) | cell(z - z0);
    cellOf[i] = table.add(key, weights[i] as number, x, y, z);
  }
  let finer: { table: CellTable; cellOf: Int32Array } | undefined;
  for (let level = 0; level < GRID_BITS - 1 && table.size > maxCells; level++) {
    // Half the resolution: a cell's parent drops the lowest bit of each coordinate.
    const coarser = new CellTable(table.size);
    const parentOf = new Int32Array(table.size);
    for (let cell = 0; cell < table.size; cell++) {
      const key = table.keys[cell] as number;
      const ix = key >>> (2 * GRID_BITS + 1);
      const iy = ((key >>> GRID_BITS) & (side - 1)) >>> 1;
      const iz = (key & (side - 1)) >>> 1;
      parentOf[cell] = coarser.merge((ix << (2 * GRID_BITS)) | (iy << GRID_BITS) | iz, table, cell);
    }
    const coarserCellOf = finer?.cellOf ?? new Int32Array(n); // reuse the buffer of two levels up
    for (let i = 0; i < n; i++) coarserCellOf[i] = parentOf[cellOf[i] as number] as number;
    finer = { table, cellOf };
    table = coarser;
    cellOf = coarserCellOf;
  }
  return {
    coarse: summaryOf(table, cellOf),
    fine: finer && summaryOf(finer.table, finer.cellOf),
  };
}

function summaryOf(table: CellTable, cellOf: Int32Array): GridSummary {
  const m = table.size;
  const cellVectors = new Float64Array(3 * m);
  for (let cell = 0; cell < m; cell++) {
    const w = table.weight[cell] as number;
    cellVectors[3 * cell] = (table.sum[3 * cell] as number) / w;
    cellVectors[3 * cell + 1] = (table.sum[3 * cell + 1] as number) / w;
    cellVectors[3 * cell + 2] = (table.sum[3 * cell + 2] as number) / w;
  }
  return { vectors: cellVectors, weights: table.weight.slice(0, m), cellOf };
}

/** An open-addressing hash table from cell keys to dense cell indexes with their sums. */
class CellTable {
  size = 0;
  keys: Int32Array;
  weight: Float64Array;
  /** Σ weight × vector, x y z per cell. */
  sum: Float64Array;
  /** Cell index + 1 per slot; 0 is free. */
  private slots: Int32Array;
  private slotBits: number;

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.keys = new Int32Array(capacity);
    this.weight = new Float64Array(capacity);
    this.sum = new Float64Array(3 * capacity);
    this.slotBits = Math.ceil(Math.log2(2 * capacity));
    this.slots = new Int32Array(1 << this.slotBits);
  }

  /** Adds a point of weight w at (x, y, z) to the cell `key`; returns the cell's index. */
  add(key: number, w: number, x: number, y: number, z: number): number {
    const cell = this.cellFor(key);
    this.weight[cell] = (this.weight[cell] as number) + w;
    this.sum[3 * cell] = (this.sum[3 * cell] as number) + w * x;
    this.sum[3 * cell + 1] = (this.sum[3 * cell + 1] as number) + w * y;
    this.sum[3 * cell + 2] = (this.sum[3 * cell + 2] as number) + w * z;
    return cell;
  }

  /** Adds cell `from` of another table to the cell `key`; returns the cell's index. */
  merge(key: number, other: CellTable, from: number): number {
    const cell = this.cellFor(key);
    this.weight[cell] = (this.weight[cell] as number) + (other.weight[from] as number);
    for (let axis = 0; axis < 3; axis++) {
      this.sum[3 * cell + axis] =
        (this.sum[3 * cell + axis] as number) + (other.sum[3 * from + axis] as number);
    }
    return cell;
  }

  private cellFor(key: number): number {
    const mask = this.slots.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> (32 - this.slotBits);
    for (;;) {
      const entry = this.slots[slot] as number;
      if (entry === 0) break;
      if (this.keys[entry - 1] === key) return entry - 1;
      slot = (slot + 1) & mask;
    }
    if (this.size === this.keys.length) {
      this.growCells();
      return this.cellFor(key); // the slots were rebuilt
    }
    const cell = this.size++;
    this.keys[cell] = key;
    this.slots[slot] = cell + 1;
    return cell;
  }

  private growCells(): void {
    const capacity = 2 * this.keys.length;
    const keys = new Int32Array(capacity);
    keys.set(this.keys);
    const weight = new Float64Array(capacity);
    weight.set(this.weight);
    const sum = new Float64Array(3 * capacity);
    sum.set(this.sum);
    this.keys = keys;
    this.weight = weight;
    this.sum = sum;
    this.slotBits += 1;
    this.slots = new Int32Array(1 << this.slotBits);
    const mask = this.slots.length - 1;
    for (let cell = 0; cell < this.size; cell++) {
      let slot = Math.imul(this.keys[cell] as number, 0x9e3779b1) >>> (32 - this.slotBits);
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = cell + 1;
    }
  }
}

/**
 * Lloyd's iterations with Hamerly's bounds. `upper[i]` ≥ distance from point i to its centroid,
 * `lower[i]` ≤ distance to any other centroid; both are kept valid across centroid moves.
 */
class Lloyd {
  readonly assignments: Int32Array;
  readonly upper: Float64Array;
  readonly lower: Float64Array;
  private readonly n: number;
  private readonly k: number;
  /** Weighted sums of the members' vectors, their total weight and count, per cluster. */
  private readonly sums: Float64Array;
  private readonly mass: Float64Array;
  private readonly members: Int32Array;
  /** How far each centroid moved in the last update. */
  private readonly shift: Float64Array;
  /** Half the distance from each centroid to its nearest other centroid. */
  private readonly halfGap: Float64Array;
  private readonly two = new Float64Array(2);

  constructor(
    readonly vectors: Float64Array,
    readonly weights: Float64Array,
    readonly centroids: Float64Array,
  ) {
    this.n = weights.length;
    this.k = centroids.length / 3;
    this.assignments = new Int32Array(this.n);
    this.upper = new Float64Array(this.n);
    this.lower = new Float64Array(this.n);
    this.sums = new Float64Array(3 * this.k);
    this.mass = new Float64Array(this.k);
    this.members = new Int32Array(this.k);
    this.shift = new Float64Array(this.k);
    this.halfGap = new Float64Array(this.k);
  }

  /** The first assignment: every distance. */
  assignAll(): void {
    const { vectors, centroids, k, two } = this;
    for (let i = 0; i < this.n; i++) {
      const best = nearestTwo(vectors, i, centroids, k, two);
      this.upper[i] = two[0] as number;
      this.lower[i] = two[1] as number;
      this.join(i, best);
    }
  }

  /**
   * The first assignment from a clustering of the summary's cells: a point takes its cell's
   * nearest centroid, and its bounds follow from its distance to the cell's mean (triangle
   * inequality), so only the points of cells near a border need a closer look.
   */
  assignFromCells(summary: GridSummary): void {
    const { vectors, centroids, k, two } = this;
    const cells = summary.weights.length;
    const first = new Float64Array(cells);
    const second = new Float64Array(cells);
    const nearest = new Int32Array(cells);
    for (let cell = 0; cell < cells; cell++) {
      nearest[cell] = nearestTwo(summary.vectors, cell, centroids, k, two);
      first[cell] = two[0] as number;
      second[cell] = two[1] as number;
    }
    for (let i = 0; i < this.n; i++) {
      const cell = summary.cellOf[i] as number;
      const offset = Math.sqrt(distance2(vectors, i, summary.vectors, cell));
      this.upper[i] = (first[cell] as number) + offset;
      this.lower[i] = Math.max(0, (second[cell] as number) - offset);
      this.join(i, nearest[cell] as number);
    }
  }

  /**
   * The first assignment after some centroids of a settled run were replaced: a point of a
   * replaced centroid looks at every centroid; any other point only compares its own centroid
   * with the replaced ones, because its old lower bound still holds for the unchanged others.
   */
  assignAfterReplacing(previous: Run, replaced: readonly number[]): void {
    const { vectors, centroids, k, two } = this;
    const isReplaced = new Uint8Array(k);
    for (const c of replaced) isReplaced[c] = 1;
    for (let i = 0; i < this.n; i++) {
      const own = previous.assignments[i] as number;
      let best = own;
      if (!isReplaced[own]) {
        let first = Math.sqrt(distance2(vectors, i, centroids, own));
        let second = Number.POSITIVE_INFINITY;
        for (const c of replaced) {
          const d = Math.sqrt(distance2(vectors, i, centroids, c));
          if (d < first) {
            second = first;
            first = d;
            best = c;
          } else if (d < second) second = d;
        }
        const others = previous.lower[i] as number; // ≤ the distance to any unchanged other
        if (best === own || others >= first) {
          this.upper[i] = first;
          this.lower[i] = Math.min(others, second);
          this.join(i, best);
          continue;
        }
      }
      best = nearestTwo(vectors, i, centroids, k, two);
      this.upper[i] = two[0] as number;
      this.lower[i] = two[1] as number;
      this.join(i, best);
    }
  }

  private join(i: number, c: number): void {
    const { vectors, sums, mass, members } = this;
    const w = this.weights[i] as number;
    this.assignments[i] = c;
    sums[3 * c] = (sums[3 * c] as number) + w * (vectors[3 * i] as number);
    sums[3 * c + 1] = (sums[3 * c + 1] as number) + w * (vectors[3 * i + 1] as number);
    sums[3 * c + 2] = (sums[3 * c + 2] as number) + w * (vectors[3 * i + 2] as number);
    mass[c] = (mass[c] as number) + w;
    members[c] = (members[c] as number) + 1;
  }

  /** Moves every centroid to the mean of its cluster; returns the sum of squared shifts. */
  updateCentroids(): number {
    const { centroids, sums, mass, shift, k } = this;
    for (let c = 0; c < k; c++) if (this.members[c] === 0) this.refillEmpty(c);
    let total = 0;
    for (let c = 0; c < k; c++) {
      const m = mass[c] as number;
      if (!(m > 0)) {
        shift[c] = 0; // still empty: no point left to take; the centroid stays
        continue;
      }
      const x = (sums[3 * c] as number) / m;
      const y = (sums[3 * c + 1] as number) / m;
      const z = (sums[3 * c + 2] as number) / m;
      const dx = x - (centroids[3 * c] as number);
      const dy = y - (centroids[3 * c + 1] as number);
      const dz = z - (centroids[3 * c + 2] as number);
      const moved = dx * dx + dy * dy + dz * dz;
      total += moved;
      shift[c] = Math.sqrt(moved);
      centroids[3 * c] = x;
      centroids[3 * c + 1] = y;
      centroids[3 * c + 2] = z;
    }
    return total;
  }

  /** An empty cluster takes the point farthest from its own centroid (in a cluster of 2+). */
  private refillEmpty(empty: number): void {
    const { vectors, centroids, assignments, members, n } = this;
    let worst = -1;
    let worstDistance = 0;
    for (let i = 0; i < n; i++) {
      const c = assignments[i] as number;
      if ((members[c] as number) < 2) continue;
      const d = distance2(vectors, i, centroids, c);
      if (d > worstDistance) {
        worstDistance = d;
        worst = i;
      }
    }
    if (worst < 0) return; // every point sits on a centroid: nothing to split
    this.move(worst, assignments[worst] as number, empty);
    // Its new centroid will be the point itself; a zero lower bound forces a check next time.
    this.upper[worst] = 0;
    this.lower[worst] = 0;
  }

  private move(i: number, from: number, to: number): void {
    const { vectors, sums, mass, members } = this;
    const w = this.weights[i] as number;
    const x = w * (vectors[3 * i] as number);
    const y = w * (vectors[3 * i + 1] as number);
    const z = w * (vectors[3 * i + 2] as number);
    sums[3 * from] = (sums[3 * from] as number) - x;
    sums[3 * from + 1] = (sums[3 * from + 1] as number) - y;
    sums[3 * from + 2] = (sums[3 * from + 2] as number) - z;
    sums[3 * to] = (sums[3 * to] as number) + x;
    sums[3 * to + 1] = (sums[3 * to + 1] as number) + y;
    sums[3 * to + 2] = (sums[3 * to + 2] as number) + z;
    mass[from] = (mass[from] as number) - w;
    mass[to] = (mass[to] as number) + w;
    members[from] = (members[from] as number) - 1;
    members[to] = (members[to] as number) + 1;
    this.assignments[i] = to;
  }

  /**
   * Reassigns every point to its nearest centroid after an update, skipping the points whose
   * bounds prove they stay; returns how many points changed cluster.
   */
  assign(): number {
    const { vectors, centroids, assignments, upper, lower, shift, halfGap, k, n, two } = this;
    // The centroids that moved most ("movers"), and the largest shifts of the rest.
    const movers = topShifts(shift, Math.min(MOVERS, k));
    const rest = topShifts(shift, Math.min(MOVERS + 2, k));
    const farthest = movers[0] as number;
    const largest = shift[farthest] as number;
    const secondLargest = k > 1 ? (shift[movers[1] as number] as number) : 0;
    // Largest shift outside the movers (and outside the own centroid, if it is the first one).
    const restLargest = k > MOVERS ? (shift[rest[MOVERS] as number] as number) : 0;
    const restNext = k > MOVERS + 1 ? (shift[rest[MOVERS + 1] as number] as number) : 0;
    const restFirst = k > MOVERS ? (rest[MOVERS] as number) : -1;
    for (let c = 0; c < k; c++) {
      let gap = Number.POSITIVE_INFINITY;
      for (let other = 0; other < k; other++) {
        if (other !== c) gap = Math.min(gap, distance2(centroids, c, centroids, other));
      }
      halfGap[c] = Math.sqrt(gap) / 2;
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = assignments[i] as number;
      let u = (upper[i] as number) + (shift[a] as number);
      let l = (lower[i] as number) - (a === farthest ? secondLargest : largest);
      const gap = halfGap[a] as number;
      if (u > Math.max(l, gap)) {
        // Tighten the upper bound to the exact distance, then check again.
        const x = vectors[3 * i] as number;
        const y = vectors[3 * i + 1] as number;
        const z = vectors[3 * i + 2] as number;
        let dx = x - (centroids[3 * a] as number);
        let dy = y - (centroids[3 * a + 1] as number);
        let dz = z - (centroids[3 * a + 2] as number);
        u = Math.sqrt(dx * dx + dy * dy + dz * dz);
        if (u > Math.max(l, gap) && k > MOVERS) {
          // The bound lost most to the movers: measure them, bound the rest by their shifts.
          l = (lower[i] as number) - (a === restFirst ? restNext : restLargest);
          for (let m = 0; m < MOVERS; m++) {
            const c = movers[m] as number;
            if (c === a) continue;
            dx = x - (centroids[3 * c] as number);
            dy = y - (centroids[3 * c + 1] as number);
            dz = z - (centroids[3 * c + 2] as number);
            const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
            if (d < l) l = d;
          }
        }
        if (u > Math.max(l, gap)) {
          const best = nearestTwo(vectors, i, centroids, k, two);
          upper[i] = two[0] as number;
          lower[i] = two[1] as number;
          if (best !== a) {
            this.move(i, a, best);
            changed += 1;
          }
          continue;
        }
      }
      upper[i] = u;
      lower[i] = l;
    }
    return changed;
  }
}

/** How many of the centroids that moved most an assignment measures before a full scan. */
const MOVERS = 3;

/** Indexes of the `count` largest values, largest first. */
function topShifts(values: Float64Array, count: number): Int32Array {
  const top = new Int32Array(count).fill(-1);
  for (let c = 0; c < values.length; c++) {
    const v = values[c] as number;
    let at = count;
    while (at > 0 && (top[at - 1] === -1 || v > (values[top[at - 1] as number] as number))) at--;
    if (at >= count) continue;
    for (let j = count - 1; j > at; j--) top[j] = top[j - 1] as number;
    top[at] = c;
  }
  return top;
}

/**
 * Greedy weighted k-means++ (scikit-learn's): each next centre is the best of 2 + ⌊ln k⌋
 * candidates drawn with probability ∝ weight × squared distance to the nearest centre so far,
 * "best" meaning the lowest potential (Σ weight × that squared distance) once it is added.
 */
function kMeansPlusPlus(
  vectors: Float64Array,
  weights: Float64Array,
  k: number,
  random: () => number,
): Float64Array {
  const n = weights.length;
  const trials = 2 + Math.floor(Math.log(k));
  const centroids = new Float64Array(k * 3);
  const nearest = new Float64Array(n);
  /** Running totals of weight × nearest, for drawing by binary search. */
  const cumulative = new Float64Array(n);
  const candidates = new Float64Array(3 * trials);
  const chosen = new Int32Array(trials);
  const potentials = new Float64Array(trials);
  const draw = (): number => {
    const total = cumulative[n - 1] as number;
    if (!(total > 0)) return Math.floor(random() * n);
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) > target) high = middle;
      else low = middle + 1;
    }
    return low;
  };

  let running = 0;
  for (let i = 0; i < n; i++) cumulative[i] = running += weights[i] as number;
  let pick = draw();
  for (let c = 0; ; c++) {
    const cx = vectors[3 * pick] as number;
    const cy = vectors[3 * pick + 1] as number;
    const cz = vectors[3 * pick + 2] as number;
    centroids[3 * c] = cx;
    centroids[3 * c + 1] = cy;
    centroids[3 * c + 2] = cz;
    running = 0;
    for (let i = 0; i < n; i++) {
      const dx = (vectors[3 * i] as number) - cx;
      const dy = (vectors[3 * i + 1] as number) - cy;
      const dz = (vectors[3 * i + 2] as number) - cz;
      const d = dx * dx + dy * dy + dz * dz;
      const near = c === 0 || d < (nearest[i] as number) ? d : (nearest[i] as number);
      nearest[i] = near;
      cumulative[i] = running += (weights[i] as number) * near;
    }
    if (c + 1 === k) return centroids;

    for (let t = 0; t < trials; t++) {
      const index = draw();
      chosen[t] = index;
      candidates[3 * t] = vectors[3 * index] as number;
      candidates[3 * t + 1] = vectors[3 * index + 1] as number;
      candidates[3 * t + 2] = vectors[3 * index + 2] as number;
    }
    for (let t = 0; t < trials; t++) {
      const px = candidates[3 * t] as number;
      const py = candidates[3 * t + 1] as number;
      const pz = candidates[3 * t + 2] as number;
      let potential = 0;
      for (let i = 0; i < n; i++) {
        const dx = (vectors[3 * i] as number) - px;
        const dy = (vectors[3 * i + 1] as number) - py;
        const dz = (vectors[3 * i + 2] as number) - pz;
        const d = dx * dx + dy * dy + dz * dz;
        const near = nearest[i] as number;
        potential += (weights[i] as number) * Math.min(d, near);
      }
      potentials[t] = potential;
    }
    let best = 0;
    for (let t = 1; t < trials; t++) {
      if ((potentials[t] as number) < (potentials[best] as number)) best = t;
    }
    pick = chosen[best] as number;
  }
}

/**
 * Local search from a settled run: repeatedly remove the cluster that is cheapest to dissolve
 * into its neighbours and split the one that gains most from a split in two (along its
 * principal axis, then 2-means), rerun Lloyd, and keep the change if the inertia fell. Pairs
 * are tried in order of their estimated effect; the search ends after `maxFailures` failed
 * pairs in a row. Returns the best run and how many moves were kept.
 */
function mergeAndSplit(
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
  let total = 0;
  let mx = 0;
  let my = 0;
  let mz = 0;
  for (const i of members) {
    const w = weights[i] as number;
    total += w;
    mx += w * (vectors[3 * i] as number);
    my += w * (vectors[3 * i + 1] as number);
    mz += w * (vectors[3 * i + 2] as number);
  }
  mx /= total;
  my /= total;
  mz /= total;
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
    const w = weights[i] as number;
    side[s] = (side[s] as number) + w;
    side[s + 1] = (side[s + 1] as number) + w * x;
    side[s + 2] = (side[s + 2] as number) + w * y;
    side[s + 3] = (side[s + 3] as number) + w * z;
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
      const s = da <= db ? 0 : 4;
      const w = weights[i] as number;
      after += w * Math.min(da, db);
      side[s] = (side[s] as number) + w;
      side[s + 1] = (side[s + 1] as number) + w * x;
      side[s + 2] = (side[s + 2] as number) + w * y;
      side[s + 3] = (side[s + 3] as number) + w * z;
    }
  }
  return before - after;
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
