import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildClusters } from "../../functions/clustering/build-clusters.js";
import type { Venue } from "../../functions/clustering/venue-table.js";
import { runDocument } from "../../functions/render-map/site-files.js";
import type { ClusteringSummary } from "../../functions/shared/batch-contract.js";
import { clustersDocumentSchema } from "../../functions/shared/batch-contract.js";
import { parseClusters, parseConfig, parseRun, parseTopCities } from "../../site/src/validate.js";

function sampleClusters() {
  const venues: Venue[] = [];
  let id = 0;
  const around = (lat: number, lon: number, rsvps: number, topic: string) => {
    for (let i = 0; i < 9; i++) {
      venues.push({
        id: id++,
        name: `venue ${id}`,
        position: { lat: lat + ((i % 3) - 1) * 0.1, lon: lon + (Math.floor(i / 3) - 1) * 0.1 },
        firstSeen: 0,
        lastSeen: 0,
        rsvpCount: rsvps,
        yesCount: rsvps,
        topics: [{ key: topic, name: topic }],
      });
    }
  };
  around(37.77, -122.42, 5, "</script><script>alert(1)</script>");
  around(51.5, -0.12, 3, "hiking");
  return {
    dates: { first: "2018-05-20", last: "2018-05-26" },
    ...buildClusters(venues, [], { kMin: 2, kMax: 2, seed: 1 }),
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON value, as keys. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) {
    return [...here, ...value.flatMap((item, i) => paths(item, [...prefix, i]))];
  }
  if (value !== null && typeof value === "object") {
    return [
      ...here,
      ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key])),
    ];
  }
  return here;
}

function mutate(value: Json, path: (string | number)[], replacement: Json | undefined): Json {
  const copy = structuredClone(value) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path.at(-1) as string | number;
  if (replacement === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else {
    node[last] = replacement;
  }
  return copy as Json;
}

describe("clusters.json check", () => {
  const document = sampleClusters() as unknown as Json;

  it("accepts what buildClusters writes, hostile topic names as they are", () => {
    const checked = parseClusters(document);
    expect(checked.ok).toBe(true);
    if (checked.ok) {
      expect(checked.value.clusters.length).toBe(2);
      expect(checked.value.clusters.flatMap((c) => c.topTopics.map((t) => t.name))).toContain(
        "</script><script>alert(1)</script>",
      );
    }
  });

  it("gives the same verdict as the zod schema of batch-contract.ts, for any one change", () => {
    // `dates` is the clustering step's addition, which the schema keeps without checking.
    const all = paths(document).filter((path) => path[0] !== "dates");
    const replacement = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom<Json>(-1, 0, 1.5, 200, -200, 95, "x", null, true, [], {}, [0, 0], [1, 2, 3]),
      fc.jsonValue() as fc.Arbitrary<Json>,
    );
    fc.assert(
      fc.property(fc.constantFrom(...all), replacement, (path, value) => {
        const changed = mutate(document, path, value);
        const ours = parseClusters(changed).ok;
        const zod = clustersDocumentSchema.safeParse(changed).success;
        expect({ path: path.join("."), value, ours }).toEqual({
          path: path.join("."),
          value,
          ours: zod,
        });
      }),
      { numRuns: 1500 },
    );
  });

  it("names where a document is wrong", () => {
    const bad = mutate(document, ["clusters", 1, "hull", 0, 1], 123);
    const checked = parseClusters(bad);
    expect(checked).toEqual({
      ok: false,
      error: "clusters.1.hull.0.1: expected a number in [-90, 90]",
    });
    expect(parseClusters(mutate(document, ["dates", "first"], 5)).ok).toBe(false);
    // The run the render step names in it: an ISO time, or absent (files from before it did).
    expect(
      parseClusters({ ...(document as object), runStartedAt: "2026-11-27T02:00:00.000Z" }).ok,
    ).toBe(true);
    expect(parseClusters({ ...(document as object), runStartedAt: "yesterday" })).toEqual({
      ok: false,
      error: expect.stringMatching(/^runStartedAt: /),
    });
    expect(parseClusters("nope")).toEqual({ ok: false, error: "(document): expected an object" });
  });
});

describe("counts API answer check", () => {
  const answer = {
    country: "us",
    day: "all",
    cities: [
      {
        key: "us#CA#San Francisco",
        city: "San Francisco",
        state: "CA",
        country: "us",
        rsvps: 3,
        yes: 2,
        no: 1,
        guests: 0,
        updatedAt: 1,
      },
      {
        key: "us##</script>",
        city: "</script>",
        state: null,
        country: "us",
        rsvps: 1,
        yes: 1,
        no: 0,
        guests: 0,
        updatedAt: 1,
      },
    ],
    totalCities: 2,
    updatedAt: "2026-11-27T02:14:00.000Z",
  };

  it("accepts the API's answer as it is", () => {
    expect(parseTopCities(answer)).toEqual({ ok: true, value: answer });
  });

  it("refuses missing or mistyped fields", () => {
    expect(parseTopCities({ ...answer, cities: null }).ok).toBe(false);
    expect(parseTopCities({ ...answer, updatedAt: "yesterday" }).ok).toBe(false);
    expect(
      parseTopCities({ ...answer, cities: [{ ...answer.cities[0], rsvps: "3" }] }),
    ).toMatchObject({ ok: false, error: "cities.0.rsvps: expected an integer" });
    expect(
      parseTopCities({ ...answer, cities: [{ ...answer.cities[0], city: { html: "<b>" } }] }).ok,
    ).toBe(false);
  });
});

describe("run.json and config.json checks", () => {
  it("accepts what the render step writes", () => {
    const clustering: ClusteringSummary = {
      bucket: "b",
      clustersKey: "c",
      citiesKey: "d",
      dates: { first: "2018-05-20", last: "2018-05-26" },
      venues: 10,
      venuesClustered: 9,
      venuesWithoutPosition: 1,
      rsvps: 30,
      clusters: 2,
    };
    const run = runDocument(
      { range: "yesterday", startedAt: "2026-11-27T02:00:00Z", clustering },
      new Date("2026-11-27T02:14:00Z"),
    );
    expect(parseRun(JSON.parse(JSON.stringify(run)))).toEqual({ ok: true, value: run });
    expect(parseRun({ ...run, finishedAt: "soon" }).ok).toBe(false);
  });

  it("takes an http(s) URL or a path for the counts API, nothing else", () => {
    expect(parseConfig({ countsApiUrl: "https://x.example/" }).ok).toBe(true);
    expect(parseConfig({ countsApiUrl: "/api" }).ok).toBe(true);
    for (const url of ["", "javascript:alert(1)", "data:text/html,x", "api", "//evil.example"]) {
      expect(parseConfig({ countsApiUrl: url }).ok).toBe(false);
    }
    expect(parseConfig({}).ok).toBe(false);
  });
});
