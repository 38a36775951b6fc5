/**
 * Checks of the JSON the page reads, by hand: the same rules as the zod schemas of
 * functions/shared/batch-contract.ts (clusters.json) and the counts API's types, in a few
 * hundred bytes instead of zod's ~60 KB in the bundle. test/unit/site-validate.test.ts holds
 * both to the same verdicts. Unknown extra fields are kept, as the schemas' looseObject does.
 */
import type { Cluster, ClustersDocument } from "../../functions/clustering/build-clusters.js";
import type { CityCount, TopCities } from "../../functions/counts-api/top-cities.js";
import type { RunDocument } from "../../functions/render-map/site-files.js";

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export class ValidationError extends Error {
  override readonly name = "ValidationError";
}

type Path = string;

function fail(path: Path, message: string): never {
  throw new ValidationError(`${path || "(document)"}: ${message}`);
}

function object(value: unknown, path: Path): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(path, "expected an object");
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: Path): unknown[] {
  if (!Array.isArray(value)) fail(path, "expected an array");
  return value;
}

function string(value: unknown, path: Path): string {
  if (typeof value !== "string") fail(path, "expected a string");
  return value;
}

function nullableString(value: unknown, path: Path): string | null {
  return value === null ? null : string(value, path);
}

function finite(value: unknown, path: Path, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(path, "expected a finite number");
  if (value < min || value > max) fail(path, `expected a number in [${min}, ${max}]`);
  return value;
}

function integer(value: unknown, path: Path): number {
  // As zod's .int(): a safe integer.
  if (!Number.isSafeInteger(value)) fail(path, "expected an integer");
  return value as number;
}

function count(value: unknown, path: Path): number {
  const n = integer(value, path);
  if (n < 0) fail(path, "expected a count (>= 0)");
  return n;
}

function checked<T>(parse: () => T): Checked<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false, error: error.message };
    throw error;
  }
}

/** clusters.json plus the `dates` the clustering step adds. */
export type ClustersFile = ClustersDocument & {
  dates?: { first: string | null; last: string | null };
};

function cluster(value: unknown, path: Path): Cluster {
  const c = object(value, path);
  integer(c.id, `${path}.id`);
  string(c.label, `${path}.label`);
  string(c.category, `${path}.category`);
  const centroid = object(c.centroid, `${path}.centroid`);
  finite(centroid.lat, `${path}.centroid.lat`, -90, 90);
  finite(centroid.lon, `${path}.centroid.lon`, -180, 180);
  finite(c.radiusKm, `${path}.radiusKm`, 0);
  count(c.venues, `${path}.venues`);
  count(c.rsvps, `${path}.rsvps`);
  array(c.topTopics, `${path}.topTopics`).forEach((topic, i) => {
    const t = object(topic, `${path}.topTopics.${i}`);
    string(t.key, `${path}.topTopics.${i}.key`);
    string(t.name, `${path}.topTopics.${i}.name`);
    finite(t.share, `${path}.topTopics.${i}.share`);
    finite(t.score, `${path}.topTopics.${i}.score`);
  });
  array(c.hull, `${path}.hull`).forEach((point, i) => {
    const p = array(point, `${path}.hull.${i}`);
    if (p.length !== 2) fail(`${path}.hull.${i}`, "expected [lon, lat]");
    finite(p[0], `${path}.hull.${i}.0`, -180, 180);
    finite(p[1], `${path}.hull.${i}.1`, -90, 90);
  });
  return c as unknown as Cluster;
}

export function parseClusters(value: unknown): Checked<ClustersFile> {
  return checked(() => {
    const doc = object(value, "");
    count(doc.k, "k");
    array(doc.kScores, "kScores").forEach((score, i) => {
      const s = object(score, `kScores.${i}`);
      integer(s.k, `kScores.${i}.k`);
      finite(s.silhouette, `kScores.${i}.silhouette`);
    });
    count(doc.venuesClustered, "venuesClustered");
    count(doc.venuesWithoutPosition, "venuesWithoutPosition");
    array(doc.clusters, "clusters").forEach((c, i) => {
      cluster(c, `clusters.${i}`);
    });
    if (doc.dates !== undefined) {
      const dates = object(doc.dates, "dates");
      nullableString(dates.first, "dates.first");
      nullableString(dates.last, "dates.last");
    }
    return doc as unknown as ClustersFile;
  });
}

function cityCount(value: unknown, path: Path): CityCount {
  const c = object(value, path);
  const text = (name: string) => string(c[name], `${path}.${name}`);
  const number = (name: string) => count(c[name], `${path}.${name}`);
  return {
    key: typeof c.key === "string" ? c.key : `${text("country")}#${text("city")}`,
    city: text("city"),
    state: nullableString(c.state ?? null, `${path}.state`),
    country: text("country"),
    rsvps: number("rsvps"),
    yes: number("yes"),
    no: number("no"),
    guests: typeof c.guests === "number" ? number("guests") : 0,
    updatedAt: typeof c.updatedAt === "number" ? finite(c.updatedAt, `${path}.updatedAt`) : 0,
  };
}

/** The counts API's answer (functions/counts-api/top-cities.ts). */
export function parseTopCities(value: unknown): Checked<TopCities> {
  return checked(() => {
    const doc = object(value, "");
    const updatedAt = nullableString(doc.updatedAt ?? null, "updatedAt");
    if (updatedAt !== null && Number.isNaN(Date.parse(updatedAt))) {
      fail("updatedAt", "expected an ISO 8601 time");
    }
    const cities = array(doc.cities, "cities").map((c, i) => cityCount(c, `cities.${i}`));
    return {
      country: string(doc.country, "country"),
      day: string(doc.day, "day"),
      cities,
      totalCities:
        doc.totalCities === undefined ? cities.length : count(doc.totalCities, "totalCities"),
      updatedAt,
      ...(doc.today === undefined ? {} : { today: string(doc.today, "today") }),
    };
  });
}

/** run.json (functions/render-map/site-files.ts); only what the page shows is required. */
export function parseRun(value: unknown): Checked<RunDocument> {
  return checked(() => {
    const doc = object(value, "");
    const dates = object(doc.dates, "dates");
    nullableString(dates.first, "dates.first");
    nullableString(dates.last, "dates.last");
    string(doc.range, "range");
    for (const field of ["startedAt", "finishedAt"] as const) {
      if (Number.isNaN(Date.parse(string(doc[field], field)))) {
        fail(field, "expected an ISO 8601 time");
      }
    }
    finite(doc.durationSeconds, "durationSeconds", 0);
    const counts = object(doc.counts, "counts");
    for (const field of [
      "venues",
      "venuesClustered",
      "venuesWithoutPosition",
      "rsvps",
      "clusters",
    ]) {
      count(counts[field], `counts.${field}`);
    }
    return doc as unknown as RunDocument;
  });
}

export interface SiteConfig {
  /** Base URL of the counts API: absolute, or relative to the page (`/api`). */
  countsApiUrl: string;
}

/** config.json, written at deploy. */
export function parseConfig(value: unknown): Checked<SiteConfig> {
  return checked(() => {
    const doc = object(value, "");
    const url = string(doc.countsApiUrl, "countsApiUrl").trim();
    if (url === "") fail("countsApiUrl", "is empty");
    if (!/^(https?:\/\/|\/(?!\/))/i.test(url)) {
      fail("countsApiUrl", "expected an http(s) URL or a path starting with /");
    }
    return { countsApiUrl: url };
  });
}
