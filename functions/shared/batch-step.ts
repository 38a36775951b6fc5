/**
 * What the daily batch's step Lambdas (clustering, render-map) have in common: each reads and
 * writes S3, tells the time (a test passes a fixed clock, so "yesterday" is deterministic) and
 * reports progress through the function's logger (a test passes nothing, or a recorder).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { S3Client } from "@aws-sdk/client-s3";

export interface BatchStepDependencies {
  s3: S3Client;
  now: () => Date;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** The production wiring: the function's S3 client, the wall clock, its logger at INFO. */
export function batchStepDependencies(s3: S3Client, logger: Logger): BatchStepDependencies {
  return {
    s3,
    now: () => new Date(),
    log: (message, fields) => logger.info(message, fields),
  };
}
