/**
 * Batch-range Lambda, the CheckRange state of the daily batch: the range an execution was
 * started with, checked and resolved before any EMR cluster is created. A range typed by hand
 * (`"2018-5-20"`, `"2018-05-26..2018-05-20"`) otherwise failed only inside the Spark step, ten
 * minutes and a cluster later, with a cause that named the step, not the range; so did a range
 * nothing has landed for. Its errors are InvalidBatchRangeError and NoRawDataInRangeError with
 * the reason; its answer, the days the run covers.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { S3Client } from "@aws-sdk/client-s3";
import middy from "@middy/core";
import { z } from "zod";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { type BatchRangeDependencies, type CheckedRange, checkRange } from "./check-range.js";

const env = readConfig(
  z.object({
    RAW_BUCKET: z.string().min(1),
    /** The folder of Firehose's day folders, ending in "/". */
    RAW_PREFIX: z.string().regex(/^([^/]+\/)+$/, 'a folder ending in "/", like rsvps/'),
  }),
);

export const logger = createLogger("batch-range");

export const defaultDependencies: BatchRangeDependencies = {
  s3: new S3Client({}),
  raw: { bucket: env.RAW_BUCKET, prefix: env.RAW_PREFIX },
  log: (message, fields) => logger.info(message, fields),
};

/** The bare handler, for tests and the local batch runner. */
export function checkBatchRange(
  event: unknown,
  dependencies: BatchRangeDependencies = defaultDependencies,
): Promise<CheckedRange> {
  return checkRange(event, dependencies);
}

export const handler = middy<unknown, CheckedRange>()
  .use(injectLambdaContext(logger))
  .handler((event: unknown) => checkBatchRange(event));
