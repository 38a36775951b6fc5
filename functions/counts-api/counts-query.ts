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

/**
 * The counts `query` asks for. Without a day: the latest with counts (today while the feed is
 * live; a recording's own days otherwise), never one ahead of `nowMs`. `today` in the answer
 * tells them apart.
 */
export async function countsFor(
  query: CountsQuery,
  source: CountsSource,
  nowMs: number,
): Promise<CountsAnswer> {
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const day = query.day ?? (await source.latestDay(query.country, today)) ?? today;
  return { ...(await source.query({ ...query, day })), today };
}
