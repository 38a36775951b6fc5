/**
 * map.png's labels: placed by the shared label placement (functions/shared/map/labels.ts),
 * largest cluster first, beside the dot or a ring further out with a leader line; a cluster
 * without room for its label shows its legend number instead.
 */
import { type Dot, LabelBoard, type Rect } from "../shared/map/labels.js";
import { MAP_COLOURS } from "../shared/map/style.js";
import type { MapLayout, PlacedCluster } from "./layout.js";
import { Path, type Raster } from "./raster.js";
import { drawText, type MapFonts } from "./text.js";

export interface LabelPlacement {
  /** The cluster's number in the legend. */
  number: number;
  /** The label, its number where the label has no room, or null where neither has. */
  text: string | null;
  box: Rect | null;
  /** Set when the label stands away from its dot: a leader line joins them. */
  leader: { from: [number, number]; to: [number, number] } | null;
}

/**
 * Greedy label placement, largest cluster first: the eight positions around the dot, then the
 * same a ring further out (with a leader line, which must cross no other dot). Where the label
 * has no room, its number tries the same positions and more rings further out.
 */
export function placeLabels(
  placed: readonly PlacedCluster[],
  layout: MapLayout,
  measure: (text: string) => number,
  boxHeight: number,
): LabelPlacement[] {
  const { scale } = layout;
  const dots: Dot[] = placed.flatMap((item) =>
    item.at ? [{ id: item.number, x: item.at[0], y: item.at[1], r: item.radius }] : [],
  );
  const area = { ...layout.map, y: layout.map.y + 2, height: layout.map.height - 4 };
  const board = new LabelBoard(dots, area, 3 * scale);
  const clearOfDots = (item: PlacedCluster, box: Rect, ring: number) => {
    const leader = leaderLine(item, box, ring);
    return (
      !leader ||
      dots.every(
        (dot) => dot.id === item.number || distanceToSegment(dot.x, dot.y, leader) > dot.r + 1,
      )
    );
  };
  return placed.map((item) => {
    const none = { number: item.number, text: null, box: null, leader: null };
    if (!item.at) return none;
    const dot = { id: item.number, x: item.at[0], y: item.at[1], r: item.radius };
    const attempts = [
      { text: item.cluster.label, rings: [0, 14 * scale] },
      { text: String(item.number), rings: [0, 8, 16, 26, 38].map((ring) => ring * scale) },
    ];
    for (const attempt of attempts) {
      const width = measure(attempt.text) + 4 * scale;
      for (const ring of attempt.rings) {
        const box = board.place(dot, width, boxHeight, ring, (box) => clearOfDots(item, box, ring));
        if (box) {
          return {
            number: item.number,
            text: attempt.text,
            box,
            leader: leaderLine(item, box, ring),
          };
        }
      }
    }
    return none;
  });
}

function distanceToSegment(
  x: number,
  y: number,
  segment: { from: [number, number]; to: [number, number] },
): number {
  const [ax, ay] = segment.from;
  const [bx, by] = segment.to;
  const length2 = (bx - ax) ** 2 + (by - ay) ** 2;
  const t =
    length2 === 0
      ? 0
      : Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / length2));
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
}

/** From the dot's edge to the nearest point of a label placed away from it. */
function leaderLine(item: PlacedCluster, box: Rect, ring: number): LabelPlacement["leader"] {
  if (ring < 10 || !item.at) return null;
  const [x, y] = item.at;
  const tx = Math.max(box.x, Math.min(box.x + box.width, x));
  const ty = Math.max(box.y, Math.min(box.y + box.height, y));
  const length = Math.hypot(tx - x, ty - y);
  if (length <= item.radius + 2) return null;
  const from: [number, number] = [
    x + ((tx - x) / length) * item.radius,
    y + ((ty - y) / length) * item.radius,
  ];
  return { from, to: [tx, ty] };
}

/** Places the labels and draws them, each over a halo, with its leader line. */
export function drawLabels(
  raster: Raster,
  placed: readonly PlacedCluster[],
  layout: MapLayout,
  fonts: MapFonts,
): LabelPlacement[] {
  const { scale } = layout;
  const size = Math.max(9, 12.5 * scale);
  const face = fonts.semibold;
  const capHeight = face.measure("H", size).capHeight;
  const boxHeight = capHeight + 6 * scale;
  const labels = placeLabels(placed, layout, (text) => face.measure(text, size).width, boxHeight);
  for (const label of labels) {
    if (!label.text || !label.box) continue;
    if (label.leader) {
      const line = new Path();
      line.moveTo(...label.leader.from);
      line.lineTo(...label.leader.to);
      raster.stroke(line, Math.max(0.8, 1 * scale), MAP_COLOURS.muted);
    }
    drawText(
      raster,
      face,
      label.text,
      label.box.x + 2 * scale,
      label.box.y + boxHeight / 2 + capHeight / 2,
      size,
      MAP_COLOURS.text,
      { width: 3.2 * scale, colour: MAP_COLOURS.halo },
    );
  }
  return labels;
}
