/**
 * Label placement, shared by map.png and the page's map: greedy, in the order asked (largest
 * cluster first), each label at the first of eight positions around its dot where it stays in
 * the area, overlaps no label placed before and keeps clear of every dot. Dots and labels are
 * binned in a coarse grid, so placing stays cheap with hundreds of clusters (the page places
 * them every frame). Browser-safe: no Node module.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A cluster's dot, in the same units as the labels (pixels). */
export interface Dot {
  id: number;
  x: number;
  y: number;
  r: number;
}

export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Whether (x, y) is in `rect`, edges included. */
export function inside(rect: Rect, x: number, y: number): boolean {
  return x >= rect.x && x <= rect.x + rect.width && y >= rect.y && y <= rect.y + rect.height;
}

export function distanceToRect(x: number, y: number, rect: Rect): number {
  const dx = Math.max(rect.x - x, 0, x - (rect.x + rect.width));
  const dy = Math.max(rect.y - y, 0, y - (rect.y + rect.height));
  return Math.hypot(dx, dy);
}

/**
 * The eight boxes of `width` × `height` around (x, y), `distance` from it, in order of
 * preference: right, left, the four diagonals (above right, below right, above left, below
 * left), above, below.
 */
export function labelPositions(
  x: number,
  y: number,
  distance: number,
  width: number,
  height: number,
): Rect[] {
  const r = distance;
  const d = r * Math.SQRT1_2;
  return [
    { x: x + r, y: y - height / 2, width, height },
    { x: x - r - width, y: y - height / 2, width, height },
    { x: x + d, y: y - d - height, width, height },
    { x: x + d, y: y + d, width, height },
    { x: x - d - width, y: y - d - height, width, height },
    { x: x - d - width, y: y + d, width, height },
    { x: x - width / 2, y: y - r - height, width, height },
    { x: x - width / 2, y: y + r, width, height },
  ];
}

const CELL = 64;

/** The labels placed so far, among the dots, in an area: where the next one fits. */
export class LabelBoard {
  private readonly grid = new Map<number, { rects: Rect[]; dots: Dot[] }>();

  /**
   * @param area where labels may go
   * @param gap between a dot's edge and its label, and the least room from any other dot
   */
  constructor(
    dots: readonly Dot[],
    private readonly area: Rect,
    private readonly gap: number,
  ) {
    for (const dot of dots) {
      for (const cell of cellsOf(dot.x - dot.r, dot.y - dot.r, dot.x + dot.r, dot.y + dot.r)) {
        this.bin(cell).dots.push(dot);
      }
    }
  }

  /**
   * Places a `width` × `height` label of `dot` at the first of its eight positions, `ring`
   * further out than beside it, that fits and that `accept` (when given) takes; null if none.
   */
  place(
    dot: Dot,
    width: number,
    height: number,
    ring = 0,
    accept?: (box: Rect) => boolean,
  ): Rect | null {
    const candidates = labelPositions(dot.x, dot.y, dot.r + ring + this.gap, width, height);
    const box = candidates.find((box) => this.fits(box, dot.id) && (!accept || accept(box)));
    if (!box) return null;
    for (const cell of cellsOf(box.x, box.y, box.x + box.width, box.y + box.height)) {
      this.bin(cell).rects.push(box);
    }
    return box;
  }

  /** In the area, over no label placed, clear of the other dots (and of its own dot's edge). */
  fits(box: Rect, own: number): boolean {
    if (!inside(this.area, box.x, box.y)) return false;
    if (!inside(this.area, box.x + box.width, box.y + box.height)) return false;
    const { gap } = this;
    const seen = new Set<Rect | Dot>();
    const near = cellsOf(
      box.x - gap,
      box.y - gap,
      box.x + box.width + gap,
      box.y + box.height + gap,
    );
    for (const cell of near) {
      const entry = this.grid.get(cell);
      if (!entry) continue;
      for (const rect of entry.rects) {
        if (!seen.has(rect) && overlaps(box, rect)) return false;
        seen.add(rect);
      }
      for (const dot of entry.dots) {
        if (seen.has(dot)) continue;
        seen.add(dot);
        const clearance = dot.id === own ? 1 : gap;
        if (distanceToRect(dot.x, dot.y, box) < dot.r + clearance) return false;
      }
    }
    return true;
  }

  private bin(cell: number): { rects: Rect[]; dots: Dot[] } {
    let entry = this.grid.get(cell);
    if (!entry) {
      entry = { rects: [], dots: [] };
      this.grid.set(cell, entry);
    }
    return entry;
  }
}

/** The grid cells a box from (x0, y0) to (x1, y1) touches, each as one number. */
function cellsOf(x0: number, y0: number, x1: number, y1: number): number[] {
  const cells: number[] = [];
  for (let cx = Math.floor(x0 / CELL); cx <= Math.floor(x1 / CELL); cx++) {
    for (let cy = Math.floor(y0 / CELL); cy <= Math.floor(y1 / CELL); cy++) {
      cells.push(cx * 100_003 + cy);
    }
  }
  return cells;
}
