/**
 * A cluster's hull as d3-geo draws it, shared by the render Lambda (map.png) and the website's
 * canvas map, so both draw the same shape for the same clusters.json.
 */
import { geoArea } from "d3-geo";
import type { Polygon } from "geojson";

/**
 * The hull as a GeoJSON polygon d3-geo can clip: closed, and wound clockwise (d3's spherical
 * convention for a ring smaller than a hemisphere; our hulls are counter-clockwise in [lon,
 * lat], so they are reversed). A hull given the other way round is turned too rather than drawn
 * as the whole world minus the hull. Fewer than three corners: no hull, just the dot.
 */
export function hullPolygon(hull: readonly [number, number][]): Polygon | null {
  if (hull.length < 3) return null;
  const first = hull[0] as [number, number];
  const reversed = [...hull].reverse();
  const ring: [number, number][] = [...reversed, reversed[0] as [number, number]];
  const polygon: Polygon = { type: "Polygon", coordinates: [ring] };
  if (geoArea(polygon) <= 2 * Math.PI) return polygon;
  return { type: "Polygon", coordinates: [[...hull, first]] };
}
