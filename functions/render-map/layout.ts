/**
 * Where everything of map.png goes, top to bottom: the title strip, the map (the world from
 * 56°S to 84°N, as the page's first view) and the legend strip, scaled with the image.
 */
import { type GeoProjection, geoNaturalEarth1 } from "d3-geo";
import type { Cluster } from "../clustering/build-clusters.js";
import type { Rect } from "../shared/map/labels.js";
import { mapFrame, type Rgba } from "../shared/map/style.js";

export interface MapSize {
  width: number;
  height: number;
}

export const DEFAULT_SIZE: MapSize = { width: 1600, height: 900 };

export interface MapLayout {
  /** Of everything drawn: 1 at {@link DEFAULT_SIZE}. */
  scale: number;
  header: Rect;
  map: Rect;
  legend: Rect & { columns: number; rows: number; columnWidth: number; rowHeight: number };
  /** [lon, lat] to pixels. */
  projection: GeoProjection;
}

/** Where everything goes for a map of `clusterCount` clusters. */
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
  const inset = Math.round(8 * scale);
  const projection = geoNaturalEarth1()
    .fitExtent(
      [
        [map.x + inset, map.y + inset],
        [map.x + map.width - inset, map.y + map.height - inset],
      ],
      mapFrame(),
    )
    .clipExtent([
      [map.x, map.y],
      [map.x + map.width, map.y + map.height],
    ]);
  return { scale, header, map, legend, projection };
}

/** A cluster where it is drawn. */
export interface PlacedCluster {
  cluster: Cluster;
  /** In the legend, from 1. */
  number: number;
  colour: Rgba;
  /** Projected centroid, or null when it falls outside the map. */
  at: [number, number] | null;
  radius: number;
}
