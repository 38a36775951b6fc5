/**
 * One frame of the cluster map on a 2D canvas: the basemap and the hulls are Path2D objects in
 * world units, drawn through the canvas transform of the view; dots and labels are drawn in
 * pixels so they keep their size. The colours and dot sizes are map.png's
 * (functions/shared/map/style.ts).
 */
import { assignColours, PALETTE } from "../../functions/shared/map/palette.js";
import { css, dotRadius, HULL_OPACITY, MAP_COLOURS } from "../../functions/shared/map/style.js";
import type { Basemap, ClusterShape, Shape } from "./map-geometry.js";
import {
  type Bounds,
  type LabelRequest,
  placeLabels,
  type View,
  type Viewport,
} from "./map-model.js";

const LABEL_FONT = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LABEL_HEIGHT = 16;
/** A cluster's colour where the palette has none. */
const FALLBACK_COLOUR = { r: 90, g: 100, b: 110, a: 1 };

const COLOURS = {
  background: css(MAP_COLOURS.background),
  ocean: css(MAP_COLOURS.ocean),
  graticule: css(MAP_COLOURS.graticule),
  land: css(MAP_COLOURS.land),
  coast: css(MAP_COLOURS.coast),
  border: css(MAP_COLOURS.border),
  text: css(MAP_COLOURS.text),
  halo: css(MAP_COLOURS.halo),
  dotOutline: css(MAP_COLOURS.dotOutline),
};

export interface BasemapPaths {
  resolution: string;
  sphere: Path2D;
  graticule: Path2D;
  land: Path2D;
  borders: Path2D;
}

/** A cluster ready to draw. */
export interface Drawable extends ClusterShape {
  colour: string;
  fill: string;
  stroke: string;
  hullPath: Path2D | null;
  radius: number;
  labelWidth: number;
}

export function toPath(shape: Shape): Path2D {
  const path = new Path2D();
  shape.rings.forEach((ring, r) => {
    path.moveTo(ring[0] as number, ring[1] as number);
    for (let i = 2; i < ring.length; i += 2) path.lineTo(ring[i] as number, ring[i + 1] as number);
    if (shape.closed[r]) path.closePath();
  });
  return path;
}

export function basemapPaths(basemap: Basemap, resolution: string): BasemapPaths {
  return {
    resolution,
    sphere: toPath(basemap.sphere),
    graticule: toPath(basemap.graticule),
    land: toPath(basemap.land),
    borders: toPath(basemap.borders),
  };
}

/** Projected clusters (largest first) with their colours as map.png assigns them. */
export function drawables(shapes: readonly ClusterShape[], context: CanvasRenderingContext2D) {
  const colours = assignColours(shapes.map((shape) => shape.cluster.centroid));
  const maxRsvps = Math.max(1, ...shapes.map((shape) => shape.cluster.rsvps));
  context.font = LABEL_FONT;
  return shapes.map((shape, i): Drawable => {
    const colour = PALETTE[colours[i] as number] ?? FALLBACK_COLOUR;
    return {
      ...shape,
      colour: css(colour, 1),
      fill: css(colour, HULL_OPACITY.fill),
      stroke: css(colour, HULL_OPACITY.stroke),
      hullPath: shape.hull ? toPath(shape.hull) : null,
      radius: dotRadius(shape.cluster.rsvps, maxRsvps),
      labelWidth: context.measureText(shape.cluster.label).width + 4,
    };
  });
}

/** Everything one frame shows. */
export interface Frame {
  view: View;
  viewport: Viewport;
  /** Device pixels per CSS pixel. */
  dpr: number;
  /** The basemap, or null before it loads (or when it could not be): plain ocean over `world`. */
  basemap: BasemapPaths | null;
  world: Bounds;
  clusters: readonly Drawable[];
  /** The cluster under the pointer or in focus: drawn over the others, its label first. */
  active: number | null;
}

export function paintFrame(ctx: CanvasRenderingContext2D, frame: Frame): void {
  const { dpr } = frame;
  const { width, height } = frame.viewport;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = COLOURS.background;
  ctx.fillRect(0, 0, width, height);
  paintWorld(ctx, frame);
  // Dots and labels in pixels.
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  paintLabels(ctx, frame, paintDots(ctx, frame));
}

/** The basemap and the hulls, in world units. */
function paintWorld(
  ctx: CanvasRenderingContext2D,
  { view, dpr, basemap, world, clusters, active }: Frame,
): void {
  const { k } = view;
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * view.x, dpr * view.y);
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  if (basemap) {
    ctx.fillStyle = COLOURS.ocean;
    ctx.fill(basemap.sphere);
    ctx.strokeStyle = COLOURS.graticule;
    ctx.lineWidth = 0.8 / k;
    ctx.stroke(basemap.graticule);
    ctx.fillStyle = COLOURS.land;
    ctx.fill(basemap.land);
    ctx.strokeStyle = COLOURS.border;
    ctx.lineWidth = 0.7 / k;
    ctx.stroke(basemap.borders);
    ctx.strokeStyle = COLOURS.coast;
    ctx.stroke(basemap.land);
  } else {
    ctx.fillStyle = COLOURS.ocean;
    ctx.fillRect(world.x0, world.y0, world.x1 - world.x0, world.y1 - world.y0);
  }
  // Hulls, largest cluster first so that smaller ones stay on top.
  for (const item of clusters) {
    if (!item.hullPath) continue;
    const isActive = item.index === active;
    ctx.globalAlpha = active === null || isActive ? 1 : 0.55;
    ctx.fillStyle = item.fill;
    ctx.fill(item.hullPath);
    ctx.strokeStyle = item.stroke;
    ctx.lineWidth = (isActive ? 2.6 : 1.3) / k;
    ctx.stroke(item.hullPath);
  }
  ctx.globalAlpha = 1;
}

/** The dots on screen (and just off it); their labels, to place. */
function paintDots(
  ctx: CanvasRenderingContext2D,
  { view, viewport, clusters, active }: Frame,
): LabelRequest[] {
  const { width, height } = viewport;
  const requests: LabelRequest[] = [];
  for (const item of clusters) {
    if (!item.at) continue;
    const sx = item.at[0] * view.k + view.x;
    const sy = item.at[1] * view.k + view.y;
    if (sx < -20 || sy < -20 || sx > width + 20 || sy > height + 20) continue;
    const isActive = item.index === active;
    ctx.globalAlpha = active === null || isActive ? 1 : 0.6;
    ctx.beginPath();
    ctx.arc(sx, sy, item.radius, 0, 2 * Math.PI);
    ctx.fillStyle = item.colour;
    ctx.fill();
    ctx.lineWidth = isActive ? 2.5 : 1.5;
    ctx.strokeStyle = isActive ? COLOURS.text : COLOURS.dotOutline;
    ctx.stroke();
    const label = { width: item.labelWidth, height: LABEL_HEIGHT };
    requests.push({ id: item.index, x: sx, y: sy, r: item.radius, ...label });
  }
  ctx.globalAlpha = 1;
  return requests;
}

/** The labels that fit, each over a halo; the active cluster's first, so it always shows. */
function paintLabels(
  ctx: CanvasRenderingContext2D,
  { viewport, clusters, active }: Frame,
  requests: LabelRequest[],
): void {
  if (active !== null) {
    const i = requests.findIndex((request) => request.id === active);
    if (i > 0) requests.unshift(...requests.splice(i, 1));
  }
  ctx.font = LABEL_FONT;
  ctx.textBaseline = "middle";
  ctx.lineWidth = 3.5;
  ctx.strokeStyle = COLOURS.halo;
  ctx.fillStyle = COLOURS.text;
  for (const label of placeLabels(requests, viewport)) {
    const text = clusters[label.id]?.cluster.label ?? "";
    const tx = label.x + 2;
    const ty = label.y + label.height / 2 + 0.5;
    ctx.strokeText(text, tx, ty);
    ctx.fillText(text, tx, ty);
  }
}
