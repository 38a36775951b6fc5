import { describe, expect, it } from "vitest";
import type { CityCount } from "../../functions/counts-api/top-cities.js";
import {
  addSample,
  type CountRow,
  countryName,
  formatAgo,
  formatRate,
  formatUtc,
  grownKeys,
  nextSort,
  normaliseCountry,
  RATE_WINDOW_MS,
  rankRows,
  ratePerMinute,
  readSettings,
  type SortState,
  sampleOf,
  settingsHash,
  sortRows,
} from "../../site/src/counts-model.js";

function city(city: string, rsvps: number, extra: Partial<CityCount> = {}): CityCount {
  return {
    key: `us#${extra.state ?? ""}#${city}`,
    city,
    state: null,
    country: "us",
    rsvps,
    yes: Math.round(rsvps * 0.8),
    no: rsvps - Math.round(rsvps * 0.8),
    guests: 0,
    updatedAt: 0,
    ...extra,
  };
}

const rows: CountRow[] = rankRows([
  city("New York", 50, { state: "NY", yes: 40, no: 10 }),
  city("san Francisco", 40, { state: "CA", yes: 39, no: 1 }),
  city("Austin", 40, { state: "TX", yes: 20, no: 20 }),
  city("<img src=x onerror=alert(1)>", 12, { state: null, yes: 12, no: 0 }),
  city("Zürich", 5, { state: null, country: "ch", yes: 5, no: 0 }),
]);

const cities = (sort: SortState) => sortRows(rows, sort).map((row) => row.city);

describe("counts table sorting", () => {
  it("ranks by the API's order, 1-based", () => {
    expect(rows.map((row) => row.rank)).toEqual([1, 2, 3, 4, 5]);
  });

  it("sorts by rank, numbers, and names without regard to case; ties keep rank order", () => {
    expect(cities({ key: "rank", direction: "descending" })[0]).toBe("Zürich");
    expect(cities({ key: "rsvps", direction: "descending" })).toEqual([
      "New York",
      "san Francisco",
      "Austin",
      "<img src=x onerror=alert(1)>",
      "Zürich",
    ]);
    expect(cities({ key: "no", direction: "descending" }).slice(0, 2)).toEqual([
      "Austin",
      "New York",
    ]);
    expect(cities({ key: "city", direction: "ascending" })).toEqual([
      "<img src=x onerror=alert(1)>",
      "Austin",
      "New York",
      "san Francisco",
      "Zürich",
    ]);
    expect(cities({ key: "country", direction: "descending" })[0]).toBe("New York");
  });

  it("puts rows without a state last in both directions", () => {
    for (const direction of ["ascending", "descending"] as const) {
      const sorted = sortRows(rows, { key: "state", direction });
      expect(sorted.slice(-2).map((row) => row.state)).toEqual([null, null]);
    }
    expect(
      sortRows(rows, { key: "state", direction: "ascending" })
        .slice(0, 3)
        .map((row) => row.state),
    ).toEqual(["CA", "NY", "TX"]);
  });

  it("does not change the rows it is given", () => {
    const before = rows.map((row) => row.city);
    sortRows(rows, { key: "city", direction: "descending" });
    expect(rows.map((row) => row.city)).toEqual(before);
  });

  it("flips the active column; a new column starts in its natural order", () => {
    expect(nextSort({ key: "rank", direction: "ascending" }, "rank")).toEqual({
      key: "rank",
      direction: "descending",
    });
    expect(nextSort({ key: "rank", direction: "ascending" }, "rsvps").direction).toBe("descending");
    expect(nextSort({ key: "rsvps", direction: "descending" }, "city").direction).toBe("ascending");
  });
});

describe("RSVPs per minute from successive polls", () => {
  const poll = (at: number, counts: Record<string, number>) =>
    sampleOf(
      at,
      Object.entries(counts).map(([key, rsvps]) => ({ ...city(key, rsvps), key })),
    );

  it("is unknown until the polls span 10 s", () => {
    expect(ratePerMinute([])).toBeNull();
    expect(ratePerMinute([poll(0, { a: 1 })])).toBeNull();
    expect(ratePerMinute([poll(0, { a: 1 }), poll(5000, { a: 3 })])).toBeNull();
  });

  it("sums the growth of cities in both polls over the time between them", () => {
    const samples = [
      poll(0, { a: 10, b: 5 }),
      poll(5000, { a: 12 }),
      poll(30_000, { a: 20, b: 6 }),
    ];
    // a grew by 10, b by 1, in half a minute.
    expect(ratePerMinute(samples)).toBeCloseTo(22);
  });

  it("leaves out cities that entered the list and counters that fell (a new UTC day)", () => {
    const samples = [poll(0, { a: 10, b: 50 }), poll(60_000, { a: 15, b: 2, c: 100 })];
    expect(ratePerMinute(samples)).toBeCloseTo(5);
  });

  it("keeps a window of about two minutes of polls", () => {
    let samples = [poll(0, { a: 0 })];
    for (let t = 5000; t <= 300_000; t += 5000)
      samples = addSample(samples, poll(t, { a: t / 1000 }));
    const first = samples[0];
    const last = samples.at(-1);
    expect(last?.at).toBe(300_000);
    expect(first?.at).toBe(300_000 - RATE_WINDOW_MS);
    // One RSVP a second.
    expect(ratePerMinute(samples)).toBeCloseTo(60);
  });

  it("words the rate", () => {
    expect(formatRate(null)).toBe("rate: measuring…");
    expect(formatRate(0)).toBe("≈ 0 RSVPs/min");
    expect(formatRate(0.42)).toBe("≈ 0.4 RSVPs/min");
    expect(formatRate(41.6)).toBe("≈ 42 RSVPs/min");
    expect(formatRate(12_345.4)).toBe("≈ 12,345 RSVPs/min");
  });

  it("marks the cities whose RSVPs grew since the previous poll", () => {
    const before = poll(0, { a: 1, b: 2 });
    const after = poll(5000, { a: 2, b: 2, c: 9 });
    expect([...grownKeys(before, after)]).toEqual(["a"]);
    expect(grownKeys(undefined, after).size).toBe(0);
  });
});

describe("when the counts last changed", () => {
  const now = Date.parse("2026-11-27T02:14:30Z");
  it("says how long ago, and the UTC time past a day", () => {
    expect(formatAgo(now - 1000, now)).toBe("just now");
    expect(formatAgo(now + 5000, now)).toBe("just now");
    expect(formatAgo(now - 5000, now)).toBe("5 s ago");
    expect(formatAgo(now - 59_000, now)).toBe("59 s ago");
    expect(formatAgo(now - 180_000, now)).toBe("3 min ago");
    expect(formatAgo(now - 2 * 3_600_000, now)).toBe("2 h ago");
    expect(formatAgo(Date.parse("2018-05-20T14:03:59Z"), now)).toBe("on 2018-05-20 14:03 UTC");
    expect(formatUtc(now)).toBe("2026-11-27 02:14 UTC");
  });
});

describe("country and settings", () => {
  it("takes any two-letter code, in any case, and nothing else", () => {
    expect(normaliseCountry(" GB ")).toBe("gb");
    expect(normaliseCountry("us")).toBe("us");
    expect(normaliseCountry("usa")).toBeNull();
    expect(normaliseCountry("u1")).toBeNull();
    expect(normaliseCountry("<s")).toBeNull();
  });

  it("names countries where it can", () => {
    expect(countryName("us")).toBe("United States");
    expect(countryName("de")).toBe("Germany");
  });

  it("reads and writes the settings in the page's fragment, US, today and 10 rows by default", () => {
    expect(readSettings("")).toEqual({ country: "us", day: "today", rows: 10 });
    expect(readSettings("#country=GB&day=all&rows=25")).toEqual({
      country: "gb",
      day: "all",
      rows: 25,
    });
    expect(readSettings("#country=<img>&day=yesterday&rows=7")).toEqual({
      country: "us",
      day: "today",
      rows: 10,
    });
    expect(settingsHash({ country: "us", day: "today", rows: 10 })).toBe("");
    const settings = { country: "de", day: "all", rows: 100 } as const;
    expect(readSettings(`#${settingsHash(settings)}`)).toEqual(settings);
  });
});
