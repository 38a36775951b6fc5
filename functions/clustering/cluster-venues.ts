/**
 * The clustering step of the daily batch: reads the curated venue table (Parquet the Spark job
 * wrote, one folder per day) for the run's date range from S3, clusters the venues, and writes
 * clusters.json and cities.json under a folder of this run in the batch bucket. The render step
 * publishes them to the site only once the map is drawn, so a failed run never leaves the site
 * half updated.
 */

import {
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { ClusteringSummary } from "../shared/batch-contract.js";
import { type BatchRange, inBatchRange, resolveBatchRange } from "../shared/batch-range.js";
import type { BatchStepDependencies } from "../shared/batch-step.js";
import { buildClusters, type ClustersDocument } from "./build-clusters.js";
import { type CitiesDocument, cityTopics } from "./city-topics.js";
import type { City } from "./labels.js";
import { mergeVenueDays, readVenueFile } from "./venue-table.js";

export interface ClusteringConfig {
  curatedBucket: string;
  /** Where the curated tables start inside the bucket ("" or "curated/"). */
  curatedPrefix: string;
  batchBucket: string;
  kMin: number;
  kMax: number;
  seed: number;
}

export interface ClusteringDependencies extends BatchStepDependencies {
  /** The gazetteer, loaded lazily: it is only needed once there are venues. */
  cities: () => readonly City[];
}

export interface ClusteringInput {
  range: string;
  /** The execution's start (ISO-8601): what "yesterday" is relative to. */
  startedAt?: string | undefined;
}

/** The clustering event is not what the workflow sends: a wiring bug, not worth a retry. */
export class InvalidClusteringEventError extends Error {
  override readonly name = "InvalidClusteringEventError";
}

/** The range holds no curated venue: nothing to draw, and the site keeps its last map. */
export class NoVenuesInRangeError extends Error {
  override readonly name = "NoVenuesInRangeError";
}

/** A curated file that cannot be read as the venue table: the run stops instead of guessing. */
export class CuratedDataError extends Error {
  override readonly name = "CuratedDataError";
}

const VENUE_FILE = /^venue\/date=(\d{4}-\d{2}-\d{2})\/[^/]+\.parquet$/;

export async function clusterVenues(
  input: ClusteringInput,
  config: ClusteringConfig,
  deps: ClusteringDependencies,
): Promise<ClusteringSummary> {
  const asOf = input.startedAt ? new Date(input.startedAt) : deps.now();
  const range = resolveBatchRange(input.range, asOf);
  const { read: files, setAside } = newestFilePerDay(await listVenueFiles(deps.s3, config, range));
  if (setAside.length > 0)
    deps.log?.(
      "days with more than one venue file (two runs over them at once?): the newest read",
      {
        setAside: setAside.map((file) => file.key),
      },
    );
  if (files.length === 0) {
    throw new NoVenuesInRangeError(
      `no curated venue files in s3://${config.curatedBucket}/${config.curatedPrefix}venue/ for ${describe(range)}: did the Spark step run over data of these days?`,
    );
  }
  deps.log?.("reading curated venues", { files: files.length, range: describe(range) });

  const rows = [];
  for (const file of files) {
    const object = await deps.s3.send(
      new GetObjectCommand({ Bucket: config.curatedBucket, Key: file.key }),
    );
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw new CuratedDataError(`empty object ${file.key}`);
    try {
      rows.push(
        ...(await readVenueFile(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
          file.date,
        )),
      );
    } catch (error) {
      throw new CuratedDataError(`${file.key}: ${(error as Error).message}`);
    }
  }
  const venues = mergeVenueDays(rows);
  const days = [...new Set(files.map((file) => file.date))].sort();
  const gazetteer = deps.cities();
  const clusters: ClustersDocument = buildClusters(venues, gazetteer, {
    kMin: config.kMin,
    kMax: config.kMax,
    seed: config.seed,
  });
  if (clusters.clusters.length === 0) {
    throw new NoVenuesInRangeError(
      `${venues.length} venues for ${describe(range)}, none with a position and RSVPs: nothing to map`,
    );
  }
  const cities: CitiesDocument = cityTopics(venues, gazetteer);

  const folder = `batch/${runFolder(asOf, input.range)}`;
  const clustersKey = `${folder}/clusters.json`;
  const citiesKey = `${folder}/cities.json`;
  const dates = { first: days[0] ?? null, last: days.at(-1) ?? null };
  await putJson(deps.s3, config.batchBucket, clustersKey, { dates, ...clusters });
  await putJson(deps.s3, config.batchBucket, citiesKey, { dates, ...cities });
  deps.log?.("clustered venues", { k: clusters.k, venues: venues.length, clustersKey });

  return {
    bucket: config.batchBucket,
    clustersKey,
    citiesKey,
    dates,
    venues: venues.length,
    venuesClustered: clusters.venuesClustered,
    venuesWithoutPosition: clusters.venuesWithoutPosition,
    rsvps: venues.reduce((sum, venue) => sum + venue.rsvpCount, 0),
    clusters: clusters.clusters.length,
  };
}

export interface VenueFile {
  key: string;
  date: string;
  lastModified?: Date | undefined;
}

async function listVenueFiles(
  s3: S3Client,
  config: ClusteringConfig,
  range: BatchRange,
): Promise<VenueFile[]> {
  const prefix = `${config.curatedPrefix}venue/`;
  const files: VenueFile[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: config.curatedBucket, Prefix: prefix },
  )) {
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? "";
      const match = VENUE_FILE.exec(key.slice(config.curatedPrefix.length));
      if (match?.[1] && inBatchRange(range, match[1]))
        files.push({ key, date: match[1], lastModified: object.LastModified });
    }
  }
  return files.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The file of each day to read, and those set aside. The job writes one file per day (it
 * repartitions by date), each run under a new name, and replaces the day's folder when it ends
 * (dynamic overwrite); two runs over one day at once (one started by hand beside the scheduled
 * one) can each leave theirs, and reading both would count the day twice. Of such a day, the
 * newest file (the run that finished last) is read, whole: one run's rows, never a mix.
 */
export function newestFilePerDay(files: readonly VenueFile[]): {
  read: VenueFile[];
  setAside: VenueFile[];
} {
  const newest = new Map<string, VenueFile>();
  for (const file of files) {
    const other = newest.get(file.date);
    const time = file.lastModified?.getTime() ?? 0;
    const otherTime = other?.lastModified?.getTime() ?? 0;
    if (!other || time > otherTime || (time === otherTime && file.key > other.key))
      newest.set(file.date, file);
  }
  const read = [...newest.values()].sort((a, b) => a.key.localeCompare(b.key));
  return { read, setAside: files.filter((file) => !read.includes(file)) };
}

async function putJson(s3: S3Client, bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: "application/json; charset=utf-8",
    }),
  );
}

function describe(range: BatchRange): string {
  return range.all ? "the whole history" : `${range.first}..${range.last}`;
}

/** One folder per execution: its start time and range, safe as an S3 key. */
export function runFolder(asOf: Date, range: string): string {
  return `${asOf.toISOString().replace(/[:.]/g, "-")}_${range.replace(/[^0-9A-Za-z.-]/g, "_")}`;
}
