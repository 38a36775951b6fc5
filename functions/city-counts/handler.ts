/**
 * city-counts Lambda, triggered by the Amazon MSK event source on the RSVP topic: keeps per-city
 * RSVP counts per UTC day and all time, exactly once (see counting.ts). Thin: validate the
 * event, run the batch, log the result. An error fails the invocation, and Lambda retries the
 * whole batch; the counting scheme makes that retry harmless.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import { z } from "zod";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { messagesOf, mskEventSchema } from "../shared/msk-event.js";
import { dynamoCountsStore } from "./counts-store.js";
import { type BatchResult, type ProcessBatchDependencies, processBatch } from "./process-batch.js";

const config = readConfig(
  z.object({
    TABLE_NAME: z.string().min(1),
    /** Days per-day counters and seen items live after their last update (the dedup horizon). */
    DAY_COUNTS_TTL_DAYS: z.coerce.number().int().positive().default(8),
  }),
);

export const logger = createLogger("city-counts");
const dynamodb = new DynamoDBClient({});

export const defaultDependencies: ProcessBatchDependencies = {
  store: dynamoCountsStore(dynamodb, config.TABLE_NAME),
  tableName: config.TABLE_NAME,
  ttlSeconds: config.DAY_COUNTS_TTL_DAYS * 86_400,
};

/** The bare handler, for tests: `dependencies` replaces the DynamoDB-backed defaults. */
export async function countCityRsvps(
  event: unknown,
  dependencies: ProcessBatchDependencies = defaultDependencies,
): Promise<BatchResult> {
  const parsed = mskEventSchema.safeParse(event);
  if (!parsed.success) {
    // Not an MSK batch at all: retrying cannot help, and a silent success would hide it.
    throw new Error(`not an MSK event: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const result = await processBatch(messagesOf(parsed.data), dependencies);
  logger.info("batch counted", { ...result });
  if (result.deadLettered > 0)
    logger.warn("poison records dead-lettered", { deadLettered: result.deadLettered });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler((event: unknown) => countCityRsvps(event));
