/**
 * Clustering Lambda, the ClusterVenues state of the daily batch: `{range, startedAt}` in, the
 * summary the render step needs out (where clusters.json and cities.json are, and the counts).
 * Errors propagate as typed errors: Step Functions sees their name as the failure's error.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import { z } from "zod";
import { loadGazetteer } from "../shared/atlas-data.js";
import type { ClusteringSummary } from "../shared/batch-contract.js";
import { batchStepDependencies } from "../shared/batch-step.js";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { parseEvent } from "../shared/parse-event.js";
import {
  type ClusteringDependencies,
  clusterVenues,
  InvalidClusteringEventError,
} from "./cluster-venues.js";

/**
 * The most clusters to try (template.yaml, ClusteringKMax): one k-means per k, within the
 * Lambda's 900 s (8..120 took 166 s for 3,500 venues, 8..200 741 s: npm run bench -- choose-k).
 */
const MAX_K = 120;
const clusterCount = z.coerce.number().int().positive().max(MAX_K);
const env = readConfig(
  z
    .object({
      CURATED_BUCKET: z.string().min(1),
      CURATED_PREFIX: z.string().default(""),
      BATCH_BUCKET: z.string().min(1),
      K_MIN: clusterCount.default(8),
      K_MAX: clusterCount.default(80),
      CLUSTER_SEED: z.coerce.number().int().default(1),
    })
    .refine((value) => value.K_MIN <= value.K_MAX, "K_MIN must not exceed K_MAX"),
);
const config = {
  curatedBucket: env.CURATED_BUCKET,
  curatedPrefix: env.CURATED_PREFIX,
  batchBucket: env.BATCH_BUCKET,
  kMin: env.K_MIN,
  kMax: env.K_MAX,
  seed: env.CLUSTER_SEED,
};

export const logger = createLogger("clustering");
const s3 = new S3Client({});

/** Cities of 50,000 people or more label clusters and attribute venues to metro areas. */
const GAZETTEER_MIN_POPULATION = 50_000;

export const clusteringEventSchema = z.object({
  range: z.string().min(1).default("yesterday"),
  startedAt: z.iso.datetime({ offset: true }).optional(),
});

export const defaultDependencies: ClusteringDependencies = {
  ...batchStepDependencies(s3, logger),
  cities: () => loadGazetteer(GAZETTEER_MIN_POPULATION),
};

/** The bare handler, for tests and the local batch runner. */
export async function clusterVenuesHandler(
  event: unknown,
  dependencies: ClusteringDependencies = defaultDependencies,
): Promise<ClusteringSummary> {
  const input = parseEvent(
    clusteringEventSchema,
    event ?? {},
    "a clustering event",
    InvalidClusteringEventError,
  );
  return clusterVenues(input, config, dependencies);
}

export const handler = middy<unknown, ClusteringSummary>()
  .use(injectLambdaContext(logger))
  .handler((event: unknown) => clusterVenuesHandler(event));
