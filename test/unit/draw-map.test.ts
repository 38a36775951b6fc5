import { mkdirSync, writeFileSync } from "node:fs";
import { decode } from "fast-png";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  type ClustersDocument,
  hullAround,
} from "../../functions/clustering/build-clusters.js";
import { drawMap, renderMap } from "../../functions/render-map/draw-map.js";
import { loadMapFonts } from "../../functions/render-map/fonts.js";
import { DEFAULT_SIZE, mapLayout } from "../../functions/render-map/layout.js";
import { Path, Raster } from "../../functions/render-map/raster.js";
import type { MapFonts } from "../../functions/render-map/text.js";
import { type Basemap, loadBasemap } from "../../functions/shared/atlas-data.js";
import { hullPolygon } from "../../functions/shared/hull-polygon.js";
import { assignColours, PALETTE } from "../../functions/shared/map/palette.js";
import { hex, MAP_COLOURS, type Rgba } from "../../functions/shared/map/style.js";

type Image = ReturnType<typeof decode>;
type LonLat = [number, number];

/** A cluster whose venues ring its centre at `km` (plus any extra points), hulled as the clustering does. */
function cluster(
  id: number,
  label: string,
  centre: { lat: number; lon: number },
  rsvps: number,
  km = 300,
  extra: { lat: number; lon: number }[] = [],
): Cluster {
  const ring = Array.from({ length: 10 }, (_, i) => {
    const angle = (2 * Math.PI * i) / 10;
    const lat = centre.lat + (km / 111) * Math.sin(angle);
    let lon = centre.lon + (km / (111 * Math.cos((centre.lat * Math.PI) / 180))) * Math.cos(angle);
    if (lon > 180) lon -= 360;
    if (lon < -180) lon += 360;
    return { lat, lon };
  });
  return {
    id,
    label,
    category: label.split(": ")[1] ?? "Other",
    centroid: centre,
    radiusKm: km / 2,
    venues: 10 + extra.length,
    rsvps,
    topTopics: [],
    hull: hullAround([...ring, ...extra], centre),
  };
}

function documentOf(clusters: Cluster[]): ClustersDocument {
  return {
    k: clusters.length,
    kScores: [],
    venuesClustered: clusters.reduce((sum, c) => sum + c.venues, 0),
    venuesWithoutPosition: 0,
    clusters,
  };
}

/** Fiji, Tonga, Samoa and New Zealand: one cluster astride the antimeridian. */
const SOUTH_PACIFIC = cluster(3, "Suva: Outdoors", { lat: -27, lon: 179.5 }, 400, 250, [
  { lat: -17.8, lon: 178.0 },
  { lat: -16.5, lon: -179.9 },
  { lat: -21.1, lon: -175.2 },
  { lat: -13.8, lon: -171.8 },
  { lat: -36.85, lon: 174.76 },
  { lat: -45.9, lon: 170.5 },
  { lat: -41.3, lon: 174.8 },
]);

const FOUR = documentOf([
  cluster(0, "San Francisco: Tech", { lat: 37.77, lon: -122.42 }, 9000, 600),
  cluster(1, "London: Tech", { lat: 51.5, lon: -0.12 }, 5000, 250),
  cluster(2, "Johannesburg: Business", { lat: -26.2, lon: 28.05 }, 1200, 400),
  SOUTH_PACIFIC,
]);

/** 36 clusters the size and spread of a real week: the sample saved for people to look at. */
function sampleDocument(): ClustersDocument {
  const centres: [string, number, number, number][] = [
    ["New York City: Tech", 40.71, -74.0, 9800],
    ["San Francisco: Tech", 37.77, -122.42, 8700],
    ["London: Tech", 51.5, -0.12, 7600],
    ["Los Angeles: Wellness", 34.05, -118.24, 5200],
    ["Chicago: Business", 41.88, -87.63, 4300],
    ["Seattle: Outdoors", 47.6, -122.33, 3900],
    ["Toronto: Social", 43.65, -79.38, 3600],
    ["Washington: Business", 38.9, -77.03, 3400],
    ["Boston: Tech", 42.36, -71.06, 3100],
    ["Sydney: Social", -33.87, 151.21, 2900],
    ["Berlin: Tech", 52.52, 13.4, 2600],
    ["Austin: Tech", 30.27, -97.74, 2300],
    ["Denver: Outdoors", 39.74, -104.99, 2100],
    ["Melbourne: Food & Drink", -37.81, 144.96, 1900],
    ["Paris: Language", 48.86, 2.35, 1800],
    ["Atlanta: Social", 33.75, -84.39, 1700],
    ["Bengaluru: Tech", 12.97, 77.59, 1600],
    ["Amsterdam: Tech", 52.37, 4.9, 1500],
    ["Vancouver: Outdoors", 49.28, -123.12, 1400],
    ["Dallas: Business", 32.78, -96.8, 1300],
    ["Madrid: Language", 40.42, -3.7, 1100],
    ["São Paulo: Tech", -23.55, -46.63, 1050],
    ["Singapore: Tech", 1.29, 103.85, 1000],
    ["Tokyo: Language", 35.68, 139.69, 950],
    ["Miami: Social", 25.76, -80.19, 900],
    ["Phoenix: Outdoors", 33.45, -112.07, 850],
    ["Dublin: Tech", 53.35, -6.26, 800],
    ["Stockholm: Tech", 59.33, 18.07, 700],
    ["Tel Aviv: Tech", 32.08, 34.78, 650],
    ["Mexico City: Arts", 19.43, -99.13, 600],
    ["Johannesburg: Business", -26.2, 28.05, 500],
    ["Zürich: Tech", 47.37, 8.54, 420],
    ["Minneapolis: Games", 44.98, -93.27, 400],
    ["Hong Kong: Business", 22.32, 114.17, 380],
    ["Auckland: Outdoors", -36.85, 174.76, 350],
  ];
  const clusters = centres.map(([label, lat, lon, rsvps], id) =>
    cluster(id, label, { lat, lon }, rsvps, 60 + ((id * 37) % 240)),
  );
  return documentOf([...clusters, { ...SOUTH_PACIFIC, id: clusters.length, rsvps: 300 }]);
}

function pixel(image: Image, x: number, y: number): [number, number, number] {
  const p = (Math.floor(y) * image.width + Math.floor(x)) * (image.channels ?? 3);
  return [image.data[p] ?? -1, image.data[p + 1] ?? -1, image.data[p + 2] ?? -1];
}

function rgb(colour: Rgba): [number, number, number] {
  return [colour.r, colour.g, colour.b];
}

function blend(under: Rgba, over: Rgba, alpha: number): [number, number, number] {
  return [
    under.r * (1 - alpha) + over.r * alpha,
    under.g * (1 - alpha) + over.g * alpha,
    under.b * (1 - alpha) + over.b * alpha,
  ];
}

function expectColour(actual: number[], expected: number[], tolerance = 2): void {
  const off = Math.max(...actual.map((value, i) => Math.abs(value - (expected[i] ?? 0))));
  expect(
    off,
    `pixel ${actual.join(",")} vs ${expected.map(Math.round).join(",")}`,
  ).toBeLessThanOrEqual(tolerance);
}

let basemap: Basemap;
let fonts: MapFonts;
const options = () => ({
  ...DEFAULT_SIZE,
  fonts,
  dates: { first: "2018-05-20", last: "2018-05-26" },
});

beforeAll(() => {
  basemap = loadBasemap("50m");
  fonts = loadMapFonts();
});

describe("drawMap: the world basemap", () => {
  let image: Image;
  let project: (lonLat: LonLat) => [number, number];

  beforeAll(() => {
    image = decode(drawMap(FOUR, basemap, options()));
    const { projection } = mapLayout(DEFAULT_SIZE, FOUR.clusters.length);
    project = (lonLat) => projection(lonLat) as [number, number];
  });

  it("is a PNG of the requested size", () => {
    expect([image.width, image.height]).toEqual([1600, 900]);
  });

  it("paints the ocean in the middle of the Pacific and land in central Africa and Brazil", () => {
    expectColour(pixel(image, ...project([-140, 5])), rgb(MAP_COLOURS.ocean), 0);
    expectColour(pixel(image, ...project([-20, -40])), rgb(MAP_COLOURS.ocean), 0);
    expectColour(pixel(image, ...project([23, -3])), rgb(MAP_COLOURS.land), 0);
    expectColour(pixel(image, ...project([-55, -10])), rgb(MAP_COLOURS.land), 0);
    expectColour(pixel(image, ...project([100, 60])), rgb(MAP_COLOURS.land), 0);
  });

  it("leaves the title strip and the corners outside the globe in the page colour", () => {
    expectColour(pixel(image, 1590, 2), rgb(MAP_COLOURS.background), 0);
    const { map } = mapLayout(DEFAULT_SIZE, FOUR.clusters.length);
    expectColour(pixel(image, 2, map.y + 4), rgb(MAP_COLOURS.background), 0);
  });
});

describe("drawMap: clusters", () => {
  let image: Image;
  let project: (lonLat: LonLat) => [number, number];
  const colours = assignColours(FOUR.clusters.map((c) => c.centroid)).map(
    (index) => PALETTE[index] as Rgba,
  );

  beforeAll(() => {
    image = decode(drawMap(FOUR, basemap, options()));
    const { projection } = mapLayout(DEFAULT_SIZE, FOUR.clusters.length);
    project = (lonLat) => projection(lonLat) as [number, number];
  });

  it("gives clusters distinct colours", () => {
    expect(new Set(colours).size).toBe(FOUR.clusters.length);
  });

  it("draws each cluster's dot in its colour at the projected centroid", () => {
    FOUR.clusters.forEach((c, i) => {
      expectColour(
        pixel(image, ...project([c.centroid.lon, c.centroid.lat])),
        rgb(colours[i] as Rgba),
        1,
      );
    });
  });

  it("fills the hull semi-transparently around the dot", () => {
    // 5 degrees west of San Francisco: over the Pacific, inside the hull, outside the dot.
    const inside = pixel(image, ...project([-127.4, 37.77]));
    expectColour(inside, blend(MAP_COLOURS.ocean, colours[0] as Rgba, 0.3), 2);
    // Well outside the 600 km hull: plain ocean.
    expectColour(pixel(image, ...project([-140, 37.77])), rgb(MAP_COLOURS.ocean), 0);
  });

  it("labels a cluster beside its dot in dark text", () => {
    const [x, y] = project([28.05, -26.2]);
    let dark = 0;
    for (let dx = 10; dx < 170; dx++) {
      for (let dy = -8; dy <= 8; dy++) {
        const [r, g, b] = pixel(image, x + dx, y + dy);
        if (r + g + b < 240) dark++;
      }
    }
    expect(dark).toBeGreaterThan(80);
  });

  it("splits a hull across the antimeridian at the map's edges, never across the middle", () => {
    const withoutHull = documentOf(
      FOUR.clusters.map((c) => (c.id === SOUTH_PACIFIC.id ? { ...c, hull: [] } : c)),
    );
    const bare = decode(drawMap(withoutHull, basemap, options()));
    const { map } = mapLayout(DEFAULT_SIZE, FOUR.clusters.length);
    const changed: number[] = [];
    for (let y = map.y; y < map.y + map.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const a = pixel(image, x, y);
        const b = pixel(bare, x, y);
        if (a.some((value, i) => Math.abs(value - (b[i] ?? 0)) > 2)) changed.push(x);
      }
    }
    const width = image.width;
    expect(changed.filter((x) => x < 0.1 * width).length).toBeGreaterThan(50);
    expect(changed.filter((x) => x > 0.9 * width).length).toBeGreaterThan(50);
    expect(changed.filter((x) => x > 0.15 * width && x < 0.85 * width)).toEqual([]);
  });

  it("draws a clockwise hull the same as the counter-clockwise one", () => {
    const hull = SOUTH_PACIFIC.hull;
    const ccw = hullPolygon(hull);
    const cw = hullPolygon([...hull].reverse());
    expect(cw?.coordinates[0]?.length).toBe(hull.length + 1);
    expect(new Set(cw?.coordinates[0]?.map(String))).toEqual(
      new Set(ccw?.coordinates[0]?.map(String)),
    );
    // d3-geo's convention: the small polygon's ring is clockwise, i.e. our hull reversed.
    expect(ccw?.coordinates[0]?.slice(0, 2)).toEqual([hull.at(-1), hull.at(-2)]);
    expect(hullPolygon(hull.slice(0, 2))).toBeNull();
  });
});

describe("drawMap: the sample map", () => {
  it("renders 36 clusters in 1600x900 and saves it as .cache/render-sample.png", () => {
    const document = sampleDocument();
    const png = drawMap(document, basemap, options());
    // Every cluster is named on the map, by its label or at least by its legend number.
    const { labels } = renderMap(document, basemap, options());
    expect(labels.filter((label) => label.text === null)).toEqual([]);
    expect(labels.filter((label) => !/^\d+$/.test(label.text ?? "0")).length).toBeGreaterThan(25);
    mkdirSync(new URL("../../.cache/", import.meta.url), { recursive: true });
    writeFileSync(new URL("../../.cache/render-sample.png", import.meta.url), png);
    const image = decode(png);
    expect([image.width, image.height]).toEqual([1600, 900]);
  });

  it("renders a map with no clusters: the world, the message in its middle, no cluster colour", () => {
    const image = decode(drawMap(documentOf([]), basemap, options()));
    const { map, projection } = mapLayout(DEFAULT_SIZE, 0);
    const at = (lonLat: LonLat) => projection(lonLat) as [number, number];
    expectColour(pixel(image, ...at([-140, 5])), rgb(MAP_COLOURS.ocean), 0);
    expectColour(pixel(image, ...at([23, -3])), rgb(MAP_COLOURS.land), 0);
    // "No clusters in this run" in text colour, centred on the map (its baseline at the middle).
    const textColour = rgb(MAP_COLOURS.text);
    const textXs: number[] = [];
    for (let y = map.y + map.height / 2 - 14; y <= map.y + map.height / 2 + 4; y++) {
      for (let x = 0; x < image.width; x++) {
        const p = pixel(image, x, y);
        if (p.every((value, i) => Math.abs(value - (textColour[i] ?? 0)) <= 2)) textXs.push(x);
      }
    }
    expect(textXs.length).toBeGreaterThan(200);
    const middle = (Math.min(...textXs) + Math.max(...textXs)) / 2;
    expect(Math.abs(middle - (map.x + map.width / 2))).toBeLessThan(8);
    expect(Math.max(...textXs) - Math.min(...textXs)).toBeGreaterThan(120);
    // No pixel anywhere in a palette colour: no dot, hull or legend swatch was drawn.
    const palette = PALETTE.map(rgb);
    let paletteish = 0;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const p = pixel(image, x, y);
        if (palette.some((c) => p.every((value, i) => Math.abs(value - (c[i] ?? 0)) <= 1))) {
          paletteish++;
        }
      }
    }
    expect(paletteish).toBe(0);
  });

  it("renders small sizes, with and without clusters", () => {
    const empty = documentOf([]);
    expect(decode(drawMap(empty, basemap, { ...options(), width: 400, height: 225 })).width).toBe(
      400,
    );
    const small = decode(drawMap(FOUR, basemap, { ...options(), width: 800, height: 450 }));
    expect([small.width, small.height]).toEqual([800, 450]);
  });
});

describe("Raster", () => {
  it("anti-aliases edges by exact coverage", () => {
    const raster = new Raster(10, 4, hex("#ffffff"));
    raster.fill(new Path().roundedRect(2, 0, 3.5, 4, 0), hex("#000000"));
    expect(raster.pixel(1, 1)).toEqual([255, 255, 255]);
    expect(raster.pixel(3, 1)).toEqual([0, 0, 0]);
    expect(raster.pixel(5, 1)).toEqual([128, 128, 128]);
  });

  it("clips shapes that leave the raster", () => {
    const raster = new Raster(10, 10, hex("#ffffff"));
    raster.fill(new Path().circle(0, 0, 6), hex("#000000"));
    raster.fill(new Path().roundedRect(-50, 8, 200, 100, 0), hex("#ff0000"));
    expect(raster.pixel(0, 0)).toEqual([0, 0, 0]);
    expect(raster.pixel(9, 9)).toEqual([255, 0, 0]);
    expect(raster.pixel(9, 2)).toEqual([255, 255, 255]);
  });

  it("strokes a self-crossing line once where it overlaps (non-zero union)", () => {
    const raster = new Raster(20, 20, hex("#ffffff"));
    const path = new Path();
    path.moveTo(2, 10);
    path.lineTo(18, 10);
    path.lineTo(10, 2);
    path.lineTo(10, 18);
    raster.stroke(path, 3, hex("#000000", 0.5));
    expect(raster.pixel(10, 10)).toEqual(raster.pixel(4, 10));
    expect(raster.pixel(4, 10)).toEqual([128, 128, 128]);
  });

  it("cuts a hole where a ring runs the other way", () => {
    const raster = new Raster(10, 10, hex("#ffffff"));
    const path = new Path().roundedRect(0, 0, 10, 10, 0);
    path.moveTo(3, 3);
    path.lineTo(3, 7);
    path.lineTo(7, 7);
    path.lineTo(7, 3);
    path.closePath();
    raster.fill(path, hex("#000000"));
    expect(raster.pixel(1, 1)).toEqual([0, 0, 0]);
    expect(raster.pixel(5, 5)).toEqual([255, 255, 255]);
  });
});

describe("Typeface", () => {
  it("draws what the font has and falls back for what it lacks", () => {
    expect(fonts.regular.drawable("Zürich: Tech")).toBe("Zürich: Tech");
    expect(fonts.regular.drawable("Tōkyō: Language")).toBe("Tōkyō: Language");
    expect(fonts.regular.drawable("東京: Tech")).toBe("??: Tech");
    expect(fonts.regular.drawable("<img src=x onerror=alert(1)>")).toBe(
      "<img src=x onerror=alert(1)>",
    );
  });

  it("measures and truncates to a width", () => {
    const long = "Llanfairpwllgwyngyll: Food & Drink";
    const width = fonts.regular.measure(long, 12).width;
    expect(width).toBeGreaterThan(150);
    const cut = fonts.regular.truncate(long, 12, 100);
    expect(cut.endsWith("…")).toBe(true);
    expect(fonts.regular.measure(cut, 12).width).toBeLessThanOrEqual(100);
  });
});
