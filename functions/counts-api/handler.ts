/**
 * counts API Lambda (HTTP API, payload 2.0): `GET /counts?country=us&day=YYYY-MM-DD|all&limit=N`
 * returns the top cities with their counts and the time of the newest update (./counts-query.ts).
 * Bad parameters get a 400 naming what is wrong; DynamoDB failing for a moment, a 503.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { z } from "zod";
import { isTransientAwsError } from "../shared/aws-errors.js";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { type CountsSource, countsFor, countsQuerySchema } from "./counts-query.js";
import {
  cachedPartitions,
  latestCountedDay,
  PARTITION_CACHE_MS,
  readRankedPartition,
  topOf,
} from "./top-cities.js";

// The query's schema, for the tests of the sample event and of the template's constraints.
export { countsQuerySchema };

const config = readConfig(
  z.object({
    TABLE_NAME: z.string().min(1),
    /**
     * The origin this function itself allows (CORS), where nothing in front answers CORS; unset,
     * it sends no CORS header. On AWS it stays unset: API Gateway answers CORS for the website
     * origin when the template configures it, and passes the function's headers on when it does
     * not (SiteHosting cloudfront, where the page asks its own origin), so a "*" here would let
     * any site read the API there.
     */
    ALLOWED_ORIGIN: z.string().min(1).optional(),
  }),
);

export const logger = createLogger("counts-api");
const dynamodb = new DynamoDBClient({});

/** Where the counts come from; tests pass their own. */
export interface CountsApiDependencies extends CountsSource {
  now?: () => number;
}

const rankedPartition = cachedPartitions(
  (query) => readRankedPartition(dynamodb, config.TABLE_NAME, query),
  PARTITION_CACHE_MS,
);

const defaultDependencies: CountsApiDependencies = {
  query: async (query) => topOf(await rankedPartition(query), query.limit),
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
    return json(400, { message: parsed.error.issues.map((issue) => issue.message).join("; ") });
  }
  try {
    const answer = await countsFor(parsed.data, dependencies, (dependencies.now ?? Date.now)());
    return json(200, answer, { "cache-control": `max-age=${PARTITION_CACHE_MS / 1000}` });
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
      ...(config.ALLOWED_ORIGIN ? { "access-control-allow-origin": config.ALLOWED_ORIGIN } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler((event: APIGatewayProxyEventV2) => getCounts(event));
