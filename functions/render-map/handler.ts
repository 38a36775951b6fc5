/**
 * Render Lambda, the RenderMap state of the daily batch: `{range, startedAt, clustering}` in
 * (clustering is the ClusterVenues state's summary), the map and the run's files published to
 * the site bucket, `{siteBucket, keys, mapBytes}` out. The basemap and the font come from the
 * atlas-data layer. Errors propagate as typed errors: Step Functions sees their name as the
 * failure's error.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import { z } from "zod";
import { loadBasemap } from "../shared/atlas-data.js";
import { type RenderResult, renderEventSchema } from "../shared/batch-contract.js";
import { batchStepDependencies } from "../shared/batch-step.js";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { parseEvent } from "../shared/parse-event.js";
import { loadMapFonts } from "./fonts.js";
import { InvalidRenderEventError, type RenderDependencies, renderSite } from "./render-site.js";

const config = readConfig(
  z.object({
    /** The website bucket: map.png, clusters.json, cities.json, run.json, index.html. */
    SITE_BUCKET: z.string().min(1),
  }),
);

export const logger = createLogger("render-map");
// Path-style addressing only against a local endpoint (moto), where bucket host names do not resolve.
const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });

export const defaultDependencies: RenderDependencies = {
  ...batchStepDependencies(s3, logger),
  basemap: () => loadBasemap("50m"),
  fonts: loadMapFonts,
};

/** The bare handler, for tests and the local batch runner. */
export async function renderMapHandler(
  event: unknown,
  dependencies: RenderDependencies = defaultDependencies,
): Promise<RenderResult> {
  const input = parseEvent(renderEventSchema, event, "a render event", InvalidRenderEventError);
  return renderSite(input, { siteBucket: config.SITE_BUCKET }, dependencies);
}

export const handler = middy<unknown, RenderResult>()
  .use(injectLambdaContext(logger))
  .handler((event: unknown) => renderMapHandler(event));
