/**
 * The map's look, shared by map.png (functions/render-map/) and the page's interactive map
 * (site/src/): its colours, the size of a cluster's dot, and the part of the world it shows.
 * Change them here and both change. Browser-safe: no Node module.
 */
import { geoGraticule } from "d3-geo";
import type { MultiLineString, MultiPoint } from "geojson";

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** Opacity, 0 to 1. */
  a: number;
}

/** `#rrggbb` (and an optional opacity) as {@link Rgba}. */
export function hex(color: string, alpha = 1): Rgba {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!match) throw new Error(`not a #rrggbb colour: ${color}`);
  return {
    r: Number.parseInt(match[1] as string, 16),
    g: Number.parseInt(match[2] as string, 16),
    b: Number.parseInt(match[3] as string, 16),
    a: alpha,
  };
}

/** A colour as CSS (a canvas' fillStyle): `rgb(r, g, b)`, or `rgba(...)` when not opaque. */
export function css(colour: Rgba, alpha = colour.a): string {
  return alpha === 1
    ? `rgb(${colour.r}, ${colour.g}, ${colour.b})`
    : `rgba(${colour.r}, ${colour.g}, ${colour.b}, ${alpha})`;
}

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
  /** Behind labels, so they read over hulls and coasts. */
  halo: hex("#ffffff", 0.88),
  /** Round each cluster's dot. */
  dotOutline: hex("#ffffff", 0.95),
} as const;

/** A hull is its cluster's colour at these opacities: filled lightly, outlined strongly. */
export const HULL_OPACITY = { fill: 0.3, stroke: 0.9 } as const;

/**
 * A cluster's dot radius, by the square root of its RSVPs: 3 to 14 px (times `scale`), the
 * largest cluster's 14.
 */
export function dotRadius(rsvps: number, maxRsvps: number, scale = 1): number {
  return (3 + 11 * Math.sqrt(Math.max(0, rsvps) / Math.max(1, maxRsvps))) * scale;
}

/**
 * The latitudes the map shows at least (the first view of the page): from south of Cape Horn
 * and Tasmania to Svalbard. Antarctica and the Arctic Ocean add nothing to a map of meetups.
 */
export const MAP_SOUTH = -56;
export const MAP_NORTH = 84;

/** Points along the edges of the world between {@link MAP_SOUTH} and {@link MAP_NORTH}, to fit. */
export function mapFrame(): MultiPoint {
  const coordinates: [number, number][] = [];
  for (let lon = -180; lon <= 180; lon += 2) coordinates.push([lon, MAP_SOUTH], [lon, MAP_NORTH]);
  for (let lat = MAP_SOUTH; lat <= MAP_NORTH; lat += 2) coordinates.push([-180, lat], [180, lat]);
  return { type: "MultiPoint", coordinates };
}

/** The graticule: every 30° of latitude and longitude. */
export function graticule(): MultiLineString {
  return geoGraticule().step([30, 30])();
}
