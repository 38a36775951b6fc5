/**
 * A queue in front of a sink (Kafka, Firehose) that sends in bounded batches and sends a failed
 * batch again, first and as it was (or, for a send that says which part did not go,
 * {@link PartlySentError}, that part): nothing is lost by a failure. As it was, because a failed
 * send may have reached the sink all the same (a broker that appended a Produce request and
 * died before answering): Kafka's idempotent producer has the broker recognise the same records
 * sent again as a duplicate, but the failed records batched with newer ones are a batch with
 * the same first sequence and another last, which the broker refuses for good
 * (OUT_OF_ORDER_SEQUENCE_NUMBER), and the sender would stall. With `concurrency` 1 (Kafka: one producer
 * request at a time keeps each partition in order) nothing is reordered either; a sink without
 * order (Firehose) may take several batches at once, since one call's round trip, not the CPU,
 * is what limits it. An idle sender wakes when an item arrives and waits `lingerMs` for more
 * (as Kafka's linger.ms), so a quiet feed is not held back a polling interval. After a failure
 * it waits before trying again, twice as long after each further failure in a row (up to
 * `maxRetryDelayMs`): a sink that refuses for good (a grant missing) is not asked ten times a
 * second. It only gives up while draining, after `maxFailuresWhileDraining` failures in a row,
 * and then says how many items it could not send.
 */
/**
 * What a send throws when part of its batch went: only `unsent` is sent again. For a sink with
 * no order or idempotence to keep (Firehose), where sending the whole batch again would land
 * what went twice.
 */
export class PartlySentError<T> extends Error {
  override readonly name = "PartlySentError";
  constructor(
    cause: Error,
    readonly unsent: T[],
  ) {
    super(cause.message, { cause });
  }
}

export interface BufferedSenderOptions<T> {
  name: string;
  /**
   * Sends one batch; throws when nothing of it was sent, or {@link PartlySentError} naming
   * what was not.
   */
  send: (items: T[]) => Promise<void>;
  maxBatch: number;
  /**
   * A bound on a batch's size as `sizeOf` measures it, for a sink that refuses a request over a
   * size (a Kafka broker refuses a record batch over message.max.bytes, for good): a batch is cut
   * before the item that would take it over. An item over the bound alone goes alone.
   */
  maxBatchBytes?: number;
  sizeOf?: (item: T) => number;
  /** Batches sent at once (default 1: in order). */
  concurrency?: number;
  /** After the first item reaches an idle sender, how long to wait for more (default 5 ms). */
  lingerMs?: number;
  /** Pause after a first failed send before the next attempt (default 100 ms), doubled after
   * each further failure in a row... */
  retryDelayMs?: number;
  /** ...up to this (default 5 s). */
  maxRetryDelayMs?: number;
  maxFailuresWhileDraining?: number;
  onFailure?: (error: Error, queued: number, streak: FailureStreak) => void;
  /** Clock for {@link FailureStreak.since}; tests pass their own. */
  now?: () => number;
}

/** The failures in a row a failure belongs to: how many so far, and since when (epoch ms). */
export interface FailureStreak {
  failures: number;
  since: number;
}

/**
 * How long failures in a row may last and still be the retried, expected kind: a broker
 * restarting or a leader moving (seconds), a throttled Firehose. A sink failing longer refuses
 * for good (a grant or a key gone) and is an error to look at.
 */
export const EXPECTED_FAILURE_MS = 60_000;

export const isLastingFailure = (streak: FailureStreak, now: number): boolean =>
  now - streak.since >= EXPECTED_FAILURE_MS;

export class BufferedSender<T> {
  private queue: T[] = [];
  /** Batches whose send failed, in order: sent again first, each as it was. */
  private failed: T[][] = [];
  private draining = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;
  sent = 0;
  failures = 0;

  constructor(private readonly options: BufferedSenderOptions<T>) {
    this.done = this.run();
    // The loop's rejection is reported by drain(); keep it from being "unhandled" before that.
    this.done.catch(() => {});
  }

  get queued(): number {
    return this.queue.length + this.failed.reduce((sum, batch) => sum + batch.length, 0);
  }

  /** Items not sent yet: those queued and those of the sends under way. */
  get unsent(): number {
    return this.queued + this.sending;
  }

  /** Items of the sends under way. */
  private sending = 0;

  push(item: T): void {
    if (this.draining) throw new Error(`${this.options.name}: push after drain`);
    this.queue.push(item);
    this.wake?.();
  }

  /** Sends what is queued and stops; rejects if some of it could not be sent. */
  async drain(): Promise<void> {
    this.draining = true;
    this.wake?.();
    await this.done;
  }

  /** Resolves when there is something to send (after the linger) or the sender drains. */
  private async nextItems(): Promise<void> {
    if (this.queue.length === 0 && !this.draining)
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    this.wake = undefined;
    const lingerMs = this.options.lingerMs ?? 5;
    if (!this.draining && this.queue.length < this.options.maxBatch && lingerMs > 0)
      await new Promise((resolve) => setTimeout(resolve, lingerMs));
  }

  /** How many of the queue's first items make the next batch: maxBatch, or fewer by size. */
  private nextBatchLength(): number {
    const { maxBatch, maxBatchBytes, sizeOf } = this.options;
    if (maxBatchBytes === undefined || sizeOf === undefined) return maxBatch;
    let length = 0;
    let bytes = 0;
    while (length < maxBatch && length < this.queue.length) {
      bytes += sizeOf(this.queue[length] as T);
      if (length > 0 && bytes > maxBatchBytes) break;
      length += 1;
    }
    return length;
  }

  private async sendRound(): Promise<void> {
    const concurrency = this.options.concurrency ?? 1;
    const batches: T[][] = this.failed.splice(0, concurrency);
    while (batches.length < concurrency && this.queue.length > 0)
      batches.push(this.queue.splice(0, this.nextBatchLength()));
    this.sending = batches.reduce((sum, batch) => sum + batch.length, 0);
    const results = await Promise.allSettled(batches.map((batch) => this.options.send(batch)));
    this.sending = 0;
    const unsent: T[][] = [];
    let firstError: unknown;
    results.forEach((result, index) => {
      const batch = batches[index] as T[];
      if (result.status === "fulfilled") this.sent += batch.length;
      else if (result.reason instanceof PartlySentError) {
        const left = result.reason.unsent as T[];
        this.sent += batch.length - left.length;
        if (left.length > 0) unsent.push(left);
        firstError ??= result.reason.cause;
      } else {
        unsent.push(batch);
        firstError ??= result.reason;
      }
    });
    if (unsent.length > 0) {
      this.failed.unshift(...unsent);
      throw firstError;
    }
  }

  /** The wait after the `streak.failures`-th failure in a row. */
  private pause(streak: FailureStreak): number {
    const first = this.options.retryDelayMs ?? 100;
    const most = this.options.maxRetryDelayMs ?? 5_000;
    return Math.min(most, first * 2 ** Math.min(streak.failures - 1, 30));
  }

  private async run(): Promise<void> {
    const maxFailures = this.options.maxFailuresWhileDraining ?? 10;
    const now = this.options.now ?? Date.now;
    let failuresWhileDraining = 0;
    let streak: FailureStreak | undefined;
    for (;;) {
      const draining = this.draining;
      let failed = false;
      // A streak starts when its first failing send started: a send can take minutes to fail
      // (a silent connection, the SDK's and the sink writer's own retries).
      let roundStarted = now();
      let sentBeforeRound = this.sent;
      try {
        while (this.queued > 0) {
          roundStarted = now();
          sentBeforeRound = this.sent;
          await this.sendRound();
          streak = undefined;
          // In a row: a sink that fails now and then but goes on taking batches drains.
          failuresWhileDraining = 0;
        }
      } catch (error) {
        failed = true;
        this.failures += 1;
        streak = { failures: (streak?.failures ?? 0) + 1, since: streak?.since ?? roundStarted };
        this.options.onFailure?.(error as Error, this.queued, { ...streak });
        // A round that sent part of its items (one of several batches, part of a batch) is
        // progress too: the failures in a row start again.
        if (this.sent > sentBeforeRound) failuresWhileDraining = 0;
        if (draining && ++failuresWhileDraining >= maxFailures) {
          throw new Error(
            `${this.options.name}: ${this.queued} items could not be sent: ${(error as Error).message}`,
          );
        }
      }
      if (draining && this.queued === 0) return;
      if (failed && streak) {
        const delay = this.pause(streak);
        await new Promise((resolve) => setTimeout(resolve, delay));
      } else await this.nextItems();
    }
  }
}
