/**
 * What the steps of the daily batch hand each other through Step Functions, as zod schemas and
 * their types: the clustering Lambda's summary (the ClusterVenues state's output), the render
 * Lambda's event and result, and the clusters.json document the render step reads back.
 */
import { z } from "zod";
import type { ClustersDocument } from "../clustering/build-clusters.js";

const count = z.number().int().nonnegative();

/** What the clustering step wrote, where, and how much of it there was. */
export const clusteringSummarySchema = z.object({
  /** The batch bucket holding this run's clusters.json and cities.json. */
  bucket: z.string().min(1),
  clustersKey: z.string().min(1),
  citiesKey: z.string().min(1),
  /** First and last day (YYYY-MM-DD) with curated venues in the run's range. */
  dates: z.object({ first: z.string().min(1).nullable(), last: z.string().min(1).nullable() }),
  venues: count,
  venuesClustered: count,
  venuesWithoutPosition: count,
  rsvps: count,
  clusters: count,
});
export type ClusteringSummary = z.infer<typeof clusteringSummarySchema>;

/** The RenderMap state's payload. */
export const renderEventSchema = z.object({
  /** The range the execution was started with ("yesterday", "all", a day or "day..day"). */
  range: z.string().min(1),
  /** The execution's start, ISO-8601 (`$$.Execution.StartTime`): the run's duration counts from it. */
  startedAt: z.iso.datetime({ offset: true }),
  clustering: clusteringSummarySchema,
});
export type RenderEvent = z.infer<typeof renderEventSchema>;

/** What the render step returns: the site bucket and what it wrote there, in order. */
export interface RenderResult {
  siteBucket: string;
  keys: string[];
  mapBytes: number;
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const lonLat = z.tuple([finite.min(-180).max(180), finite.min(-90).max(90)]);

/** One cluster of clusters.json, as build-clusters.ts writes it (more fields are kept). */
export const clusterSchema = z.looseObject({
  id: z.number().int(),
  label: z.string(),
  category: z.string(),
  centroid: z.object({ lat: finite.min(-90).max(90), lon: finite.min(-180).max(180) }),
  radiusKm: finite.nonnegative(),
  venues: count,
  rsvps: count,
  topTopics: z.array(
    z.looseObject({ key: z.string(), name: z.string(), share: finite, score: finite }),
  ),
  /** Counter-clockwise convex hull, [lon, lat] pairs. */
  hull: z.array(lonLat),
});

/** clusters.json: a {@link ClustersDocument}; the clustering step adds the run's `dates`. */
export const clustersDocumentSchema = z.looseObject({
  k: z.number().int().nonnegative(),
  kScores: z.array(z.object({ k: z.number().int(), silhouette: finite })),
  venuesClustered: count,
  venuesWithoutPosition: count,
  clusters: z.array(clusterSchema),
}) satisfies z.ZodType<ClustersDocument>;
