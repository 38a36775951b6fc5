/**
 * Step 1 of the k-means, the summary: venues binned into cubic cells of the 3-D space, 2 × 2 × 2
 * cells merged until few enough remain, each cell standing for its venues with their total
 * weight at their weighted mean. For any clustering that keeps cells whole, the venues' inertia
 * is exactly the cells' inertia plus a constant (the scatter inside the cells).
 */

/** The points binned into grid cells: each cell's weighted mean and total weight. */
export interface GridSummary {
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
export function gridSummary(
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
