/**
 * The daily map: a static PNG of the world (Natural Earth basemap, Natural Earth I projection)
 * with every cluster's hull, a dot at its centroid sized by RSVPs, its label where there is
 * room, a title strip with the date range and totals, and a legend listing every cluster.
 * A pure function of its inputs; rendering is plain TypeScript (raster.ts), no browser.
 *
 * Its look (colours, dot sizes, the part of the world shown, label placement) is the page's
 * interactive map's too: functions/shared/map/. Here: the layout (layout.ts), the basemap and
 * the clusters (below), the labels (map-labels.ts), the title and legend strips
 * (map-strips.ts).
 */
import { type GeoPermissibleObjects, geoPath } from "d3-geo";
import type { ClustersDocument } from "../clustering/build-clusters.js";
import type { Basemap } from "../shared/atlas-data.js";
import { hullPolygon } from "../shared/hull-polygon.js";
import { inside } from "../shared/map/labels.js";
import { assignColours, PALETTE } from "../shared/map/palette.js";
import { dotRadius, graticule, HULL_OPACITY, MAP_COLOURS, type Rgba } from "../shared/map/style.js";
import { type MapLayout, type MapSize, mapLayout, type PlacedCluster } from "./layout.js";
import { drawLabels, type LabelPlacement } from "./map-labels.js";
import { drawHeader, drawLegend, type HeaderText } from "./map-strips.js";
import { encodePng } from "./png.js";
import { Path, Raster } from "./raster.js";
import { drawText, type MapFonts } from "./text.js";

export interface MapOptions extends MapSize, HeaderText {
  fonts: MapFonts;
}

/** The map as an RGBA raster, for {@link drawMap} and for checks of single pixels. */
export function renderMap(
  document: ClustersDocument,
  basemap: Basemap,
  options: MapOptions,
): { raster: Raster; layout: MapLayout; labels: LabelPlacement[] } {
  const clusters = document.clusters;
  const layout = mapLayout(options, clusters.length);
  const raster = new Raster(options.width, options.height, MAP_COLOURS.background);
  const project = (object: GeoPermissibleObjects): Path => {
    const path = new Path();
    geoPath(layout.projection, path)(object);
    return path;
  };
  drawBasemap(raster, basemap, layout, project);

  // Clusters: hulls, then dots (largest first, so small ones stay on top), then labels.
  const colours = assignColours(clusters.map((cluster) => cluster.centroid));
  const maxRsvps = Math.max(1, ...clusters.map((cluster) => cluster.rsvps));
  const placed: PlacedCluster[] = clusters.map((cluster, i) => {
    const at = layout.projection([cluster.centroid.lon, cluster.centroid.lat]);
    return {
      cluster,
      number: i + 1,
      colour: PALETTE[colours[i] as number] as Rgba,
      at: at && inside(layout.map, at[0], at[1]) ? at : null,
      radius: dotRadius(cluster.rsvps, maxRsvps, layout.scale),
    };
  });
  drawClusters(raster, placed, layout, project);
  const labels = drawLabels(raster, placed, layout, options.fonts);

  drawHeader(raster, document, layout, options.fonts, options, maxRsvps);
  drawLegend(raster, placed, layout, options.fonts);
  drawCredit(raster, layout, options.fonts);
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

function drawBasemap(
  raster: Raster,
  basemap: Basemap,
  { scale }: MapLayout,
  project: (object: GeoPermissibleObjects) => Path,
): void {
  raster.fill(project({ type: "Sphere" }), MAP_COLOURS.ocean);
  raster.stroke(project(graticule()), Math.max(0.5, 0.8 * scale), MAP_COLOURS.graticule);
  const land = project(basemap.land);
  raster.fill(land, MAP_COLOURS.land);
  raster.stroke(project(basemap.borders), Math.max(0.4, 0.7 * scale), MAP_COLOURS.border);
  raster.stroke(land, Math.max(0.4, 0.7 * scale), MAP_COLOURS.coast);
}

/** Every hull, then every dot. */
function drawClusters(
  raster: Raster,
  placed: readonly PlacedCluster[],
  { scale }: MapLayout,
  project: (object: GeoPermissibleObjects) => Path,
): void {
  for (const item of placed) {
    const polygon = hullPolygon(item.cluster.hull);
    if (!polygon) continue;
    const hull = project(polygon);
    raster.fill(hull, { ...item.colour, a: HULL_OPACITY.fill });
    raster.stroke(hull, Math.max(0.8, 1.4 * scale), { ...item.colour, a: HULL_OPACITY.stroke });
  }
  for (const item of placed) {
    if (!item.at) continue;
    const dot = new Path().circle(item.at[0], item.at[1], item.radius);
    raster.fill(dot, item.colour);
    raster.stroke(dot, Math.max(1, 1.5 * scale), MAP_COLOURS.dotOutline);
  }
}

/** The basemap's source, in the map's bottom-right corner. */
function drawCredit(raster: Raster, { map, scale }: MapLayout, fonts: MapFonts): void {
  const credit = "Basemap: Natural Earth (world-atlas) · Natural Earth I projection";
  const size = Math.max(8, 10 * scale);
  const width = fonts.regular.measure(credit, size).width;
  const x = map.x + map.width - width - 8 * scale;
  drawText(
    raster,
    fonts.regular,
    credit,
    x,
    map.y + map.height - 6 * scale,
    size,
    MAP_COLOURS.muted,
  );
}
