import { describe, expect, it } from "vitest";
import {
  countsUrl,
  type Fetch,
  fetchJson,
  loadClusters,
  loadConfig,
  loadCounts,
  loadRun,
} from "../../site/src/data.js";

const json = (status: number, body: unknown, statusText = "") =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    statusText,
    headers: { "content-type": "application/json" },
  });

/** A fetch answering from a table of paths; records what was asked. */
function fakeFetch(answers: Record<string, () => Response | Promise<Response>>) {
  const asked: string[] = [];
  const fetch: Fetch = async (input) => {
    asked.push(input);
    const path = input.split("?")[0] ?? input;
    const answer = answers[path];
    if (!answer) return json(404, { message: "not found" });
    return answer();
  };
  return { fetch, asked };
}

const topCities = {
  country: "us",
  day: "2026-11-27",
  cities: [
    {
      key: "us#CA#<img src=x onerror=alert(1)>",
      city: "<img src=x onerror=alert(1)>",
      state: "CA",
      country: "us",
      rsvps: 12,
      yes: 10,
      no: 2,
      guests: 1,
      updatedAt: 1_795_000_000_000,
    },
  ],
  totalCities: 1,
  updatedAt: "2026-11-27T02:14:00.000Z",
};

describe("fetchJson", () => {
  it("gives the parsed JSON of a 200", async () => {
    const { fetch } = fakeFetch({ "a.json": () => json(200, { a: 1 }) });
    expect(await fetchJson("a.json", { fetch })).toEqual({ kind: "ok", value: { a: 1 } });
  });

  it("says a 404 is missing (no batch yet), and 403 too where asked (S3 without list)", async () => {
    const { fetch } = fakeFetch({ "gone.json": () => json(403, "<Error>AccessDenied</Error>") });
    expect(await fetchJson("absent.json", { fetch })).toEqual({ kind: "missing", status: 404 });
    expect(await fetchJson("gone.json", { fetch, missing: [403, 404] })).toEqual({
      kind: "missing",
      status: 403,
    });
    expect(await fetchJson("gone.json", { fetch })).toMatchObject({ kind: "error", status: 403 });
  });

  it("says a network failure is unreachable", async () => {
    const fetch: Fetch = () => Promise.reject(new TypeError("Failed to fetch"));
    expect(await fetchJson("x.json", { fetch })).toEqual({
      kind: "unreachable",
      reason: "network error (Failed to fetch)",
    });
  });

  it("gives up on a hanging server after the timeout: unreachable", async () => {
    const fetch: Fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () =>
          reject(new DOMException("aborted", "AbortError")),
        );
      });
    const outcome = await fetchJson("x.json", { fetch, timeoutMs: 50 });
    expect(outcome).toEqual({ kind: "unreachable", reason: "no answer within 0.05 s" });
  });

  it("gives the API's message for an error answer, else the status", async () => {
    const { fetch } = fakeFetch({
      bad: () => json(400, { message: "country must be a two-letter ISO code such as us" }),
      down: () => json(502, "<html>Bad Gateway</html>", "Bad Gateway"),
    });
    expect(await fetchJson("bad", { fetch })).toEqual({
      kind: "error",
      status: 400,
      message: "country must be a two-letter ISO code such as us",
    });
    expect(await fetchJson("down", { fetch })).toEqual({
      kind: "error",
      status: 502,
      message: "HTTP 502 Bad Gateway",
    });
  });

  it("says an answer that is not JSON is invalid", async () => {
    const { fetch } = fakeFetch({ "x.json": () => json(200, "<html>oops</html>") });
    expect(await fetchJson("x.json", { fetch })).toEqual({
      kind: "invalid",
      message: "the answer is not JSON",
    });
  });
});

describe("the counts API", () => {
  it("asks for today (the API's UTC day) or all time, lowercased, without a double slash", () => {
    expect(countsUrl("/api", { country: "US", day: "today", limit: 100 })).toBe(
      "/api/counts?country=us&limit=100",
    );
    expect(
      countsUrl("https://abc.execute-api.eu-west-1.amazonaws.com/", {
        country: "gb",
        day: "all",
        limit: 10,
      }),
    ).toBe("https://abc.execute-api.eu-west-1.amazonaws.com/counts?country=gb&day=all&limit=10");
  });

  it("gives the top cities, hostile names untouched (they are rendered as text)", async () => {
    const { fetch, asked } = fakeFetch({ "/api/counts": () => json(200, topCities) });
    const outcome = await loadCounts(
      "/api",
      { country: "us", day: "today", limit: 100 },
      { fetch },
    );
    expect(asked).toEqual(["/api/counts?country=us&limit=100"]);
    expect(outcome.kind).toBe("ok");
    if (outcome.kind === "ok") {
      expect(outcome.value.cities[0]?.city).toBe("<img src=x onerror=alert(1)>");
      expect(outcome.value.totalCities).toBe(1);
    }
  });

  it("treats the API's 404 as an error (a wrong URL), not as missing data", async () => {
    const { fetch } = fakeFetch({});
    const outcome = await loadCounts("/api", { country: "us", day: "all", limit: 10 }, { fetch });
    expect(outcome).toEqual({ kind: "error", status: 404, message: "not found" });
  });

  it("says an answer of another shape is invalid", async () => {
    const { fetch } = fakeFetch({
      "/api/counts": () => json(200, { ...topCities, cities: [{ city: 3 }] }),
    });
    const outcome = await loadCounts("/api", { country: "us", day: "all", limit: 10 }, { fetch });
    expect(outcome.kind).toBe("invalid");
  });
});

describe("the batch's files", () => {
  it("says no batch yet when clusters.json and run.json are absent", async () => {
    const { fetch } = fakeFetch({});
    expect(await loadClusters({ fetch })).toMatchObject({ kind: "missing" });
    expect(await loadRun({ fetch })).toMatchObject({ kind: "missing" });
  });

  it("reads config.json and refuses a config without a usable URL", async () => {
    const good = fakeFetch({ "config.json": () => json(200, { countsApiUrl: "/api" }) });
    expect(await loadConfig({ fetch: good.fetch })).toEqual({
      kind: "ok",
      value: { countsApiUrl: "/api" },
    });
    const bad = fakeFetch({
      "config.json": () => json(200, { countsApiUrl: "javascript:alert(1)" }),
    });
    expect((await loadConfig({ fetch: bad.fetch })).kind).toBe("invalid");
    expect((await loadConfig({ fetch: fakeFetch({}).fetch })).kind).toBe("missing");
  });

  it("checks clusters.json against the contract", async () => {
    const { fetch } = fakeFetch({
      "clusters.json": () => json(200, { k: 1, kScores: [], venuesClustered: 0 }),
    });
    const outcome = await loadClusters({ fetch });
    expect(outcome).toMatchObject({ kind: "invalid" });
    if (outcome.kind === "invalid") expect(outcome.message).toContain("venuesWithoutPosition");
  });
});

describe("the live table's day", () => {
  it("says today while the API's latest day is today, else which day it shows", async () => {
    const { dayCaption } = await import("../../site/src/counts-view.js");
    const { parseTopCities } = await import("../../site/src/validate.js");
    const answer = (day: string, today?: string) =>
      parseTopCities({
        country: "us",
        day,
        cities: [],
        totalCities: 0,
        updatedAt: null,
        ...(today ? { today } : {}),
      });
    const live = answer("2026-12-04", "2026-12-04");
    const recording = answer("2018-05-20", "2026-12-04");
    if (!live.ok || !recording.ok) throw new Error("the answers should parse");
    expect(dayCaption(live.value)).toBe("today (2026-12-04 UTC)");
    expect(dayCaption(recording.value)).toBe("2018-05-20 (UTC), the latest day with counts");
    // An older API without `today`, and no answer yet.
    const older = answer("2026-12-04");
    if (!older.ok) throw new Error("the answer should parse");
    expect(dayCaption(older.value)).toBe("today (2026-12-04 UTC)");
    expect(dayCaption(null)).toBe("today (UTC)");
  });
});
