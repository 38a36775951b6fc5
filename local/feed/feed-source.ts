/**
 * Which feed a local command plays, and at what pace: a recording (JSONL) at its own timing sped
 * up, or the synthetic feed at a rate; either at a fixed rate, or as fast as the client reads.
 * `npm start` and `npm run replay` take the same choices.
 */
import { open } from "node:fs/promises";
import type { OversizedLine } from "../../tasks/replay-feed/bounded-lines.js";
import type { LineSource, Pacing } from "../../tasks/replay-feed/replay-server.js";
import { jsonlLines } from "./jsonl.js";
import { syntheticLines } from "./synthetic/generator.js";

export interface FeedChoice {
  /** A recording to replay; without one, the synthetic feed. */
  input?: string | undefined;
  /** The synthetic feed's seed. */
  seed: string;
  /** Messages per second; default 25 for the synthetic feed, the recording's own timing else. */
  rate?: number | undefined;
  /** The recording's timing sped up this much (default 60). */
  speedup?: number | undefined;
  /** The synthetic feed's share of malformed messages (the generator's default if unset). */
  malformedShare?: number | undefined;
  /** As fast as the client reads. */
  asap?: boolean | undefined;
}

export const SYNTHETIC_RATE = 25;

/**
 * The lines to play; a synthetic feed starts at the current time. A recording's line too long
 * to play goes to `onOversized` instead (bounded-lines.ts).
 */
export function feedSource(
  choice: FeedChoice,
  onOversized: (line: OversizedLine) => void,
): LineSource {
  const { input, rate } = choice;
  if (input) return () => jsonlLines(input, { onOversized });
  return () =>
    syntheticLines({
      seed: choice.seed,
      startTime: Date.now(),
      meanIntervalMs: 1000 / (rate ?? SYNTHETIC_RATE),
      malformedShare: choice.malformedShare,
    });
}

export function feedPacing(choice: FeedChoice): Pacing {
  if (choice.asap) return { kind: "asap" };
  if (choice.rate !== undefined || !choice.input)
    return { kind: "rate", perSecond: choice.rate ?? SYNTHETIC_RATE };
  return { kind: "recorded", speedup: choice.speedup ?? 60 };
}

/** "25 messages/s", "as fast as the ingest reads", "recorded timing x 60". */
export function describePacing(pacing: Pacing): string {
  switch (pacing.kind) {
    case "rate":
      return `${pacing.perSecond} messages/s`;
    case "asap":
      return "as fast as the ingest reads";
    case "recorded":
      return `recorded timing x ${pacing.speedup}`;
  }
}

/**
 * What is wrong with a feed choice, in one sentence, or null: checked before anything starts.
 * Found later, by the replay server, a missing file or a rate of 0 only ended each connection,
 * and the ingest reconnected to it for ever while the terminal said nothing.
 */
export async function feedChoiceProblem(choice: FeedChoice): Promise<string | null> {
  if (choice.rate !== undefined && !(choice.rate > 0 && Number.isFinite(choice.rate)))
    return `--rate must be above 0 messages/s, not ${choice.rate}`;
  if (choice.speedup !== undefined && !(choice.speedup > 0 && Number.isFinite(choice.speedup)))
    return `--speedup must be above 0, not ${choice.speedup}`;
  if (!choice.input) return null;
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(choice.input, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? `--input ${choice.input}: no such file`
      : `--input ${choice.input}: cannot be read (${code ?? (error as Error).message})`;
  }
  try {
    if (!(await file.stat()).isFile()) return `--input ${choice.input}: not a file`;
    // Only blank lines (or none) would replay nothing, and --once would "count" nothing.
    const chunk = Buffer.alloc(64 * 1024);
    for (let position = 0; ; ) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0)
        return `--input ${choice.input}: no lines to replay (it is empty or blank)`;
      if (/[^\s]/.test(chunk.toString("utf8", 0, bytesRead))) return null;
      position += bytesRead;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `--input ${choice.input}: cannot be read (${code ?? (error as Error).message})`;
  } finally {
    await file.close();
  }
}
