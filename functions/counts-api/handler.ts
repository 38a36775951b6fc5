/**
 * counts API Lambda (HTTP API, payload 2.0): `GET /counts?country=us&day=YYYY-MM-DD|all&limit=N`
 * returns the top cities with their counts and the time of the newest update. Bad parameters
 * get a 400 naming what is wrong.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { z } from "zod";
import { isTransientAwsError } from "../shared/aws-errors.js";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { latestCountedDay, queryTopCities, type TopCities } from "./top-cities.js";

const config = readConfig(
  z.object({
    TABLE_NAME: z.string().min(1),
    /** CORS origin of the local API; on AWS, API Gateway answers CORS for the website origin. */
    ALLOWED_ORIGIN: z.string().min(1).default("*"),
  }),
);

export const logger = createLogger("counts-api");
const dynamodb = new DynamoDBClient({});

export const countsQuerySchema = z.strictObject({
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
});

function isRealDay(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

export interface CountsApiDependencies {
  query: (query: { country: string; day: string; limit: number }) => Promise<TopCities>;
  /** The latest day not after `notAfter` with counts in `country`, or null. */
  latestDay: (country: string, notAfter: string) => Promise<string | null>;
  now?: () => number;
}

const defaultDependencies: CountsApiDependencies = {
  query: (query) => queryTopCities(dynamodb, config.TABLE_NAME, query),
  latestDay: (country, notAfter) =>
    latestCountedDay(dynamodb, config.TABLE_NAME, country, notAfter),
};

/** The bare handler, for tests. */
export async function getCounts(
  event: APIGatewayProxyEventV2,
  dependencies: CountsApiDependencies = defaultDependencies,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (event.requestContext.http.method !== "GET") {
    return json(405, { message: "only GET is allowed" }, { allow: "GET" });
  }
  const parsed = countsQuerySchema.safeParse(event.queryStringParameters ?? {});
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) =>
        issue.code === "unrecognized_keys"
          ? `unknown parameter(s): ${issue.keys.join(", ")}`
          : issue.message,
      )
      .join("; ");
    return json(400, { message });
  }
  const today = new Date((dependencies.now ?? Date.now)()).toISOString().slice(0, 10);
  try {
    // Without a day: the latest with counts (today while the feed is live; a recording's own
    // days otherwise), never one ahead of this clock. `today` in the answer tells them apart.
    const day =
      parsed.data.day ?? (await dependencies.latestDay(parsed.data.country, today)) ?? today;
    const result = await dependencies.query({ ...parsed.data, day });
    return json(200, { ...result, today }, { "cache-control": "max-age=2" });
  } catch (error) {
    // DynamoDB throttling or failing for a moment (its retries spent) is no bug of this API:
    // a 503 the page retries, not a 500. Anything else is, and stays a 500.
    if (!isTransientAwsError(error)) throw error;
    logger.warn("counts briefly unavailable", { error: error as Error });
    return json(
      503,
      { message: "the counts are briefly unavailable; try again in a few seconds" },
      { "retry-after": "2", "cache-control": "no-store" },
    );
  }
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "access-control-allow-origin": config.ALLOWED_ORIGIN,
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler((event: APIGatewayProxyEventV2) => getCounts(event));
