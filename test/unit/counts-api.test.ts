import { readFileSync } from "node:fs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  cachedPartitions,
  PARTITION_CACHE_MS,
  type RankedPartition,
  type TopCities,
  topOf,
} from "../../functions/counts-api/top-cities.js";

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

/**
 * A query that records its calls. `marked` are the days marked as having had counts (the
 * newest not after the asked day is the latest), and `withCities` those whose partition still
 * has a city (all of them unless given).
 */
function recordingQuery(marked: string | null | string[] = null, withCities?: string[]) {
  const days = marked === null ? [] : typeof marked === "string" ? [marked] : marked;
  const calls: { country: string; day: string; limit: number }[] = [];
  const latestCalls: [string, string][] = [];
  const query = async (q: { country: string; day: string; limit: number }): Promise<TopCities> => {
    calls.push(q);
    const counted = days.includes(q.day) && (withCities ?? days).includes(q.day);
    return {
      country: q.country,
      day: q.day,
      cities: [],
      totalCities: counted ? 1 : 0,
      updatedAt: null,
    };
  };
  const latestDay = async (country: string, notAfter: string) => {
    latestCalls.push([country, notAfter]);
    return (
      [...days]
        .sort()
        .reverse()
        .find((day) => day <= notAfter) ?? null
    );
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
    // No day has counts, so the answer is today's own. At 23:59 UTC on 27 November it is
    // already the 28th in Tokyo: the API's "today" must be the UTC one wherever it runs.
    const { calls, latestCalls, query, latestDay } = recordingQuery(null);
    const now = Date.UTC(2026, 10, 27, 23, 59);
    const zone = process.env.TZ;
    process.env.TZ = "Asia/Tokyo";
    let response: Awaited<ReturnType<typeof getCounts>>;
    try {
      expect(new Date(now).getDate(), "the local time zone is Tokyo's").toBe(28);
      response = await getCounts(withQuery(undefined), { query, latestDay, now: () => now });
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    expect(latestCalls).toEqual([["us", "2026-11-27"]]);
    expect(JSON.parse(response.body ?? "")).toMatchObject({
      day: "2026-11-27",
      today: "2026-11-27",
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

    // The latest marked day lost all its RSVPs to an earlier day (an earlier version came
    // late): the marked day before it answers; past three marked days, the latest, empty.
    const moved = recordingQuery(["2018-05-18", "2018-05-20", "2018-05-21"], ["2018-05-18"]);
    const earlier = await getCounts(withQuery(undefined), {
      ...moved,
      now: () => Date.UTC(2026, 11, 4, 12),
    });
    expect(moved.latestCalls).toEqual([
      ["us", "2026-12-04"],
      ["us", "2018-05-20"],
      ["us", "2018-05-19"],
    ]);
    expect(JSON.parse(earlier.body ?? "")).toMatchObject({ day: "2018-05-18", totalCities: 1 });
    const emptied = recordingQuery(["2018-05-17", "2018-05-18", "2018-05-20", "2018-05-21"], []);
    const latestEmpty = await getCounts(withQuery(undefined), emptied);
    expect(emptied.calls.map((call) => call.day)).toEqual([
      "2018-05-21",
      "2018-05-20",
      "2018-05-18",
    ]);
    expect(JSON.parse(latestEmpty.body ?? "")).toMatchObject({ day: "2018-05-21", totalCities: 0 });

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

describe("counts API: ranked partitions kept in the container (cachedPartitions)", () => {
  const partition = (day: string, n: number): RankedPartition => ({
    country: "us",
    day,
    ranked: Array.from({ length: n }, (_, i) => ({
      key: `us/xx/city-${i}`,
      city: `City ${i}`,
      state: "XX",
      country: "us",
      rsvps: n - i,
      yes: n - i,
      no: 0,
      guests: 0,
      updatedAt: 1000 + i,
    })),
    newest: 1000 + n - 1,
  });

  it("reads a partition once per 2 s (the answers' max-age) whatever the limit, and shares a read in flight", async () => {
    expect(PARTITION_CACHE_MS).toBe(2000);
    let clock = 0;
    const reads: string[] = [];
    let release: () => void = () => {};
    const read = async (query: { country: string; day: string }) => {
      reads.push(query.day);
      if (reads.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return partition(query.day, 5);
    };
    const cached = cachedPartitions(read, PARTITION_CACHE_MS, () => clock);
    const first = cached({ country: "us", day: "2018-05-20" });
    const second = cached({ country: "us", day: "2018-05-20" }); // while the first is in flight
    release();
    expect(topOf(await first, 2).cities.map((c) => c.rsvps)).toEqual([5, 4]);
    expect(topOf(await second, 10)).toMatchObject({ totalCities: 5, day: "2018-05-20" });
    clock = 1999;
    await cached({ country: "us", day: "2018-05-20" });
    await cached({ country: "us", day: "all" }); // another partition: its own read
    expect(reads).toEqual(["2018-05-20", "all"]);
    clock = 2000;
    await cached({ country: "us", day: "2018-05-20" });
    expect(reads).toEqual(["2018-05-20", "all", "2018-05-20"]);
  });

  it("keeps no failed read: the next request reads again", async () => {
    let fail = true;
    let reads = 0;
    const cached = cachedPartitions(
      async (query) => {
        reads += 1;
        if (fail) throw new Error("throttled");
        return partition(query.day, 1);
      },
      PARTITION_CACHE_MS,
      () => 0,
    );
    await expect(cached({ country: "us", day: "all" })).rejects.toThrow("throttled");
    fail = false;
    expect((await cached({ country: "us", day: "all" })).ranked).toHaveLength(1);
    expect(reads).toBe(2);
  });
});
