/**
 * The replay-feed task's configuration, apart from main.ts so it can be tested without starting
 * a server. Pacing is one string (`PACING`) rather than a variable per mode, so a task
 * definition cannot hold two contradicting ones.
 */
import { z } from "zod";
import { readConfig } from "../../functions/shared/config.js";
import type { Pacing } from "./replay-server.js";

const PACING_FORMS = '"recorded:<speed-up>", "rate:<messages per second>" or "asap"';

/**
 * `recorded:<speed-up>` (the recording's own gaps, that many times faster), `rate:<n>` (n
 * messages/s) or `asap` (as fast as the client reads). Throws a RangeError naming the value.
 */
export function parsePacing(value: string): Pacing {
  if (value === "asap") return { kind: "asap" };
  const match = /^(recorded|rate):(.*)$/.exec(value);
  if (!match) throw new RangeError(`expected ${PACING_FORMS}, got "${value}"`);
  const [, kind, number] = match;
  const parsed = number?.trim() ? Number(number) : Number.NaN;
  if (!(Number.isFinite(parsed) && parsed > 0))
    throw new RangeError(
      `the ${kind === "rate" ? "rate" : "speed-up"} must be a number above 0, got "${value}"`,
    );
  return kind === "rate"
    ? { kind: "rate", perSecond: parsed }
    : { kind: "recorded", speedup: parsed };
}

export const replayFeedConfigSchema = z
  .object({
    /** The recording: JSONL, gzipped when the key ends in `.gz`. */
    SOURCE_URI: z.string().regex(/^s3:\/\/[^/]+\/.+$/, "expected s3://bucket/key"),
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    HOST: z.string().min(1).default("0.0.0.0"),
    PACING: z
      .string()
      .default("recorded:60")
      .transform((value, context): Pacing => {
        try {
          return parsePacing(value);
        } catch (error) {
          context.addIssue({ code: "custom", message: (error as Error).message });
          return z.NEVER;
        }
      }),
    /** "false" closes each connection (code 1000) at the end of the recording. */
    LOOP: z.enum(["true", "false"]).default("true"),
    /**
     * "true": every pass is new traffic (ids moved into a range of the pass, mtimes the time
     * of sending; live-passes.ts), so looping never re-counts the recording. "false": verbatim.
     */
    LIVE: z.enum(["true", "false"]).default("false"),
    /** Caps a gap of the recording, in wall-clock ms (5000 when unset); recorded pacing only. */
    MAX_GAP_MS: z.coerce.number().positive().optional(),
    /**
     * How many of the frames sent the feed keeps for a client that reconnects with
     * `since_mtime` (a restarted ingest task asking for what it lost); 0 keeps none. Unset:
     * replay-server.ts's default (100,000, ~100 MB).
     */
    REPLAY_BUFFER_FRAMES: z.coerce.number().int().min(0).optional(),
    /** How often connections and frames sent are logged. */
    STATS_INTERVAL_SECONDS: z.coerce.number().positive().default(60),
  })
  .transform(({ PACING, MAX_GAP_MS, LOOP, LIVE, ...rest }) => ({
    ...rest,
    PACING:
      PACING.kind === "recorded" && MAX_GAP_MS !== undefined
        ? { ...PACING, maxGapMs: MAX_GAP_MS }
        : PACING,
    LOOP: LOOP === "true",
    LIVE: LIVE === "true",
  }));

export type ReplayFeedConfig = z.infer<typeof replayFeedConfigSchema>;

/** Throws a ConfigError naming every missing or malformed variable. */
export function readReplayFeedConfig(env: NodeJS.ProcessEnv = process.env): ReplayFeedConfig {
  return readConfig(replayFeedConfigSchema, env);
}
