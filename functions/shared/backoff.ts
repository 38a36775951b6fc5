/**
 * The one backoff of the code base: exponential growth with full jitter, so that retrying
 * writers (a fleet of ingest tasks, concurrent Lambdas on one RSVP) spread out instead of
 * retrying in lockstep. Each caller passes its own base and cap.
 */

export interface Backoff {
  /** The ceiling of attempt 0; it doubles with each attempt. */
  baseMs: number;
  /** The ceiling never grows past this. */
  capMs: number;
}

/** Full jitter: a whole number of ms, uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  { baseMs, capMs }: Backoff,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Waits {@link backoffDelay} before the next attempt. */
export function backoffPause(
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): Promise<void> {
  return sleep(backoffDelay(attempt, backoff, random));
}
