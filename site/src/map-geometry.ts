/**
 * The map's geometry in "world units": the basemap and every cluster projected ONCE with the
 * Natural Earth I projection (as map.png) into a plane 1000 units wide. Panning and zooming
 * then only change the canvas transform from world units to pixels (map-model.ts), so a frame
 * never reprojects anything. No DOM here: shapes are flat coordinate arrays, turned into
 * Path2D objects by the view.
 */
import { type GeoPermissibleObjects, type GeoProjection, geoNaturalEarth1, geoPath } from "d3-geo";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import type { Cluster } from "../../functions/clustering/build-clusters.js";
import { hullPolygon } from "../../functions/shared/hull-polygon.js";
import { graticule, mapFrame } from "../../functions/shared/map/style.js";
import { type Bounds, pointInRings } from "./map-model.js";

export const WORLD_WIDTH = 1000;

/** Polylines in world units: each ring is [x0, y0, x1, y1, ...]. */
export interface Shape {
  rings: Float32Array[];
  /** Whether each ring is closed (a polygon's ring, not a line). */
  closed: boolean[];
}

/** geoPath's context interface, recording the projected lines. */
class ShapeRecorder {
  readonly rings: Float32Array[] = [];
  readonly closed: boolean[] = [];
  private current: number[] | null = null;

  moveTo(x: number, y: number): void {
    this.flush(false);
    this.current = [x, y];
  }

  lineTo(x: number, y: number): void {
    if (!this.current) this.current = [];
    this.current.push(x, y);
  }

  closePath(): void {
    this.flush(true);
  }

  arc(): void {
    // Points are drawn by the view, not by geoPath.
  }

  beginPath(): void {}

  flush(closed: boolean): void {
    if (this.current && this.current.length >= 4) {
      this.rings.push(Float32Array.from(this.current));
      this.closed.push(closed);
    }
    this.current = null;
  }

  shape(): Shape {
    this.flush(false);
    return { rings: this.rings, closed: this.closed };
  }
}

export function worldProjection(): GeoProjection {
  return geoNaturalEarth1().fitWidth(WORLD_WIDTH, mapFrame());
}

export function projectShape(projection: GeoProjection, object: GeoPermissibleObjects): Shape {
  const recorder = new ShapeRecorder();
  geoPath(projection, recorder as unknown as CanvasRenderingContext2D)(object);
  return recorder.shape();
}

export function shapeBounds(shape: Shape): Bounds | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const ring of shape.rings) {
    for (let i = 0; i < ring.length; i += 2) {
      const x = ring[i] as number;
      const y = ring[i + 1] as number;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x0 <= x1 ? { x0, y0, x1, y1 } : null;
}

/** The first view, in world units: the world from 56°S to 84°N, as map.png shows it. */
export function viewFrameBounds(projection: GeoProjection): Bounds {
  const [[x0, y0], [x1, y1]] = geoPath(projection).bounds(mapFrame());
  return { x0, y0, x1, y1 };
}

export interface Basemap {
  sphere: Shape;
  graticule: Shape;
  land: Shape;
  borders: Shape;
}

export type WorldTopology = Topology<{ countries: GeometryCollection; land: GeometryCollection }>;

/** A world-atlas countries-*.json topology, projected. */
export function projectBasemap(projection: GeoProjection, topology: WorldTopology): Basemap {
  return {
    sphere: projectShape(projection, { type: "Sphere" }),
    graticule: projectShape(projection, graticule()),
    land: projectShape(projection, feature(topology, topology.objects.land)),
    borders: projectShape(
      projection,
      mesh(topology, topology.objects.countries, (a, b) => a !== b),
    ),
  };
}

/** Checks that a parsed basemap file is a world-atlas countries topology. */
export function isWorldTopology(value: unknown): value is WorldTopology {
  const t = value as Partial<WorldTopology> | null;
  return (
    typeof t === "object" &&
    t !== null &&
    t.type === "Topology" &&
    Array.isArray(t.arcs) &&
    typeof t.objects?.land === "object" &&
    typeof t.objects?.countries === "object"
  );
}

export interface ClusterShape {
  cluster: Cluster;
  /** Index in clusters.json: largest RSVPs first, so also the legend's number - 1. */
  index: number;
  /** The centroid in world units, or null if it does not project. */
  at: [number, number] | null;
  hull: Shape | null;
  /** Area of the hull in world units², for choosing the innermost hull under the pointer. */
  hullArea: number;
  /** What zooming to the cluster shows: its hull and its centroid. */
  bounds: Bounds | null;
}

export function projectClusters(
  projection: GeoProjection,
  clusters: readonly Cluster[],
): ClusterShape[] {
  return clusters.map((cluster, index) => {
    const projected = projection([cluster.centroid.lon, cluster.centroid.lat]);
    const at: [number, number] | null =
      projected && Number.isFinite(projected[0]) && Number.isFinite(projected[1])
        ? [projected[0], projected[1]]
        : null;
    const polygon = hullPolygon(cluster.hull);
    const hull = polygon ? projectShape(projection, polygon) : null;
    let bounds = hull ? shapeBounds(mainPart(hull, at)) : null;
    if (at) {
      bounds = bounds
        ? {
            x0: Math.min(bounds.x0, at[0]),
            y0: Math.min(bounds.y0, at[1]),
            x1: Math.max(bounds.x1, at[0]),
            y1: Math.max(bounds.y1, at[1]),
          }
        : { x0: at[0], y0: at[1], x1: at[0], y1: at[1] };
    }
    const hullArea = hull ? hull.rings.reduce((sum, ring) => sum + Math.abs(ringArea(ring)), 0) : 0;
    return { cluster, index, at, hull, hullArea, bounds };
  });
}

/**
 * The part of a hull to zoom to: a hull across the antimeridian is cut in two at the map's
 * edges, and a box around both halves would be the whole world. The part holding the centroid,
 * else the largest.
 */
function mainPart(shape: Shape, at: [number, number] | null): Shape {
  if (shape.rings.length <= 1) return shape;
  const index = shape.rings.findIndex((ring) => at !== null && pointInRings(at[0], at[1], [ring]));
  let best = index;
  if (best < 0) {
    let largest = -1;
    shape.rings.forEach((ring, i) => {
      const area = Math.abs(ringArea(ring));
      if (area > largest) {
        largest = area;
        best = i;
      }
    });
  }
  const ring = shape.rings[best];
  return ring ? { rings: [ring], closed: [true] } : shape;
}

/** Signed area of a flat ring (shoelace). */
export function ringArea(ring: Float32Array): number {
  let area = 0;
  const n = ring.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    area +=
      (ring[j] as number) * (ring[i + 1] as number) - (ring[i] as number) * (ring[j + 1] as number);
  }
  return area / 2;
}
