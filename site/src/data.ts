/**
 * Everything the page fetches, as outcomes the page can say something about: the data, or "not
 * there yet" (a 404: no batch has run), or "unreachable" (no answer: network down, timeout,
 * CORS), or "error" (an answer that is an error: 400 with its message, 5xx), or "invalid" (an
 * answer that is not what the contract says). Nothing here touches the DOM.
 */
import type { TopCities } from "../../functions/counts-api/top-cities.js";
import type { RunDocument } from "../../functions/render-map/site-files.js";
import {
  type Checked,
  type ClustersFile,
  parseClusters,
  parseConfig,
  parseRun,
  parseTopCities,
  type SiteConfig,
} from "./validate.js";

export type Outcome<T> =
  | { kind: "ok"; value: T }
  | { kind: "missing"; status: number }
  | { kind: "unreachable"; reason: string }
  | { kind: "error"; status: number; message: string }
  | { kind: "invalid"; message: string };

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface FetchOptions {
  fetch?: Fetch;
  /** Abort after this long, ms: a hanging API counts as unreachable. */
  timeoutMs?: number;
  /**
   * Statuses meaning "not there": 404, and 403 for a file of the site bucket (S3 answers 403
   * for a missing key when the reader may not list the bucket).
   */
  missing?: readonly number[];
  /** Aborts the request from outside (a newer poll replaces it). */
  signal?: AbortSignal;
  cache?: RequestCache;
}

export const DEFAULT_TIMEOUT_MS = 8000;

/** GET a JSON document, never throwing: every way it can go is an {@link Outcome}. */
export async function fetchJson(
  url: string,
  options: FetchOptions = {},
): Promise<Outcome<unknown>> {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onOuterAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    let response: Response;
    try {
      response = await doFetch(url, {
        signal: controller.signal,
        headers: { accept: "application/json" },
        cache: options.cache ?? "no-cache",
        credentials: "omit",
      });
    } catch (error) {
      if (timedOut)
        return { kind: "unreachable", reason: `no answer within ${timeoutMs / 1000} s` };
      if (options.signal?.aborted) return { kind: "unreachable", reason: "cancelled" };
      return { kind: "unreachable", reason: describeError(error) };
    }
    if ((options.missing ?? [404]).includes(response.status)) {
      return { kind: "missing", status: response.status };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (timedOut)
        return { kind: "unreachable", reason: `no answer within ${timeoutMs / 1000} s` };
      return { kind: "unreachable", reason: describeError(error) };
    }
    if (!response.ok) {
      return { kind: "error", status: response.status, message: errorMessage(response, text) };
    }
    try {
      return { kind: "ok", value: JSON.parse(text) as unknown };
    } catch {
      return { kind: "invalid", message: "the answer is not JSON" };
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Browsers say "Failed to fetch" / "NetworkError when attempting to fetch resource."
  return message ? `network error (${message})` : "network error";
}

/** The API's `{message}` where it sent one, else the status line. */
function errorMessage(response: Response, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body?.message === "string" && body.message) return body.message;
  } catch {
    // Not JSON: fall through.
  }
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
}

/** An ok outcome checked against the contract; other outcomes pass through. */
export function checkOutcome<T>(
  outcome: Outcome<unknown>,
  check: (value: unknown) => Checked<T>,
): Outcome<T> {
  if (outcome.kind !== "ok") return outcome;
  const result = check(outcome.value);
  return result.ok
    ? { kind: "ok", value: result.value }
    : { kind: "invalid", message: result.error };
}

const SITE_MISSING = [403, 404] as const;

export function loadConfig(options: FetchOptions = {}): Promise<Outcome<SiteConfig>> {
  return fetchJson("config.json", { missing: SITE_MISSING, ...options }).then((o) =>
    checkOutcome(o, parseConfig),
  );
}

export function loadClusters(options: FetchOptions = {}): Promise<Outcome<ClustersFile>> {
  return fetchJson("clusters.json", { missing: SITE_MISSING, timeoutMs: 20_000, ...options }).then(
    (o) => checkOutcome(o, parseClusters),
  );
}

export function loadRun(options: FetchOptions = {}): Promise<Outcome<RunDocument>> {
  return fetchJson("run.json", { missing: SITE_MISSING, ...options }).then((o) =>
    checkOutcome(o, parseRun),
  );
}

export interface CountsQuery {
  /** Two-letter ISO code, any case. */
  country: string;
  /** `today` (the API's UTC day) or `all`. */
  day: "today" | "all";
  limit: number;
}

/** `{base}/counts?country=..&day=..&limit=..`; `base` absolute or relative to the page. */
export function countsUrl(base: string, query: CountsQuery): string {
  const params = new URLSearchParams({ country: query.country.toLowerCase() });
  // Today is the API's UTC day: the browser's clock and time zone do not decide it.
  if (query.day === "all") params.set("day", "all");
  params.set("limit", String(query.limit));
  return `${base.replace(/\/+$/, "")}/counts?${params}`;
}

export function loadCounts(
  base: string,
  query: CountsQuery,
  options: FetchOptions = {},
): Promise<Outcome<TopCities>> {
  // The API's 404 is a wrong URL, not missing data: it is an error here.
  return fetchJson(countsUrl(base, query), { missing: [], ...options }).then((o) =>
    checkOutcome(o, parseTopCities),
  );
}
