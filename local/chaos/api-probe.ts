/**
 * Fault 6 of the suite: the counts API asked for garbage while everything else fails: bad
 * countries, days and limits, unknown parameters, 10 KB query strings, and bursts of requests at
 * once. Every answer must be a clear 4xx (or a 200 for the valid controls mixed in; a 503 with
 * Retry-After while DynamoDB itself fails), never a 500 and never a hang.
 */
import type { Random } from "../feed/synthetic/random.js";

export interface ApiProbeResult {
  requests: number;
  ok: number;
  clientErrors: number;
  /** 500s and other 5xx: a bug of the API. */
  serverErrors: number;
  /** 503 with Retry-After: DynamoDB failing for a moment, said as such (allowed). */
  unavailable: number;
  /**
   * No answer within 30 s, the most an API Gateway integration may take: past it a caller on AWS
   * gets a 504, so a local answer that slow is a hang.
   */
  hangs: number;
  /** The slowest answer, ms (a burst queues on the local emulator, which serves one at a time). */
  slowestMs: number;
  /** A 4xx without a JSON body that says what was wrong. */
  unclear: number;
}

const GARBAGE = [
  "country=usa",
  "country=u1",
  "country=%00%00",
  "country=<script>",
  "day=2026-13-45",
  "day=yesterday",
  "day=2026-02-30",
  "day=",
  "limit=0",
  "limit=-5",
  "limit=101",
  "limit=1e309",
  "limit=abc",
  "city=Springfield",
  "country=us&country=gb",
  `country=us&pad=${"x".repeat(10 * 1024)}`,
  `day=${"9".repeat(10 * 1024)}`,
  "%E0%A4%A",
];
const VALID = ["country=us&day=all&limit=10", "country=gb&limit=5", "limit=100"];

export async function probeCountsApi(
  baseUrl: string,
  durationMs: number,
  random: Random,
): Promise<ApiProbeResult> {
  const result: ApiProbeResult = {
    requests: 0,
    ok: 0,
    clientErrors: 0,
    serverErrors: 0,
    unavailable: 0,
    hangs: 0,
    slowestMs: 0,
    unclear: 0,
  };
  const ask = async (query: string) => {
    result.requests += 1;
    try {
      const started = Date.now();
      const response = await fetch(`${baseUrl}/api/counts?${query}`, {
        signal: AbortSignal.timeout(30_000),
      });
      const body = await response.text();
      result.slowestMs = Math.max(result.slowestMs, Date.now() - started);
      if (response.status === 503 && response.headers.get("retry-after")) result.unavailable += 1;
      else if (response.status >= 500) result.serverErrors += 1;
      else if (response.status >= 400) {
        result.clientErrors += 1;
        const message = (() => {
          try {
            return (JSON.parse(body) as { message?: unknown }).message;
          } catch {
            return undefined;
          }
        })();
        if (typeof message !== "string" || message === "") result.unclear += 1;
      } else result.ok += 1;
    } catch (error) {
      if ((error as Error).name === "TimeoutError") result.hangs += 1;
      else result.serverErrors += 1;
    }
  };
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    // A burst of 40 at once, garbage and valid mixed, then a pause.
    const burst = Array.from({ length: 40 }, () => {
      const pool = random.next() < 0.85 ? GARBAGE : VALID;
      return pool[Math.floor(random.next() * pool.length)] ?? "";
    });
    await Promise.all(burst.map(ask));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return result;
}
