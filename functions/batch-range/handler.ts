/**
 * Batch-range Lambda, the CheckRange state of the daily batch: the range an execution was
 * started with, checked and resolved before any EMR cluster is created. A range typed by hand
 * (`"2018-5-20"`, `"2018-05-26..2018-05-20"`) otherwise failed only inside the Spark step, ten
 * minutes and a cluster later, with a cause that named the step, not the range. Its error is
 * InvalidBatchRangeError with the reason; its answer, the days the run covers.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { z } from "zod";
import { InvalidBatchRangeError, resolveBatchRange } from "../shared/batch-range.js";
import { createLogger } from "../shared/logger.js";
import { parseEvent } from "../shared/parse-event.js";

export const logger = createLogger("batch-range");

export const batchRangeEventSchema = z.object({
  range: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }),
});

/** What CheckRange answers: the range as given, and the UTC days it covers. */
export type CheckedRange =
  | { range: string; all: true }
  | { range: string; all: false; first: string; last: string };

/** The bare handler, for tests and the local batch runner. */
export function checkBatchRange(event: unknown): CheckedRange {
  const { range, startedAt } = parseEvent(
    batchRangeEventSchema,
    event ?? {},
    "a batch-range event",
    InvalidBatchRangeError,
  );
  const resolved = resolveBatchRange(range, new Date(startedAt));
  logger.info("range checked", { range, ...resolved });
  return { range, ...resolved };
}

export const handler = middy<unknown, CheckedRange>()
  .use(injectLambdaContext(logger))
  .handler(async (event: unknown) => checkBatchRange(event));
