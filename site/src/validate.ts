/**
 * Checks of the JSON the page reads, as zod/mini schemas over the shared contract types: the
 * same rules as the zod schemas of functions/shared/batch-contract.ts (clusters.json) and the
 * counts API's types. zod/mini is zod's tree-shakable form: these checks bundle to 8.2 KB gzipped,
 * where clusters.json's schema alone in full zod is 91.1 KB (`npm run bench:site`). test/unit/site-validate.test.ts holds the clusters.json check to
 * the batch's verdicts. Unknown extra fields are kept, as the schemas' looseObject does; a
 * document that fails is reported by its first problem, "path: what was expected".
 */
import * as z from "zod/mini";
import type { ClustersDocument } from "../../functions/clustering/build-clusters.js";
import type { CityCount, TopCities } from "../../functions/counts-api/top-cities.js";
import type { RunDocument } from "../../functions/render-map/site-files.js";

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const string = z.string({ error: "expected a string" });
const nullableString = z.nullable(string);
const object = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z.looseObject(shape, { error: "expected an object" });
const array = <T extends z.core.SomeType>(item: T) => z.array(item, { error: "expected an array" });

/** A finite number, in [min, max] when given. */
function finite(min = -Infinity, max = Infinity) {
  return z.number({ error: "expected a finite number" }).check(
    z.refine((value: number) => value >= min && value <= max, {
      error: `expected a number in [${min}, ${max}]`,
    }),
  );
}

/** As zod's .int(): a safe integer. */
const integer = z.int({ error: "expected an integer" });
const count = integer.check(z.gte(0, { error: "expected a count (>= 0)" }));
const isoTime = string.check(
  z.refine((value: string) => !Number.isNaN(Date.parse(value)), {
    error: "expected an ISO 8601 time",
  }),
);
const dates = object({ first: nullableString, last: nullableString });

function check<T>(schema: z.ZodMiniType<T>, value: unknown): Checked<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return { ok: false, error: `${issue?.path.join(".") || "(document)"}: ${issue?.message}` };
}

/**
 * clusters.json plus the `dates` the clustering step adds and the `runStartedAt` the render step
 * adds (absent from files published before it did).
 */
export type ClustersFile = ClustersDocument & {
  dates?: { first: string | null; last: string | null };
  runStartedAt?: string;
};

const cluster = object({
  id: integer,
  label: string,
  category: string,
  centroid: object({ lat: finite(-90, 90), lon: finite(-180, 180) }),
  radiusKm: finite(0),
  venues: count,
  rsvps: count,
  topTopics: array(object({ key: string, name: string, share: finite(), score: finite() })),
  hull: array(z.tuple([finite(-180, 180), finite(-90, 90)], { error: "expected [lon, lat]" })),
});

const clustersFile = object({
  k: count,
  kScores: array(object({ k: integer, silhouette: finite() })),
  venuesClustered: count,
  venuesWithoutPosition: count,
  clusters: array(cluster),
  dates: z.optional(dates),
  runStartedAt: z.optional(isoTime),
}) satisfies z.ZodMiniType<ClustersFile>;

export function parseClusters(value: unknown): Checked<ClustersFile> {
  return check(clustersFile, value);
}

const cityCount = z.pipe(
  object({
    key: z.optional(string),
    city: string,
    state: z.optional(nullableString),
    country: string,
    rsvps: count,
    yes: count,
    no: count,
    guests: z.optional(count),
    updatedAt: z.optional(finite()),
  }),
  z.transform(
    (c): CityCount => ({
      key: c.key ?? `${c.country}#${c.city}`,
      city: c.city,
      state: c.state ?? null,
      country: c.country,
      rsvps: c.rsvps,
      yes: c.yes,
      no: c.no,
      guests: c.guests ?? 0,
      updatedAt: c.updatedAt ?? 0,
    }),
  ),
);

const topCities = z.pipe(
  object({
    country: string,
    day: string,
    cities: array(cityCount),
    totalCities: z.optional(count),
    updatedAt: z.optional(z.nullable(isoTime)),
    today: z.optional(string),
  }),
  z.transform(
    (doc): TopCities => ({
      country: doc.country,
      day: doc.day,
      cities: doc.cities,
      totalCities: doc.totalCities ?? doc.cities.length,
      updatedAt: doc.updatedAt ?? null,
      ...(doc.today === undefined ? {} : { today: doc.today }),
    }),
  ),
);

/** The counts API's answer (functions/counts-api/top-cities.ts). */
export function parseTopCities(value: unknown): Checked<TopCities> {
  return check(topCities, value);
}

/** run.json (functions/render-map/site-files.ts); only what the page shows is required. */
const runFile = object({
  dates,
  range: string,
  startedAt: isoTime,
  finishedAt: isoTime,
  durationSeconds: finite(0),
  counts: object({
    venues: count,
    venuesClustered: count,
    venuesWithoutPosition: count,
    rsvps: count,
    clusters: count,
  }),
}) satisfies z.ZodMiniType<RunDocument>;

export function parseRun(value: unknown): Checked<RunDocument> {
  return check(runFile, value);
}

export interface SiteConfig {
  /** Base URL of the counts API: absolute, or relative to the page (`/api`). */
  countsApiUrl: string;
}

/** config.json, written at deploy. */
const configFile = z.object(
  {
    countsApiUrl: string.check(
      z.trim(),
      z.minLength(1, { error: "is empty" }),
      z.regex(/^(https?:\/\/|\/(?!\/))/i, {
        error: "expected an http(s) URL or a path starting with /",
      }),
    ),
  },
  { error: "expected an object" },
) satisfies z.ZodMiniType<SiteConfig>;

export function parseConfig(value: unknown): Checked<SiteConfig> {
  return check(configFile, value);
}
