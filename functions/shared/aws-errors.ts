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
  "UnprocessedItemsError",
]);

/**
 * DynamoDB still held back part of a BatchGetItem or BatchWriteItem after our own rounds of
 * backoff. DynamoDB throttles these calls by answering with `UnprocessedKeys` or
 * `UnprocessedItems`, not with an error (it throws ProvisionedThroughputExceededException only
 * when it could process none of the items: DynamoDB API Reference, BatchGetItem and
 * BatchWriteItem), so a hot partition that lasts a few seconds ends here. It is throttling by
 * another name, and transient like it.
 */
export class UnprocessedItemsError extends Error {
  override readonly name = "UnprocessedItemsError";
}

/**
 * Node's codes for a connection that failed or dropped (Node.js docs, "Common system errors"),
 * and the host name not resolving for the moment: no answer came, so none says "do not retry".
 */
const NETWORK_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * An AWS SDK error that says "try again": throttling (the SDK's, or a batch call's items held
 * back, {@link UnprocessedItemsError}), or the service's own 5xx, or a DynamoDB transaction
 * cancelled only because it was throttled ({@link isThrottledTransaction}), or no answer at all:
 * a request timed out (`TimeoutError`, the SDK's HTTP handler's name for its connection and
 * request timeouts) or its connection failed.
 */
export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const code = (error as { code?: unknown }).code;
  return (
    TRANSIENT_ERRORS.has(error.name) ||
    (metadata?.httpStatusCode ?? 0) >= 500 ||
    isThrottledTransaction(error) ||
    error.name === "TimeoutError" ||
    (typeof code === "string" && NETWORK_ERROR_CODES.has(code))
  );
}

/** Reason codes that cancel a transaction for throughput: another try can succeed. */
const THROTTLED_REASONS = new Set(["ThrottlingError", "ProvisionedThroughputExceeded"]);
/**
 * Reason codes that may stand beside a throttled one: the item had no error ("None", or no code
 * at all), or another transaction held it for a moment (running the work again re-reads it).
 */
const HARMLESS_REASONS = new Set(["None", "NONE", "TransactionConflict", ...THROTTLED_REASONS]);

/**
 * A TransactWriteItems (or TransactGetItems) that DynamoDB throttled. DynamoDB does not answer
 * a throttled transaction with ThrottlingException but with TransactionCanceledException (HTTP
 * 400, which the SDK does not retry), its `CancellationReasons` holding `ThrottlingError` for
 * the throttled item on an on-demand table (a hot partition key, or the table still scaling) or
 * `ProvisionedThroughputExceeded` on a provisioned one, and `None` for every item that had no
 * error: the reasons come in the order of the request's items. A transaction with any other
 * reason (ConditionalCheckFailed, ValidationError, ...) would fail again the same way, so it
 * is not transient. Read structurally, so this module needs no DynamoDB client. Source: the
 * DynamoDB API Reference, TransactWriteItems, Errors, TransactionCanceledException,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html.
 */
function isThrottledTransaction(error: Error): boolean {
  if (error.name !== "TransactionCanceledException") return false;
  const reasons = (error as { CancellationReasons?: unknown }).CancellationReasons;
  if (!Array.isArray(reasons)) return false;
  const codes = reasons.map((reason: unknown) =>
    typeof reason === "object" && reason !== null ? (reason as { Code?: unknown }).Code : undefined,
  );
  return (
    codes.some((code) => typeof code === "string" && THROTTLED_REASONS.has(code)) &&
    codes.every(
      (code) => code === undefined || code === null || HARMLESS_REASONS.has(code as string),
    )
  );
}

export interface RetryTransientOptions {
  /** Time after the first failure within which another attempt may start. */
  budgetMs: number;
  onRetry?: (error: Error, attempt: number) => void;
  /** Which errors are worth another attempt; the transient ones by default. */
  retryable?: (error: unknown) => boolean;
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
  {
    budgetMs,
    onRetry,
    retryable = isTransientAwsError,
    pause = jitteredPause,
    now = Date.now,
  }: RetryTransientOptions,
): Promise<T> {
  let firstFailure: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!retryable(error)) throw error;
      firstFailure ??= now();
      if (now() - firstFailure >= budgetMs) throw error;
      onRetry?.(error as Error, attempt);
      await pause(attempt);
    }
  }
}

const jitteredPause = (attempt: number) => backoffPause(attempt, { baseMs: 100, capMs: 2000 });
