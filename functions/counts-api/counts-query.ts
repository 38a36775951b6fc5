/**
 * What the counts API answers: the query its parameters may ask (`country`, `day`, `limit`),
 * and the counts for one, with a missing day read as the latest day that has counts.
 */
import { z } from "zod";
import type { TopCities } from "./top-cities.js";

/** The query string's parameters; each message names the parameter, for a 400 answer. */
export const countsQuerySchema = z.strictObject(
  {
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, "country must be a two-letter ISO code such as us")
      .transform((country) => country.toLowerCase())
      .default("us"),
    day: z
      .string()
      .regex(/^(all|\d{4}-\d{2}-\d{2})$/, "day must be YYYY-MM-DD or all")
      .refine((day) => day === "all" || isRealDay(day), "day is not a calendar date")
      .optional(),
    limit: z.coerce
      .number({ message: "limit must be a number" })
      .int("limit must be a whole number")
      .min(1, "limit must be at least 1")
      .max(100, "limit must be at most 100")
      .default(10),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown parameter(s): ${issue.keys.join(", ")}`
        : undefined,
  },
);

export type CountsQuery = z.infer<typeof countsQuerySchema>;

function isRealDay(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

export interface CountsSource {
  query: (query: { country: string; day: string; limit: number }) => Promise<TopCities>;
  /** The latest day not after `notAfter` with counts in `country`, or null. */
  latestDay: (country: string, notAfter: string) => Promise<string | null>;
}

/** The answer to a query: the top cities, and the API's UTC day. */
export type CountsAnswer = TopCities & { today: string };

/** Marked days looked at, newest first, for one with cities left (see {@link countsFor}). */
export const MARKED_DAYS_TRIED = 3;

/**
 * The counts `query` asks for. Without a day: the latest with counts (today while the feed is
 * live; a recording's own days otherwise), never one ahead of `nowMs`. `today` in the answer
 * tells them apart. A day stays marked once it had counts, but its RSVPs can all move to an
 * earlier day (an earlier version arriving late): then the marked day before it answers, up
 * to {@link MARKED_DAYS_TRIED} marked days.
 */
export async function countsFor(
  query: CountsQuery,
  source: CountsSource,
  nowMs: number,
): Promise<CountsAnswer> {
  const today = new Date(nowMs).toISOString().slice(0, 10);
  if (query.day !== undefined)
    return { ...(await source.query({ ...query, day: query.day })), today };
  let notAfter = today;
  let first: TopCities | undefined;
  for (let tried = 0; tried < MARKED_DAYS_TRIED; tried++) {
    const day = await source.latestDay(query.country, notAfter);
    if (day === null) break;
    const answer = await source.query({ ...query, day });
    if (answer.totalCities > 0) return { ...answer, today };
    first ??= answer;
    notAfter = dayBefore(day);
  }
  return { ...(first ?? (await source.query({ ...query, day: today }))), today };
}

function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}
