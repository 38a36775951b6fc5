/**
 * A queue in front of a sink (Kafka, Firehose) that sends in bounded batches, one send at a
 * time, and puts a failed batch back in front: nothing is lost or reordered by a failure. It
 * only gives up while draining, after `maxFailuresWhileDraining` failures in a row, and then
 * says how many items it could not send.
 */
export interface BufferedSenderOptions<T> {
  name: string;
  /** Sends one batch; throws when nothing of it was sent. */
  send: (items: T[]) => Promise<void>;
  maxBatch: number;
  intervalMs?: number;
  maxFailuresWhileDraining?: number;
  onFailure?: (error: Error, queued: number) => void;
}

export class BufferedSender<T> {
  private queue: T[] = [];
  private draining = false;
  private readonly done: Promise<void>;
  sent = 0;
  failures = 0;

  constructor(private readonly options: BufferedSenderOptions<T>) {
    this.done = this.run();
    // The loop's rejection is reported by drain(); keep it from being "unhandled" before that.
    this.done.catch(() => {});
  }

  get queued(): number {
    return this.queue.length;
  }

  push(item: T): void {
    if (this.draining) throw new Error(`${this.options.name}: push after drain`);
    this.queue.push(item);
  }

  /** Sends what is queued and stops; rejects if some of it could not be sent. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.done;
  }

  private async run(): Promise<void> {
    const intervalMs = this.options.intervalMs ?? 100;
    const maxFailures = this.options.maxFailuresWhileDraining ?? 10;
    let failuresWhileDraining = 0;
    for (;;) {
      const draining = this.draining;
      try {
        while (this.queue.length > 0) {
          const batch = this.queue.splice(0, this.options.maxBatch);
          try {
            await this.options.send(batch);
          } catch (error) {
            this.queue.unshift(...batch);
            throw error;
          }
          this.sent += batch.length;
        }
        failuresWhileDraining = 0;
      } catch (error) {
        this.failures += 1;
        this.options.onFailure?.(error as Error, this.queue.length);
        if (draining && ++failuresWhileDraining >= maxFailures) {
          throw new Error(
            `${this.options.name}: ${this.queue.length} items could not be sent: ${(error as Error).message}`,
          );
        }
      }
      if (draining && this.queue.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
