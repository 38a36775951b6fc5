/**
 * The CheckRange step itself, with its S3 client and raw folder passed in: the range an
 * execution was started with, resolved, and raw data found on its landing days.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
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
}

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
  const landed = await requireRawData(dependencies.s3, dependencies.raw, resolved);
  dependencies.log?.("range checked", { range, ...resolved, landed });
  return { range, ...resolved };
}
