/**
 * The CheckRange step itself, with its S3 client and raw folder passed in: the range an
 * execution was started with, resolved, and raw data found on its landing days.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { retryTransient } from "../shared/aws-errors.js";
import { InvalidBatchRangeError, resolveBatchRange } from "../shared/batch-range.js";
import { parseEvent } from "../shared/parse-event.js";
import { type RawLanding, requireRawData } from "./raw-landed.js";

export const batchRangeEventSchema = z.object({
  range: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }),
});

/** What CheckRange answers: the range as given, and the UTC days it covers. */
export type CheckedRange =
  | { range: string; all: true }
  | { range: string; all: false; first: string; last: string };

export interface BatchRangeDependencies {
  s3: S3Client;
  raw: RawLanding;
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** Waits between tries of the S3 check (tests pass a no-op). */
  pause?: (attempt: number) => Promise<void>;
}

/**
 * How long an S3 that fails for a moment (5xx, SlowDown) is tried again, past the SDK's own 3
 * attempts, within the function's 10 s: the workflow retries Lambda's own errors only, and a
 * scheduled run failed here fails that night's map.
 */
const S3_RETRY_BUDGET_MS = 5_000;

export async function checkRange(
  event: unknown,
  dependencies: BatchRangeDependencies,
): Promise<CheckedRange> {
  const { range, startedAt } = parseEvent(
    batchRangeEventSchema,
    event ?? {},
    "a batch-range event",
    InvalidBatchRangeError,
  );
  const resolved = resolveBatchRange(range, new Date(startedAt));
  const landed = await retryTransient(
    () => requireRawData(dependencies.s3, dependencies.raw, resolved),
    {
      budgetMs: S3_RETRY_BUDGET_MS,
      ...(dependencies.pause ? { pause: dependencies.pause } : {}),
      onRetry: (error, attempt) =>
        dependencies.log?.("S3 failing for a moment; trying again", {
          attempt,
          error: error.message,
        }),
    },
  );
  dependencies.log?.("range checked", { range, ...resolved, landed });
  return { range, ...resolved };
}
