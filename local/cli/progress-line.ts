/**
 * Live progress for long local runs: on a terminal one line rewritten every second, otherwise
 * (CI, a pipe) a plain line every few seconds. Rates are per second over the last interval.
 */
export interface ProgressSnapshot<Key extends string> {
  counters: Record<Key, number>;
  text: (rates: Record<Key, string>) => string;
}

export class ProgressLine<Key extends string> {
  private timer: NodeJS.Timeout | undefined;
  private previous: { at: number; counters: Record<Key, number> } | undefined;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly snapshot: () => ProgressSnapshot<Key>,
    private readonly intervalMs = process.stderr.isTTY ? 1000 : 5000,
  ) {}

  start(): void {
    this.previous = { at: performance.now(), counters: this.snapshot().counters };
    this.timer = setInterval(() => this.print(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.print();
    if (this.tty) process.stderr.write("\n");
  }

  /** Stops the line while something else tells its own progress (the daily batch). */
  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) process.stderr.write("\n");
  }

  resume(): void {
    if (this.timer === undefined) this.start();
  }

  private print(): void {
    const { counters, text } = this.snapshot();
    const now = performance.now();
    const previous = this.previous ?? { at: now, counters };
    const seconds = Math.max((now - previous.at) / 1000, 1e-9);
    const rates = Object.fromEntries(
      Object.entries(counters).map(([key, value]) => [
        key,
        ((Number(value) - Number(previous.counters[key as Key] ?? 0)) / seconds).toFixed(1),
      ]),
    ) as Record<Key, string>;
    this.previous = { at: now, counters };
    const line = text(rates);
    if (this.tty)
      process.stderr.write(`\r\x1b[2K${fitTo(line, (process.stderr.columns ?? 160) - 1)}`);
    else process.stderr.write(`[progress] ${line}\n`);
  }
}

/** `line` within `width` columns: cut at a word, with an ellipsis, never inside a number. */
export function fitTo(line: string, width: number): string {
  if (line.length <= width) return line;
  const room = line.slice(0, Math.max(0, width - 1));
  const cut = room.lastIndexOf(" ");
  return `${(cut > 0 ? room.slice(0, cut) : room).replace(/[,;:]$/, "")}…`;
}
