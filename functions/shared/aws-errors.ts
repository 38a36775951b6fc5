/**
 * Telling a passing AWS failure from a bug, and riding the passing ones out.
 */
import { backoffPause } from "./backoff.js";

const TRANSIENT_ERRORS = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
]);

/** An AWS SDK error that says "try again": throttling, or the service's own 5xx. */
export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return TRANSIENT_ERRORS.has(error.name) || (metadata?.httpStatusCode ?? 0) >= 500;
}

export interface RetryTransientOptions {
  /** Time after the first failure within which another attempt may start. */
  budgetMs: number;
  onRetry?: (error: Error, attempt: number) => void;
  /** Waits before attempt `attempt + 1`; tests pass a no-op. */
  pause?: (attempt: number) => Promise<void>;
  now?: () => number;
}

/**
 * `work` again after a transient AWS error, with jittered pauses growing to 2 s, until it
 * succeeds or `budgetMs` has passed since the first failure; any other error at once. The SDK
 * retries each call too, but its retry quota (a token bucket per client, 5 tokens a retry of 500
 * at start) runs dry in an outage of some seconds, after which calls fail at the first error:
 * `work` must be safe to run again (the counting's batches are, by their conditions).
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  { budgetMs, onRetry, pause = jitteredPause, now = Date.now }: RetryTransientOptions,
): Promise<T> {
  let firstFailure: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientAwsError(error)) throw error;
      firstFailure ??= now();
      if (now() - firstFailure >= budgetMs) throw error;
      onRetry?.(error as Error, attempt);
      await pause(attempt);
    }
  }
}

const jitteredPause = (attempt: number) => backoffPause(attempt, { baseMs: 100, capMs: 2000 });
