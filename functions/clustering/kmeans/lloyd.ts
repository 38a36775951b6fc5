/**
 * Lloyd's iterations (assign every point to its nearest centroid, move every centroid to the
 * weighted mean of its points, repeat) with Hamerly's bounds (G. Hamerly, "Making k-means even
 * faster", SDM 2010): each point keeps an upper bound on the distance to its own centroid and a
 * lower bound on the distance to every other one; when centroids move, the bounds move by the
 * shifts, and a point whose upper bound is below max(lower bound, half the distance from its
 * centroid to the nearest other one) cannot change cluster and is skipped. When the lower bound
 * fails only because a few centroids moved far (as after a merge-and-split move), those few are
 * measured instead of all k. Cluster sums are updated only for the points that change cluster.
 * A run stops when no point changes cluster, or (scikit-learn's `tol`) when the sum of the
 * squared centroid shifts of an iteration is at most `tolerance` × the mean per-coordinate
 * variance of the points, after one last assignment to the final centroids. An empty cluster
 * takes the farthest point.
 */
import type { GridSummary } from "./grid-summary.js";
import { distance2, inertia, nearestTwo } from "./vectors.js";

export interface Run {
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
export function lloyd(
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
export function relloyd(
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
export function iterate(
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

/**
 * Lloyd's iterations with Hamerly's bounds. `upper[i]` ≥ distance from point i to its centroid,
 * `lower[i]` ≤ distance to any other centroid; both are kept valid across centroid moves.
 */
export class Lloyd {
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
