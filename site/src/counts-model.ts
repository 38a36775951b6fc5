/**
 * The live counts table's logic, without a DOM: ranking and sorting rows, the recent rate of
 * RSVPs per minute from successive polls, and the "updated 5 s ago" wording.
 */
import type { CityCount } from "../../functions/counts-api/top-cities.js";

export interface CountRow extends CityCount {
  /** 1-based rank by RSVPs, as the API ordered them. */
  rank: number;
}

export type SortKey = "rank" | "city" | "state" | "country" | "rsvps" | "yes" | "no";
export type SortDirection = "ascending" | "descending";
export interface SortState {
  key: SortKey;
  direction: SortDirection;
}

export const COLUMNS: readonly { key: SortKey; label: string; numeric: boolean }[] = [
  { key: "rank", label: "#", numeric: true },
  { key: "city", label: "City", numeric: false },
  { key: "state", label: "State", numeric: false },
  { key: "country", label: "Country", numeric: false },
  { key: "rsvps", label: "RSVPs", numeric: true },
  { key: "yes", label: "Yes", numeric: true },
  { key: "no", label: "No", numeric: true },
];

export const DEFAULT_SORT: SortState = { key: "rank", direction: "ascending" };

/** The API's cities (most RSVPs first) with their ranks. */
export function rankRows(cities: readonly CityCount[]): CountRow[] {
  return cities.map((city, i) => ({ ...city, rank: i + 1 }));
}

const collator = new Intl.Collator("en", { sensitivity: "base", numeric: true });

/** Rows sorted by `sort`; ties keep rank order; empty states sort last either way. */
export function sortRows(rows: readonly CountRow[], sort: SortState): CountRow[] {
  const sign = sort.direction === "ascending" ? 1 : -1;
  return [...rows].sort((a, b) => {
    let order = 0;
    switch (sort.key) {
      case "city":
      case "country":
        order = sign * collator.compare(a[sort.key], b[sort.key]);
        break;
      case "state": {
        const sa = a.state ?? "";
        const sb = b.state ?? "";
        if (!sa !== !sb) return sa ? -1 : 1;
        order = sign * collator.compare(sa, sb);
        break;
      }
      default:
        order = sign * (a[sort.key] - b[sort.key]);
    }
    return order || a.rank - b.rank;
  });
}

/**
 * The sort after activating a column's header: the same column flips; another column starts
 * with its natural order (biggest counts first, names A to Z, rank 1 first).
 */
export function nextSort(current: SortState, key: SortKey): SortState {
  if (current.key === key) {
    return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  }
  const numericCount = key === "rsvps" || key === "yes" || key === "no";
  return { key, direction: numericCount ? "descending" : "ascending" };
}

/** One poll's counts, for the rate: when it arrived and each city's RSVPs. */
export interface CountsSample {
  /** Epoch ms when the answer arrived (the browser's clock: only differences matter). */
  at: number;
  counts: ReadonlyMap<string, number>;
}

export function sampleOf(at: number, cities: readonly CityCount[]): CountsSample {
  return { at, counts: new Map(cities.map((city) => [city.key, city.rsvps])) };
}

/** How far back the rate looks, ms. */
export const RATE_WINDOW_MS = 120_000;
/** The rate is shown once the polls span at least this long, ms. */
export const RATE_MIN_SPAN_MS = 10_000;

/**
 * Keeps the samples of the last {@link RATE_WINDOW_MS} (plus the one just before, so the
 * window stays full) and adds `sample`.
 */
export function addSample(samples: readonly CountsSample[], sample: CountsSample): CountsSample[] {
  const all = [...samples, sample];
  let start = 0;
  while (
    start + 1 < all.length &&
    (all[start + 1] as CountsSample).at <= sample.at - RATE_WINDOW_MS
  ) {
    start++;
  }
  return all.slice(start);
}

/**
 * RSVPs per minute over the samples: the growth of every city present in the first and the
 * last sample, over the time between them. Cities that entered or left the list in between are
 * left out (their growth is unknown), and so is a city whose count fell (a new UTC day resets
 * today's counters). Null until the samples span {@link RATE_MIN_SPAN_MS}.
 */
export function ratePerMinute(samples: readonly CountsSample[]): number | null {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at - first.at < RATE_MIN_SPAN_MS) return null;
  let growth = 0;
  for (const [key, now] of last.counts) {
    const before = first.counts.get(key);
    if (before !== undefined && now >= before) growth += now - before;
  }
  return (growth * 60_000) / (last.at - first.at);
}

/** "≈ 42 RSVPs/min", "≈ 0.4 RSVPs/min", "measuring…". */
export function formatRate(rate: number | null): string {
  if (rate === null) return "rate: measuring…";
  if (rate < 0.05) return "≈ 0 RSVPs/min";
  const shown = rate >= 10 ? Math.round(rate).toLocaleString("en-US") : rate.toFixed(1);
  return `≈ ${shown} RSVPs/min`;
}

/** "just now", "5 s ago", "3 min ago", "2 h ago", "on 2018-05-20 14:03 UTC". */
export function formatAgo(thenMs: number, nowMs: number): string {
  const seconds = Math.round((nowMs - thenMs) / 1000);
  if (seconds < 3) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `on ${formatUtc(thenMs)}`;
}

/** "2018-05-20 14:03 UTC" */
export function formatUtc(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const integerFormat = new Intl.NumberFormat("en-US");

export function formatCount(value: number): string {
  return integerFormat.format(value);
}

/** A two-letter country code as typed: `us`, or null when it is not one. */
export function normaliseCountry(input: string): string | null {
  const code = input.trim().toLowerCase();
  return /^[a-z]{2}$/.test(code) ? code : null;
}

/** Countries in the select, by the feed's volume; any other code can be typed. */
export const COMMON_COUNTRIES: readonly string[] = [
  "us",
  "gb",
  "ca",
  "de",
  "fr",
  "es",
  "nl",
  "in",
  "au",
  "jp",
  "br",
  "it",
  "ie",
  "se",
  "sg",
];

/** "United States" for `us` where the browser knows it, else the code in capitals. */
export function countryName(code: string): string {
  try {
    regionNames ??= new Intl.DisplayNames(["en"], { type: "region" });
    return regionNames.of(code.toUpperCase()) ?? code.toUpperCase();
  } catch {
    return code.toUpperCase();
  }
}

let regionNames: Intl.DisplayNames | undefined;

/**
 * Keys of the rows whose RSVPs grew since the previous poll of the same query, for a brief
 * highlight.
 */
export function grownKeys(previous: CountsSample | undefined, next: CountsSample): Set<string> {
  const grown = new Set<string>();
  if (!previous) return grown;
  for (const [key, now] of next.counts) {
    const before = previous.counts.get(key);
    if (before !== undefined && now > before) grown.add(key);
  }
  return grown;
}

/** How many rows the table can show. */
export const ROW_CHOICES = [10, 25, 50, 100] as const;

/** What the reader chose: kept in the page's fragment, so a link or a reload keeps it. */
export interface Settings {
  /** Two-letter code, lowercase. */
  country: string;
  day: "today" | "all";
  rows: number;
}

/** Settings from the page's fragment (`#country=gb&day=all&rows=25`), US and today by default. */
export function readSettings(hash: string): Settings {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const rows = Number(params.get("rows"));
  return {
    country: normaliseCountry(params.get("country") ?? "") ?? "us",
    day: params.get("day") === "all" ? "all" : "today",
    rows: (ROW_CHOICES as readonly number[]).includes(rows) ? rows : 10,
  };
}

/** The fragment for `settings`, defaults left out: "" for US, today, top 10. */
export function settingsHash(settings: Settings): string {
  const params = new URLSearchParams();
  if (settings.country !== "us") params.set("country", settings.country);
  if (settings.day !== "today") params.set("day", settings.day);
  if (settings.rows !== 10) params.set("rows", String(settings.rows));
  return params.toString();
}
