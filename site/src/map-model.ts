/**
 * The interactive map's arithmetic, without a DOM: the view (world units to CSS pixels),
 * zooming about a point, fitting bounds (the first view, zoom to a cluster), keeping the world
 * in sight, animating between views, which labels fit, and hit testing.
 */
import { type Dot, LabelBoard } from "../../functions/shared/map/labels.js";

/** A rectangle by its corners. */
export interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Viewport {
  width: number;
  height: number;
}

/** Screen = world × k + (x, y), in CSS pixels. */
export interface View {
  k: number;
  x: number;
  y: number;
}

export function toScreen(view: View, wx: number, wy: number): [number, number] {
  return [wx * view.k + view.x, wy * view.k + view.y];
}

export function toWorld(view: View, sx: number, sy: number): [number, number] {
  return [(sx - view.x) / view.k, (sy - view.y) / view.k];
}

/** The view showing `bounds` whole and centred, `padding` px from the edges, at most `maxK`. */
export function fitView(bounds: Bounds, viewport: Viewport, padding = 0, maxK = Infinity): View {
  const width = Math.max(bounds.x1 - bounds.x0, 1e-9);
  const height = Math.max(bounds.y1 - bounds.y0, 1e-9);
  const k = Math.min(
    (viewport.width - 2 * padding) / width,
    (viewport.height - 2 * padding) / height,
    maxK,
  );
  const cx = (bounds.x0 + bounds.x1) / 2;
  const cy = (bounds.y0 + bounds.y1) / 2;
  return { k, x: viewport.width / 2 - cx * k, y: viewport.height / 2 - cy * k };
}

export interface ZoomLimits {
  minK: number;
  maxK: number;
}

/** Zooms by `factor` keeping the world point under (px, py) where it is. */
export function zoomAt(
  view: View,
  factor: number,
  px: number,
  py: number,
  limits: ZoomLimits,
): View {
  const k = Math.min(limits.maxK, Math.max(limits.minK, view.k * factor));
  const ratio = k / view.k;
  return { k, x: px - (px - view.x) * ratio, y: py - (py - view.y) * ratio };
}

export function panBy(view: View, dx: number, dy: number): View {
  return { k: view.k, x: view.x + dx, y: view.y + dy };
}

/**
 * Keeps the world in sight: at least `margin` px of `world` stays inside the viewport on each
 * axis (or the world is centred on an axis where it is smaller than the viewport).
 */
export function constrainView(view: View, world: Bounds, viewport: Viewport, margin = 80): View {
  const clamp = (offset: number, lo: number, hi: number, size: number) => {
    const start = lo * view.k + offset;
    const end = hi * view.k + offset;
    const length = end - start;
    if (length <= size) {
      // Smaller than the viewport: may move, but not out of it.
      const minOffset = -lo * view.k;
      const maxOffset = size - hi * view.k;
      return Math.min(Math.max(offset, minOffset), maxOffset);
    }
    const m = Math.min(margin, size / 2);
    if (end < m) return offset + (m - end);
    if (start > size - m) return offset - (start - (size - m));
    return offset;
  };
  return {
    k: view.k,
    x: clamp(view.x, world.x0, world.x1, viewport.width),
    y: clamp(view.y, world.y0, world.y1, viewport.height),
  };
}

/**
 * The view at `t` (0..1) of a move from `a` to `b`: the zoom changes at an even pace on a log
 * scale and the viewport's centre moves in world units, so the motion looks steady.
 */
export function interpolateView(a: View, b: View, t: number, viewport: Viewport): View {
  const s = t * t * (3 - 2 * t);
  const [ax, ay] = toWorld(a, viewport.width / 2, viewport.height / 2);
  const [bx, by] = toWorld(b, viewport.width / 2, viewport.height / 2);
  const k = a.k * (b.k / a.k) ** s;
  const cx = ax + (bx - ax) * s;
  const cy = ay + (by - ay) * s;
  return { k, x: viewport.width / 2 - cx * k, y: viewport.height / 2 - cy * k };
}

export function sameView(a: View, b: View): boolean {
  return Math.abs(a.k - b.k) < 1e-9 && Math.abs(a.x - b.x) < 1e-6 && Math.abs(a.y - b.y) < 1e-6;
}

export interface LabelRequest extends Dot {
  /** The label's box, px. */
  width: number;
  height: number;
}

export interface PlacedLabel {
  id: number;
  /** Top-left of the label's box, px. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The labels that fit, in the order given (largest cluster first), by map.png's placement
 * (functions/shared/map/labels.ts): each at the first of eight positions around its dot that
 * stays `margin` px inside the viewport, overlaps no label placed before and keeps `gap` px
 * clear of every other dot. A label without room is left out; zooming in makes room.
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  viewport: Viewport,
  options: { gap?: number; margin?: number } = {},
): PlacedLabel[] {
  const gap = options.gap ?? 3;
  const margin = options.margin ?? 2;
  const area = {
    x: margin,
    y: margin,
    width: viewport.width - 2 * margin,
    height: viewport.height - 2 * margin,
  };
  const board = new LabelBoard(requests, area, gap);
  const placed: PlacedLabel[] = [];
  for (const request of requests) {
    const box = board.place(request, request.width, request.height);
    if (box) placed.push({ id: request.id, ...box });
  }
  return placed;
}

/** Even-odd test of a point against flat rings [x0, y0, x1, y1, ...]. */
export function pointInRings(x: number, y: number, rings: readonly ArrayLike<number>[]): boolean {
  let inside = false;
  for (const ring of rings) {
    const n = ring.length;
    for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
      const xi = ring[i] as number;
      const yi = ring[i + 1] as number;
      const xj = ring[j] as number;
      const yj = ring[j + 1] as number;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

export interface HitTarget {
  id: number;
  /** The dot on screen, or null when the centroid does not project. */
  dot: { x: number; y: number; r: number } | null;
  /** The hull's rings in world units, and its area there. */
  hull: { rings: readonly ArrayLike<number>[]; area: number } | null;
}

/**
 * The cluster under the pointer at (sx, sy): the nearest dot within `slop` px of its edge
 * first, otherwise the smallest hull containing the point; null when none.
 */
export function hitTest(
  targets: readonly HitTarget[],
  view: View,
  sx: number,
  sy: number,
  slop = 4,
): number | null {
  let best: number | null = null;
  let bestDistance = Infinity;
  for (const target of targets) {
    if (!target.dot) continue;
    const distance = Math.hypot(target.dot.x - sx, target.dot.y - sy) - target.dot.r;
    if (distance <= slop && distance < bestDistance) {
      best = target.id;
      bestDistance = distance;
    }
  }
  if (best !== null) return best;
  const [wx, wy] = toWorld(view, sx, sy);
  let smallest = Infinity;
  for (const target of targets) {
    if (!target.hull || target.hull.area >= smallest) continue;
    if (pointInRings(wx, wy, target.hull.rings)) {
      best = target.id;
      smallest = target.hull.area;
    }
  }
  return best;
}

/**
 * Where a tooltip of `size` goes for a point at (x, y): below-right of it, flipped to stay
 * inside the viewport.
 */
export function tooltipPosition(
  x: number,
  y: number,
  size: { width: number; height: number },
  viewport: Viewport,
  offset = 14,
): { left: number; top: number } {
  let left = x + offset;
  let top = y + offset;
  if (left + size.width > viewport.width - 4) left = x - offset - size.width;
  if (top + size.height > viewport.height - 4) top = y - offset - size.height;
  return { left: Math.max(4, left), top: Math.max(4, top) };
}
