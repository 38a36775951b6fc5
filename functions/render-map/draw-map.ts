/**
 * The daily map: a static PNG of the world (Natural Earth basemap, Natural Earth I projection)
 * with every cluster's hull, a dot at its centroid sized by RSVPs, its label where there is
 * room, a title strip with the date range and totals, and a legend listing every cluster.
 * A pure function of its inputs; rendering is plain TypeScript (raster.ts), no browser.
 *
 * Layout, top to bottom: title strip, map (cut at 56°S and 84°N, Antarctica and the Arctic
 * Ocean add nothing to a map of meetups), legend strip (number, colour, label, RSVPs per
 * cluster, largest first). On the map, labels are placed greedily, largest cluster first,
 * beside the dot, or a little away from it with a leader line, where they overlap no other
 * label or dot; a cluster without room for its label shows its legend number instead.
 */
import {
  type GeoPermissibleObjects,
  type GeoProjection,
  geoGraticule,
  geoNaturalEarth1,
  geoPath,
} from "d3-geo";
import type { Cluster, ClustersDocument } from "../clustering/build-clusters.js";
import type { Basemap } from "../shared/atlas-data.js";
import { hullPolygon } from "../shared/hull-polygon.js";
import { assignColours, PALETTE } from "./palette.js";
import { encodePng } from "./png.js";
import { hex, Path, Raster, type Rgba } from "./raster.js";
import type { Typeface } from "./text.js";

export interface MapFonts {
  regular: Typeface;
  semibold: Typeface;
}

export interface MapSize {
  width: number;
  height: number;
}

export interface MapOptions extends MapSize {
  fonts: MapFonts;
  /** First and last day of the data, for the title strip. */
  dates?: { first: string | null; last: string | null };
  title?: string;
}

export const DEFAULT_SIZE: MapSize = { width: 1600, height: 900 };

/** The basemap's and the text's colours. */
export const MAP_COLOURS = {
  background: hex("#fbfaf7"),
  ocean: hex("#dce8f1"),
  graticule: hex("#c8d9e6"),
  land: hex("#f1ede4"),
  coast: hex("#a7b9c9"),
  border: hex("#cbc3b4"),
  text: hex("#1f2a36"),
  muted: hex("#5f6b78"),
  rule: hex("#e2ded5"),
  halo: hex("#ffffff", 0.88),
};

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MapLayout {
  scale: number;
  header: Rect;
  map: Rect;
  legend: Rect & { columns: number; rows: number; columnWidth: number; rowHeight: number };
  projection: GeoProjection;
}

/** The latitudes the map shows at least: from south of Cape Horn and Tasmania to Svalbard. */
const SOUTH = -56;
const NORTH = 84;

/** Where everything goes for a map of `clusterCount` clusters; the projection maps [lon, lat]. */
export function mapLayout(size: MapSize, clusterCount: number): MapLayout {
  const { width, height } = size;
  const scale = Math.max(0.5, Math.min(width / DEFAULT_SIZE.width, height / DEFAULT_SIZE.height));
  const pad = Math.round(20 * scale);
  const header: Rect = { x: 0, y: 0, width, height: Math.round(60 * scale) };
  const rowHeight = Math.round(18 * scale);
  const columns = Math.max(1, Math.floor((width - 2 * pad) / (250 * scale)));
  const maxRows = Math.max(1, Math.floor((height * 0.3) / rowHeight));
  const rows = Math.min(maxRows, Math.ceil(clusterCount / columns));
  const legendHeight = clusterCount === 0 ? 0 : rows * rowHeight + Math.round(22 * scale);
  const legend = {
    x: pad,
    y: height - legendHeight,
    width: width - 2 * pad,
    height: legendHeight,
    columns,
    rows,
    columnWidth: (width - 2 * pad) / columns,
    rowHeight,
  };
  const map: Rect = {
    x: 0,
    y: header.height,
    width,
    height: height - header.height - legendHeight,
  };
  const frame: [number, number][] = [];
  for (let lon = -180; lon <= 180; lon += 2) frame.push([lon, SOUTH], [lon, NORTH]);
  for (let lat = SOUTH; lat <= NORTH; lat += 2) frame.push([-180, lat], [180, lat]);
  const inset = Math.round(8 * scale);
  const projection = geoNaturalEarth1()
    .fitExtent(
      [
        [map.x + inset, map.y + inset],
        [map.x + map.width - inset, map.y + map.height - inset],
      ],
      { type: "MultiPoint", coordinates: frame },
    )
    .clipExtent([
      [map.x, map.y],
      [map.x + map.width, map.y + map.height],
    ]);
  return { scale, header, map, legend, projection };
}

interface PlacedCluster {
  cluster: Cluster;
  number: number;
  colour: Rgba;
  /** Projected centroid, or null when it falls outside the map. */
  at: [number, number] | null;
  radius: number;
}

/** The map as an RGBA raster, for {@link drawMap} and for checks of single pixels. */
export function renderMap(
  document: ClustersDocument,
  basemap: Basemap,
  options: MapOptions,
): { raster: Raster; layout: MapLayout; labels: LabelPlacement[] } {
  const clusters = document.clusters;
  const layout = mapLayout(options, clusters.length);
  const { projection, scale } = layout;
  const raster = new Raster(options.width, options.height, MAP_COLOURS.background);
  const project = (object: GeoPermissibleObjects): Path => {
    const path = new Path();
    geoPath(projection, path)(object);
    return path;
  };

  // Basemap.
  raster.fill(project({ type: "Sphere" }), MAP_COLOURS.ocean);
  raster.stroke(
    project(geoGraticule().step([30, 30])()),
    Math.max(0.5, 0.8 * scale),
    MAP_COLOURS.graticule,
  );
  const land = project(basemap.land);
  raster.fill(land, MAP_COLOURS.land);
  raster.stroke(project(basemap.borders), Math.max(0.4, 0.7 * scale), MAP_COLOURS.border);
  raster.stroke(land, Math.max(0.4, 0.7 * scale), MAP_COLOURS.coast);

  // Clusters: hulls, then dots (largest first, so small ones stay on top), then labels.
  const colours = assignColours(clusters.map((cluster) => cluster.centroid));
  const maxRsvps = Math.max(1, ...clusters.map((cluster) => cluster.rsvps));
  const placed: PlacedCluster[] = clusters.map((cluster, i) => {
    const at = projection([cluster.centroid.lon, cluster.centroid.lat]);
    return {
      cluster,
      number: i + 1,
      colour: PALETTE[colours[i] as number] as Rgba,
      at: at && inside(layout.map, at[0], at[1]) ? at : null,
      radius: dotRadius(cluster.rsvps, maxRsvps, scale),
    };
  });
  for (const item of placed) {
    const polygon = hullPolygon(item.cluster.hull);
    if (!polygon) continue;
    const hull = project(polygon);
    raster.fill(hull, { ...item.colour, a: 0.3 });
    raster.stroke(hull, Math.max(0.8, 1.4 * scale), { ...item.colour, a: 0.9 });
  }
  for (const item of placed) {
    if (!item.at) continue;
    const dot = new Path().circle(item.at[0], item.at[1], item.radius);
    raster.fill(dot, item.colour);
    raster.stroke(dot, Math.max(1, 1.5 * scale), hex("#ffffff", 0.95));
  }
  const labels = drawLabels(raster, placed, layout, options.fonts);

  drawHeader(raster, document, layout, options, maxRsvps);
  drawLegend(raster, placed, layout, options.fonts);
  const credit = "Basemap: Natural Earth (world-atlas) · Natural Earth I projection";
  const creditSize = Math.max(8, 10 * scale);
  const creditWidth = options.fonts.regular.measure(credit, creditSize).width;
  text(
    raster,
    options.fonts.regular,
    credit,
    layout.map.x + layout.map.width - creditWidth - 8 * scale,
    layout.map.y + layout.map.height - 6 * scale,
    creditSize,
    MAP_COLOURS.muted,
  );
  return { raster, layout, labels };
}

/** The map as a PNG. */
export function drawMap(
  document: ClustersDocument,
  basemap: Basemap,
  options: MapOptions,
): Uint8Array {
  const { raster } = renderMap(document, basemap, options);
  return encodePng(raster);
}

function dotRadius(rsvps: number, maxRsvps: number, scale: number): number {
  return (3 + 11 * Math.sqrt(Math.max(0, rsvps) / maxRsvps)) * scale;
}

function inside(rect: Rect, x: number, y: number): boolean {
  return x >= rect.x && x <= rect.x + rect.width && y >= rect.y && y <= rect.y + rect.height;
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function text(
  raster: Raster,
  face: Typeface,
  content: string,
  x: number,
  baseline: number,
  size: number,
  colour: Rgba,
  halo?: { width: number; colour: Rgba },
): void {
  const path = face.path(content, x, baseline, size);
  if (halo) raster.stroke(path, halo.width, halo.colour);
  raster.fill(path, colour);
}

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
 * Greedy label placement, largest cluster first: eight positions around the dot, then the same
 * a ring further out (with a leader line), the first that stays on the map, overlaps no label
 * placed before, keeps clear of other dots and whose leader crosses none. Where the label has
 * no room, its number tries the same positions and more rings further out.
 */
function placeLabels(
  placed: readonly PlacedCluster[],
  layout: MapLayout,
  measure: (text: string) => number,
  boxHeight: number,
): LabelPlacement[] {
  const { scale } = layout;
  const gap = 3 * scale;
  const taken: Rect[] = [];
  const dots = placed.flatMap((item) =>
    item.at ? [{ x: item.at[0], y: item.at[1], r: item.radius, number: item.number }] : [],
  );
  const margin = 3 * scale;
  const bounds = { ...layout.map, y: layout.map.y + 2, height: layout.map.height - 4 };
  const fits = (item: PlacedCluster, box: Rect, ring: number) => {
    if (!inside(bounds, box.x, box.y)) return false;
    if (!inside(bounds, box.x + box.width, box.y + box.height)) return false;
    if (taken.some((other) => overlaps(box, other))) return false;
    const leader = leaderLine(item, box, ring);
    return dots.every((dot) => {
      const own = dot.number === item.number;
      if (distanceToRect(dot.x, dot.y, box) < dot.r + (own ? 1 : margin)) return false;
      return own || !leader || distanceToSegment(dot.x, dot.y, leader) > dot.r + 1;
    });
  };
  return placed.map((item) => {
    if (!item.at) return { number: item.number, text: null, box: null, leader: null };
    const [x, y] = item.at;
    const attempts = [
      { text: item.cluster.label, rings: [0, 14 * scale] },
      { text: String(item.number), rings: [0, 8, 16, 26, 38].map((ring) => ring * scale) },
    ];
    for (const attempt of attempts) {
      const width = measure(attempt.text) + 4 * scale;
      for (const ring of attempt.rings) {
        const r = item.radius + ring;
        const d = r * Math.SQRT1_2;
        const h = boxHeight;
        const box = [
          { x: x + r + gap, y: y - h / 2, width, height: h },
          { x: x - r - gap - width, y: y - h / 2, width, height: h },
          { x: x + d, y: y - d - h, width, height: h },
          { x: x + d, y: y + d, width, height: h },
          { x: x - d - width, y: y - d - h, width, height: h },
          { x: x - d - width, y: y + d, width, height: h },
          { x: x - width / 2, y: y - r - gap - h, width, height: h },
          { x: x - width / 2, y: y + r + gap, width, height: h },
        ].find((candidate) => fits(item, candidate, ring));
        if (box) {
          taken.push(box);
          return {
            number: item.number,
            text: attempt.text,
            box,
            leader: leaderLine(item, box, ring),
          };
        }
      }
    }
    return { number: item.number, text: null, box: null, leader: null };
  });
}

function distanceToRect(x: number, y: number, rect: Rect): number {
  const dx = Math.max(rect.x - x, 0, x - (rect.x + rect.width));
  const dy = Math.max(rect.y - y, 0, y - (rect.y + rect.height));
  return Math.hypot(dx, dy);
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

function drawLabels(
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
    text(
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

function drawHeader(
  raster: Raster,
  document: ClustersDocument,
  layout: MapLayout,
  options: MapOptions,
  maxRsvps: number,
): void {
  const { scale, header } = layout;
  const { regular, semibold } = options.fonts;
  const x = 20 * scale;
  const titleSize = Math.max(12, 22 * scale);
  text(
    raster,
    semibold,
    options.title ?? "Where Meetup RSVPs cluster",
    x,
    header.y + 27 * scale,
    titleSize,
    MAP_COLOURS.text,
  );
  const rsvps = document.clusters.reduce((sum, cluster) => sum + cluster.rsvps, 0);
  const n = document.clusters.length;
  const subtitle = [
    dateRangeText(options.dates),
    `${n} ${n === 1 ? "cluster" : "clusters"}`,
    `${formatCount(rsvps)} RSVPs at ${formatCount(document.venuesClustered)} venues`,
  ].join("  ·  ");
  text(
    raster,
    regular,
    subtitle,
    x,
    header.y + 48 * scale,
    Math.max(9, 14 * scale),
    MAP_COLOURS.muted,
  );
  raster.fill(
    new Path().roundedRect(0, header.y + header.height - 1, raster.width, 1, 0),
    MAP_COLOURS.rule,
  );

  // Dot sizes, at the right end of the strip.
  const keys = sizeKeys(maxRsvps);
  if (n === 0 || keys.length === 0) return;
  const keySize = Math.max(8, 11 * scale);
  let right = raster.width - 20 * scale;
  const centreY = header.y + header.height / 2;
  for (const value of [...keys].reverse()) {
    const label = formatCount(value);
    const labelWidth = regular.measure(label, keySize).width;
    right -= labelWidth;
    text(raster, regular, label, right, centreY + keySize * 0.36, keySize, MAP_COLOURS.muted);
    const r = dotRadius(value, maxRsvps, scale);
    const cx = right - 4 * scale - r;
    const dot = new Path().circle(cx, centreY, r);
    raster.fill(dot, hex("#8a96a3", 0.35));
    raster.stroke(dot, Math.max(0.8, 1 * scale), hex("#8a96a3"));
    right = cx - r - 14 * scale;
  }
  const caption = "RSVPs per cluster";
  const captionWidth = regular.measure(caption, keySize).width;
  text(
    raster,
    regular,
    caption,
    right - captionWidth + 6 * scale,
    centreY + keySize * 0.36,
    keySize,
    MAP_COLOURS.muted,
  );
}

function drawLegend(
  raster: Raster,
  placed: readonly PlacedCluster[],
  layout: MapLayout,
  fonts: MapFonts,
): void {
  const { legend, scale } = layout;
  if (placed.length === 0) {
    const message = "No clusters in this run";
    const size = Math.max(10, 16 * scale);
    const width = fonts.semibold.measure(message, size).width;
    text(
      raster,
      fonts.semibold,
      message,
      layout.map.x + (layout.map.width - width) / 2,
      layout.map.y + layout.map.height / 2,
      size,
      MAP_COLOURS.text,
      { width: 4 * scale, colour: MAP_COLOURS.halo },
    );
    return;
  }
  raster.fill(new Path().roundedRect(0, legend.y, raster.width, 1, 0), MAP_COLOURS.rule);
  const size = Math.max(8, 12 * scale);
  const numberSize = Math.max(8, 11 * scale);
  const swatch = 11 * scale;
  const top = legend.y + 11 * scale;
  const capacity = legend.columns * legend.rows;
  const shown = placed.length > capacity ? placed.slice(0, capacity - 1) : placed;
  shown.forEach((item, i) => {
    const column = Math.floor(i / legend.rows);
    const row = i % legend.rows;
    const x = legend.x + column * legend.columnWidth;
    const y = top + row * legend.rowHeight;
    const baseline = y + legend.rowHeight / 2 + size * 0.36;
    const number = String(item.number);
    const numberWidth = fonts.semibold.measure(number, numberSize).width;
    text(
      raster,
      fonts.semibold,
      number,
      x + 18 * scale - numberWidth,
      baseline,
      numberSize,
      MAP_COLOURS.muted,
    );
    const swatchX = x + 23 * scale;
    const swatchY = y + (legend.rowHeight - swatch) / 2;
    raster.fill(new Path().roundedRect(swatchX, swatchY, swatch, swatch, 2.5 * scale), item.colour);
    const count = formatCount(item.cluster.rsvps);
    const countWidth = fonts.regular.measure(count, numberSize).width;
    const countX = x + legend.columnWidth - 14 * scale - countWidth;
    text(raster, fonts.regular, count, countX, baseline, numberSize, MAP_COLOURS.muted);
    const labelX = swatchX + swatch + 6 * scale;
    const label = fonts.regular.truncate(item.cluster.label, size, countX - labelX - 8 * scale);
    text(raster, fonts.regular, label, labelX, baseline, size, MAP_COLOURS.text);
  });
  if (shown.length < placed.length) {
    const i = shown.length;
    const x = legend.x + Math.floor(i / legend.rows) * legend.columnWidth + 23 * scale;
    const y = top + (i % legend.rows) * legend.rowHeight + legend.rowHeight / 2 + size * 0.36;
    text(
      raster,
      fonts.regular,
      `and ${placed.length - shown.length} more`,
      x,
      y,
      size,
      MAP_COLOURS.muted,
    );
  }
}

/** "2018-05-20", "2018-05-20 – 2018-05-26", or "no dates". */
export function dateRangeText(
  dates: { first: string | null; last: string | null } | undefined,
): string {
  const first = dates?.first ?? null;
  const last = dates?.last ?? null;
  if (first && last) return first === last ? first : `${first} – ${last}`;
  return first ?? last ?? "no dates";
}

const counts = new Intl.NumberFormat("en-US");

function formatCount(value: number): string {
  return counts.format(value);
}

/** Up to three round RSVP counts for the dot-size key, the largest near the biggest cluster. */
function sizeKeys(maxRsvps: number): number[] {
  const round = (value: number) => {
    const magnitude = 10 ** Math.floor(Math.log10(value));
    const leading = value / magnitude;
    return (leading >= 5 ? 5 : leading >= 2 ? 2 : 1) * magnitude;
  };
  const largest = round(maxRsvps);
  return [...new Set([round(largest / 20), round(largest / 4), largest])].filter(
    (value) => value >= 1 && value <= maxRsvps,
  );
}
