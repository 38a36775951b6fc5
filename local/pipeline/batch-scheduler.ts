/**
 * When `npm start` runs the daily batch: one batch at a time, a first one some time into the
 * run (or as soon as a recording is replayed), then again every so often, measured from the end
 * of the previous one; stop() ends the schedule and waits for a batch in progress.
 *
 * The job reports its own failures and resolves with them: a failed batch is a result, and the
 * schedule goes on after it.
 */
export interface BatchSchedulerOptions<Result> {
  /** Runs one batch; `why` says what started it ("scheduled", "the recording is replayed"). */
  job: (why: string) => Promise<Result>;
  /** Gap between the end of a scheduled batch and the start of the next; 0: no repeat. */
  everyMs: number;
}

export class BatchScheduler<Result> {
  private current: Promise<Result> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** What the latest finished batch returned. */
  last: Result | undefined;

  constructor(private readonly options: BatchSchedulerOptions<Result>) {}

  /** Whether a batch is in progress. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /** Runs a batch now, or, when one is in progress, answers with that one. */
  run(why: string): Promise<Result> {
    if (this.current) return this.current;
    const batch = this.options
      .job(why)
      .then((result) => {
        this.last = result;
        return result;
      })
      .finally(() => {
        this.current = undefined;
      });
    this.current = batch;
    return batch;
  }

  /**
   * A batch `firstInMs` from now (instead of one already scheduled), then one `everyMs` after
   * each ends. Nothing after stop().
   */
  schedule(firstInMs: number, why = "scheduled"): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run(why).then(() => {
        if (this.options.everyMs > 0) this.schedule(this.options.everyMs);
      });
    }, firstInMs);
  }

  /** No more batches; resolves when the one in progress, if any, has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A job that rejected has told run()'s callers; here it has ended all the same.
    await this.current?.catch(() => undefined);
  }
}
