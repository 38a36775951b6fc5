import { readFileSync } from "node:fs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { TopCities } from "../../functions/counts-api/top-cities.js";

const fixture = JSON.parse(
  readFileSync(new URL("../../events/http-get-counts.json", import.meta.url), "utf8"),
) as APIGatewayProxyEventV2;
let getCounts: typeof import("../../functions/counts-api/handler.js").getCounts;

beforeAll(async () => {
  process.env.TABLE_NAME = "counts";
  process.env.ALLOWED_ORIGIN = "http://site.example";
  ({ getCounts } = await import("../../functions/counts-api/handler.js"));
});

function withQuery(query: Record<string, string> | undefined): APIGatewayProxyEventV2 {
  return { ...fixture, queryStringParameters: query };
}

/** A query that records its calls; `latest` is the latest day with counts it knows of. */
function recordingQuery(latest: string | null = null) {
  const calls: { country: string; day: string; limit: number }[] = [];
  const latestCalls: [string, string][] = [];
  const query = async (q: { country: string; day: string; limit: number }): Promise<TopCities> => {
    calls.push(q);
    return { country: q.country, day: q.day, cities: [], totalCities: 0, updatedAt: null };
  };
  const latestDay = async (country: string, notAfter: string) => {
    latestCalls.push([country, notAfter]);
    return latest;
  };
  return { calls, latestCalls, query, latestDay };
}

describe("counts API: CORS", () => {
  it("sends no CORS header unless ALLOWED_ORIGIN names an origin (as deployed: API Gateway answers CORS where configured, and passes a function's header on where not)", async () => {
    const before = process.env.ALLOWED_ORIGIN;
    delete process.env.ALLOWED_ORIGIN;
    vi.resetModules();
    try {
      const deployed = await import("../../functions/counts-api/handler.js");
      const { query, latestDay } = recordingQuery();
      const response = await deployed.getCounts(fixture, { query, latestDay });
      expect(response.statusCode).toBe(200);
      expect(
        Object.keys(response.headers ?? {}).filter((name) => /^access-control-/i.test(name)),
      ).toEqual([]);
    } finally {
      process.env.ALLOWED_ORIGIN = before;
      vi.resetModules();
    }
  });
});

describe("counts API: GET /counts (events/http-get-counts.json)", () => {
  it("passes the parameters of the sample event to the query and answers JSON with CORS", async () => {
    const { calls, query, latestDay } = recordingQuery();
    const response = await getCounts(fixture, {
      query,
      latestDay,
      now: () => Date.UTC(2026, 11, 4),
    });
    expect(calls).toEqual([{ country: "us", day: "2018-05-20", limit: 5 }]);
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      "content-type": "application/json; charset=utf-8",
      "access-control-allow-origin": "http://site.example",
    });
    expect(JSON.parse(response.body ?? "")).toEqual({
      country: "us",
      day: "2018-05-20",
      cities: [],
      totalCities: 0,
      updatedAt: null,
      today: "2026-12-04",
    });
  });

  it("defaults to US, today (UTC) and 10 cities; reads the country case-blind", async () => {
    const { calls, query, latestDay } = recordingQuery("2026-11-27");
    await getCounts(withQuery(undefined), {
      query,
      latestDay,
      now: () => Date.UTC(2026, 10, 27, 23, 59),
    });
    await getCounts(withQuery({ country: "CA", day: "all" }), { query, latestDay });
    expect(calls).toEqual([
      { country: "us", day: "2026-11-27", limit: 10 },
      { country: "ca", day: "all", limit: 10 },
    ]);
  });

  it("without a day, answers the latest day with counts and says which day today is", async () => {
    // A recording from 2018 replayed today: its counts are on its own days.
    const { calls, latestCalls, query, latestDay } = recordingQuery("2018-05-20");
    const response = await getCounts(withQuery({ country: "us" }), {
      query,
      latestDay,
      now: () => Date.UTC(2026, 11, 4, 12),
    });
    expect(latestCalls).toEqual([["us", "2026-12-04"]]); // never a day ahead of the API's clock
    expect(calls).toEqual([{ country: "us", day: "2018-05-20", limit: 10 }]);
    expect(JSON.parse(response.body ?? "")).toMatchObject({
      day: "2018-05-20",
      today: "2026-12-04",
    });

    // No counts at all: today, empty.
    const none = recordingQuery(null);
    await getCounts(withQuery(undefined), { ...none, now: () => Date.UTC(2026, 11, 4, 12) });
    expect(none.calls).toEqual([{ country: "us", day: "2026-12-04", limit: 10 }]);

    // A day asked for is answered as asked, without looking for the latest.
    const asked = recordingQuery("2018-05-20");
    await getCounts(withQuery({ day: "2026-12-01" }), asked);
    expect(asked.latestCalls).toEqual([]);
  });

  it.each([
    [{ country: "usa" }, /country must be a two-letter ISO code/],
    [{ country: "<b>" }, /country must be a two-letter ISO code/],
    [{ day: "yesterday" }, /day must be YYYY-MM-DD or all/],
    [{ day: "2018-02-30" }, /day is not a calendar date/],
    [{ limit: "0" }, /limit must be at least 1/],
    [{ limit: "1000" }, /limit must be at most 100/],
    [{ limit: "ten" }, /limit must be a number/],
    [{ limit: "2.5" }, /limit must be a whole number/],
    [{ city: "x" }, /unknown parameter\(s\): city/],
  ])("answers 400 for %o", async (query, message) => {
    const { calls, query: run, latestDay } = recordingQuery();
    const response = await getCounts(withQuery(query), { query: run, latestDay });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? "").message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it("answers 405 to anything but GET", async () => {
    const post = {
      ...fixture,
      requestContext: {
        ...fixture.requestContext,
        http: { ...fixture.requestContext.http, method: "POST" },
      },
    };
    const response = await getCounts(post, recordingQuery());
    expect(response.statusCode).toBe(405);
    expect(response.headers?.allow).toBe("GET");
  });

  it("answers 503 with Retry-After while DynamoDB throttles or fails, and lets a bug be a 500", async () => {
    const failing = (error: Error) => ({
      query: async (): Promise<TopCities> => {
        throw error;
      },
      latestDay: async () => null,
    });
    const awsError = (name: string, status: number) =>
      Object.assign(new Error(`${name} from DynamoDB`), {
        name,
        $metadata: { httpStatusCode: status },
      });
    for (const error of [
      awsError("ThrottlingException", 400),
      awsError("ProvisionedThroughputExceededException", 400),
      awsError("InternalServerError", 500),
      awsError("SomethingNew", 503),
    ]) {
      const response = await getCounts(withQuery({ day: "all" }), failing(error));
      expect(response.statusCode, error.name).toBe(503);
      expect(response.headers?.["retry-after"]).toBe("2");
      expect(JSON.parse(response.body ?? "").message).toMatch(/briefly unavailable/);
    }
    await expect(
      getCounts(withQuery({ day: "all" }), failing(new TypeError("cannot read x of undefined"))),
    ).rejects.toThrow(TypeError);
    await expect(
      getCounts(withQuery({ day: "all" }), failing(awsError("ValidationException", 400))),
    ).rejects.toThrow(/ValidationException/);
  });
});

describe("countsFor (the query, without HTTP)", () => {
  it("answers the day asked, or the latest with counts, or today, with today beside it", async () => {
    const { countsFor } = await import("../../functions/counts-api/counts-query.js");
    const now = Date.UTC(2026, 11, 4, 12);
    const latest = recordingQuery("2018-05-20");
    await expect(countsFor({ country: "us", limit: 3 }, latest, now)).resolves.toMatchObject({
      day: "2018-05-20",
      today: "2026-12-04",
    });
    await countsFor({ country: "us", day: "all", limit: 3 }, latest, now);
    expect(latest.latestCalls).toEqual([["us", "2026-12-04"]]);
    const none = recordingQuery(null);
    await expect(countsFor({ country: "ca", limit: 3 }, none, now)).resolves.toMatchObject({
      country: "ca",
      day: "2026-12-04",
    });
  });
});
