/**
 * map.png's strips: the title strip above the map (title, dates, totals, and a key of dot
 * sizes at its right end) and the legend strip below it (number, colour, label and RSVPs of
 * every cluster, largest first, in columns).
 */
import type { ClustersDocument } from "../clustering/build-clusters.js";
import { clusterTotals, dateRange, formatCount } from "../shared/map/captions.js";
import { dotRadius, hex, MAP_COLOURS } from "../shared/map/style.js";
import type { MapLayout, PlacedCluster } from "./layout.js";
import { Path, type Raster } from "./raster.js";
import { drawText, type MapFonts } from "./text.js";

export interface HeaderText {
  title?: string;
  /** First and last day of the data. */
  dates?: { first: string | null; last: string | null };
}

export function drawHeader(
  raster: Raster,
  document: ClustersDocument,
  layout: MapLayout,
  fonts: MapFonts,
  text: HeaderText,
  maxRsvps: number,
): void {
  const { scale, header } = layout;
  const x = 20 * scale;
  drawText(
    raster,
    fonts.semibold,
    text.title ?? "Where Meetup RSVPs cluster",
    x,
    header.y + 27 * scale,
    Math.max(12, 22 * scale),
    MAP_COLOURS.text,
  );
  const subtitle = [dateRange(text.dates) ?? "no dates", ...clusterTotals(document)].join("  ·  ");
  drawText(
    raster,
    fonts.regular,
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
  if (document.clusters.length > 0) drawSizeKey(raster, layout, fonts, maxRsvps);
}

/** Dot sizes, at the right end of the title strip. */
function drawSizeKey(raster: Raster, layout: MapLayout, fonts: MapFonts, maxRsvps: number): void {
  const { scale, header } = layout;
  const keys = sizeKeys(maxRsvps);
  if (keys.length === 0) return;
  const size = Math.max(8, 11 * scale);
  const centreY = header.y + header.height / 2;
  const baseline = centreY + size * 0.36;
  const keyColour = hex("#8a96a3");
  let right = raster.width - 20 * scale;
  for (const value of [...keys].reverse()) {
    const label = formatCount(value);
    right -= fonts.regular.measure(label, size).width;
    drawText(raster, fonts.regular, label, right, baseline, size, MAP_COLOURS.muted);
    const r = dotRadius(value, maxRsvps, scale);
    const cx = right - 4 * scale - r;
    const dot = new Path().circle(cx, centreY, r);
    raster.fill(dot, { ...keyColour, a: 0.35 });
    raster.stroke(dot, Math.max(0.8, 1 * scale), keyColour);
    right = cx - r - 14 * scale;
  }
  const caption = "RSVPs per cluster";
  const captionWidth = fonts.regular.measure(caption, size).width;
  const captionX = right - captionWidth + 6 * scale;
  drawText(raster, fonts.regular, caption, captionX, baseline, size, MAP_COLOURS.muted);
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

/** The legend strip; on a map of no clusters, a message in the middle of the map instead. */
export function drawLegend(
  raster: Raster,
  placed: readonly PlacedCluster[],
  layout: MapLayout,
  fonts: MapFonts,
): void {
  const { legend, scale } = layout;
  if (placed.length === 0) {
    drawNoClusters(raster, layout, fonts);
    return;
  }
  raster.fill(new Path().roundedRect(0, legend.y, raster.width, 1, 0), MAP_COLOURS.rule);
  const size = Math.max(8, 12 * scale);
  const numberSize = Math.max(8, 11 * scale);
  const swatch = 11 * scale;
  const top = legend.y + 11 * scale;
  const capacity = legend.columns * legend.rows;
  const shown = placed.length > capacity ? placed.slice(0, capacity - 1) : placed;
  /** The top-left of the i-th entry, and its text's baseline. */
  const cell = (i: number) => {
    const x = legend.x + Math.floor(i / legend.rows) * legend.columnWidth;
    const y = top + (i % legend.rows) * legend.rowHeight;
    return { x, y, baseline: y + legend.rowHeight / 2 + size * 0.36 };
  };
  shown.forEach((item, i) => {
    const { x, y, baseline } = cell(i);
    const number = String(item.number);
    const numberWidth = fonts.semibold.measure(number, numberSize).width;
    const numberX = x + 18 * scale - numberWidth;
    drawText(raster, fonts.semibold, number, numberX, baseline, numberSize, MAP_COLOURS.muted);
    const swatchX = x + 23 * scale;
    const swatchY = y + (legend.rowHeight - swatch) / 2;
    raster.fill(new Path().roundedRect(swatchX, swatchY, swatch, swatch, 2.5 * scale), item.colour);
    const count = formatCount(item.cluster.rsvps);
    const countWidth = fonts.regular.measure(count, numberSize).width;
    const countX = x + legend.columnWidth - 14 * scale - countWidth;
    drawText(raster, fonts.regular, count, countX, baseline, numberSize, MAP_COLOURS.muted);
    const labelX = swatchX + swatch + 6 * scale;
    const label = fonts.regular.truncate(item.cluster.label, size, countX - labelX - 8 * scale);
    drawText(raster, fonts.regular, label, labelX, baseline, size, MAP_COLOURS.text);
  });
  if (shown.length < placed.length) {
    const { x, baseline } = cell(shown.length);
    const more = `and ${placed.length - shown.length} more`;
    drawText(raster, fonts.regular, more, x + 23 * scale, baseline, size, MAP_COLOURS.muted);
  }
}

function drawNoClusters(raster: Raster, layout: MapLayout, fonts: MapFonts): void {
  const { map, scale } = layout;
  const message = "No clusters in this run";
  const size = Math.max(10, 16 * scale);
  const width = fonts.semibold.measure(message, size).width;
  drawText(
    raster,
    fonts.semibold,
    message,
    map.x + (map.width - width) / 2,
    map.y + map.height / 2,
    size,
    MAP_COLOURS.text,
    { width: 4 * scale, colour: MAP_COLOURS.halo },
  );
}
