/**
 * city-counts Lambda, triggered by the Amazon MSK event source on the RSVP topic: keeps per-city
 * RSVP counts per UTC day and all time, exactly once, by the rule in rsvp-state.ts. Thin:
 * validate the event, run the batch, log the result. A record it cannot count is dead-lettered
 * and skipped; only an infrastructure error fails the invocation, and the event source then
 * retries (bisecting) up to its limit before sending the batch to its on-failure destination.
 * The counting scheme makes every retry harmless.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { isTransientAwsError, retryTransient } from "../shared/aws-errors.js";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { messagesOf, mskEventSchema } from "../shared/msk-event.js";
import { parseEvent } from "../shared/parse-event.js";
import { RETENTION_CHECK_HOURS, topicKeepsRecordsHours } from "../shared/topic-retention.js";
import { COUNTS_DYNAMODB_CLIENT_CONFIG, dynamoCountsStore } from "./counts-store.js";
import {
  type BatchResult,
  nothingApplied,
  type ProcessBatchDependencies,
  processBatch,
  RECORD_WRITE_TIMEOUT_MS,
} from "./process-batch.js";

/** Hours after a record was written that the topic may still deliver it (topic-retention.ts). */
const topicKeeps = (c: { RSVP_TOPIC_RETENTION_HOURS: number; RSVP_TOPIC_SEGMENT_HOURS: number }) =>
  topicKeepsRecordsHours(c.RSVP_TOPIC_RETENTION_HOURS, c.RSVP_TOPIC_SEGMENT_HOURS);

/** The function's environment (exported for tests). */
export const configSchema = z
  .object({
    TABLE_NAME: z.string().min(1),
    /**
     * The dedup horizon, in days: a copy the feed sends within it of an RSVP's last change
     * (and of its event) changes nothing. The state lives this long after its last write plus
     * as long as the topic keeps a record, so a copy read late (the consumer behind) finds it
     * too. It must outlive how long the topic keeps a record, so that no redelivery from
     * the topic can find the state gone.
     */
    RSVP_STATE_TTL_DAYS: z.coerce.number().int().positive().default(14),
    /** The RSVP topic's retention.ms, in hours, and its segment.ms (segments go whole). */
    RSVP_TOPIC_RETENTION_HOURS: z.coerce.number().positive().default(168),
    RSVP_TOPIC_SEGMENT_HOURS: z.coerce.number().positive().default(1),
  })
  .refine((c) => topicKeeps(c) < c.RSVP_STATE_TTL_DAYS * 24, {
    path: ["RSVP_STATE_TTL_DAYS"],
    message: `must outlive the topic's retention, its segment roll and ${RETENTION_CHECK_HOURS} h for the broker's retention check (RSVP_TOPIC_RETENTION_HOURS + RSVP_TOPIC_SEGMENT_HOURS + ${RETENTION_CHECK_HOURS} < RSVP_STATE_TTL_DAYS x 24)`,
  });

const config = readConfig(configSchema);

export const logger = createLogger("city-counts");
/**
 * COUNTS_DYNAMODB_CLIENT_CONFIG: ten attempts per call, requests bounded in time; beyond them,
 * retryTransient below runs the batch again. With the SDK's defaults alone an 8-second run of
 * DynamoDB 500s spent the event source's retries on single records and set them aside
 * uncounted (npm run chaos, fault dynamodb-500).
 */
/** Half the function's 60 s timeout: time left to finish the batch after the outage. */
const TRANSIENT_BUDGET_MS = 30_000;
/**
 * Kept back from the function's timeout: the run stops this long before it, so its error path
 * records the batch's RSVPs (RECORD_WRITE_TIMEOUT_MS at most, beside pauses of at most a
 * second or two that end at the next call) and the invocation fails on its own, keeping the
 * container and any record an outage refused. A run the timeout ends does neither
 * (docs/streaming-and-counting.md, "What this cannot hold"). A function with a timeout under
 * twice this keeps half its time back, and gives the records half of that.
 */
export const DEADLINE_RESERVE_MS = 10_000;

/** The run's deadline and its records' bound, from the time Lambda gives the invocation. */
function deadlineOf(remainingMs: number) {
  const reserveMs = Math.min(DEADLINE_RESERVE_MS, Math.floor(remainingMs / 2));
  return {
    signal: AbortSignal.timeout(Math.max(0, remainingMs - reserveMs)),
    recordWriteTimeoutMs: Math.min(RECORD_WRITE_TIMEOUT_MS, Math.floor(reserveMs / 2)),
  };
}
const dynamodb = new DynamoDBClient(COUNTS_DYNAMODB_CLIENT_CONFIG);

// Retention, segment roll and the broker's retention check (RETENTION_CHECK_HOURS).
const keepAliveSeconds = topicKeeps(config) * 3_600;

export const defaultDependencies: ProcessBatchDependencies = {
  store: dynamoCountsStore(dynamodb, config.TABLE_NAME),
  tableName: config.TABLE_NAME,
  // The horizon, plus as long as the topic may hold a copy before it is read: a copy the feed
  // sends just inside the horizon, read by a consumer that far behind, still finds the state.
  // Counted from the state's write alone, the horizon shrank by the consumer's lag.
  stateTtlSeconds: config.RSVP_STATE_TTL_DAYS * 86_400 + keepAliveSeconds,
  keepAliveSeconds,
  // Days this container has marked as having counts: a marker is written once per day.
  markedDays: new Set<string>(),
  // Records of failed batches an outage refused: written first by this container's next run.
  unwrittenRecords: new Map(),
};

/**
 * The bare handler, for tests: `dependencies` replaces the DynamoDB-backed defaults; `context`
 * (Lambda's, or the local event source's) sets the run's deadline, {@link DEADLINE_RESERVE_MS}
 * before the function's timeout; without one, `dependencies.signal` is the only deadline.
 */
export async function countCityRsvps(
  event: unknown,
  dependencies: ProcessBatchDependencies = defaultDependencies,
  context?: Pick<Context, "getRemainingTimeInMillis">,
): Promise<BatchResult> {
  // Not an MSK batch at all: retrying cannot help, and a silent success would hide it.
  const messages = messagesOf(parseEvent(mskEventSchema, event, "an MSK event"));
  const run = context
    ? { ...dependencies, ...deadlineOf(context.getRemainingTimeInMillis()) }
    : dependencies;
  // A DynamoDB outage of up to half a minute is ridden out here, not with the event source's
  // retries (which would set single records aside once spent): a batch may run again whole,
  // its runs adding what each applied to one tally. Never past the deadline.
  const applied = nothingApplied();
  const result = await retryTransient(() => processBatch(messages, run, applied), {
    budgetMs: TRANSIENT_BUDGET_MS,
    retryable: (error) => !run.signal?.aborted && isTransientAwsError(error),
    onRetry: (error, attempt) =>
      logger.warn("DynamoDB failing for a moment; the batch runs again", {
        attempt,
        error: error.message,
      }),
  });
  logger.info("batch counted", { ...result });
  if (result.deadLettered > 0)
    logger.warn("poison records dead-lettered", { deadLettered: result.deadLettered });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler((event: unknown, context: Context) =>
    countCityRsvps(event, defaultDependencies, context),
  );
