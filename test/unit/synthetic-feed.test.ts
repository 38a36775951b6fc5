import { describe, expect, it } from "vitest";
import { distanceKm } from "../../functions/shared/geo.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { loadCities } from "../../local/feed/synthetic/gazetteer.js";
import { type SyntheticMessage, syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { Random } from "../../local/feed/synthetic/random.js";
import { TOPIC_CATEGORIES } from "../../local/feed/synthetic/topic-profiles.js";

const parse = createRsvpParser();

function take(count: number, options: Parameters<typeof syntheticMessages>[0]): SyntheticMessage[] {
  const messages: SyntheticMessage[] = [];
  for (const message of syntheticMessages(options)) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

function records(messages: SyntheticMessage[]): RsvpRecord[] {
  return messages.flatMap((message) => {
    const result = parse(message.text);
    return result.ok ? [result.record] : [];
  });
}

const CATEGORY_OF_TOPIC = new Map(
  TOPIC_CATEGORIES.flatMap((category) =>
    category.topics.map((topic) => [topic.urlkey, category.name]),
  ),
);

describe("synthetic feed", () => {
  const messages = take(20_000, { seed: 42 });
  const valid = records(messages);

  it("is deterministic: the same seed gives the same messages, another seed others", () => {
    expect(take(500, { seed: 42 }).map((m) => m.text)).toEqual(
      messages.slice(0, 500).map((m) => m.text),
    );
    const other = take(500, { seed: 43 }).map((m) => m.text);
    expect(other).not.toEqual(messages.slice(0, 500).map((m) => m.text));
  });

  it("has strictly increasing mtimes from the start time", () => {
    const mtimes = messages.map((m) => m.mtime);
    expect(mtimes[0]).toBeGreaterThan(Date.UTC(2026, 0, 1));
    for (let i = 1; i < mtimes.length; i++)
      expect(mtimes[i]).toBeGreaterThan(mtimes[i - 1] as number);
  });

  it("sends the full stream format, personal data included (for the ingest to drop)", () => {
    const first = JSON.parse(messages.find((m) => m.kind === "rsvp")?.text ?? "{}");
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(["rsvp_id", "mtime", "response", "member", "event", "group"]),
    );
    expect(first.member.member_name).toEqual(expect.any(String));
  });

  it("weights countries like the recorded feed (US about 65 %) and cities by population", () => {
    const byCountry = new Map<string, number>();
    for (const record of valid)
      byCountry.set(record.city.country, (byCountry.get(record.city.country) ?? 0) + 1);
    const share = (country: string) => (byCountry.get(country) ?? 0) / valid.length;
    expect(share("us")).toBeGreaterThan(0.6);
    expect(share("us")).toBeLessThan(0.7);
    expect(share("ca")).toBeGreaterThan(0.05);
    expect(byCountry.size).toBeGreaterThan(30);
    const nyc = valid.filter((r) => r.city.key === "us/ny/new york city").length;
    const smallUs = valid.filter((r) => r.city.key === "us/me/portland").length;
    expect(nyc).toBeGreaterThan(10 * Math.max(smallUs, 1));
  });

  it("gives US and Canadian cities their state, others none", () => {
    for (const record of valid.slice(0, 2000)) {
      if (record.city.country === "us" || record.city.country === "ca")
        expect(record.city.state).toMatch(/^[A-Z]{2}$/);
      else expect(record.city.state).toBeNull();
    }
  });

  it("scatters venues around their group's city, within a metro area", () => {
    const distances: number[] = [];
    for (const record of valid) {
      const venue = record.venue?.position;
      const home = record.group.position;
      if (venue && home) distances.push(distanceKm(venue, home));
    }
    // Most records have a venue with a position (private and lat = lon = 0 ones have none).
    expect(distances.length).toBeGreaterThan(valid.length / 2);
    // The spread is a few km (wider for bigger cities, in both directions), never another city.
    expect(Math.max(...distances)).toBeLessThan(80);
    expect(distances.filter((km) => km > 1).length).toBeGreaterThan(distances.length / 2);
  });

  it("has private venues and lat = lon = 0 venues at the configured shares", () => {
    const rsvps = records(messages.filter((m) => m.kind === "rsvp"));
    const noVenue = rsvps.filter((r) => r.venue === null).length / rsvps.length;
    const zero =
      rsvps.filter((r) => r.venue !== null && r.venue.position === null).length / rsvps.length;
    expect(noVenue).toBeGreaterThan(0.13);
    expect(noVenue).toBeLessThan(0.19);
    expect(zero).toBeGreaterThan(0.003);
    expect(zero).toBeLessThan(0.02);
  });

  it("re-sends earlier RSVPs with a newer mtime", () => {
    const firstSeen = new Map<number, number>();
    let updates = 0;
    for (const message of messages) {
      const seen = firstSeen.get(message.rsvpId);
      if (message.kind === "update") {
        updates += 1;
        expect(seen).toBeDefined();
        expect(message.mtime).toBeGreaterThan(seen as number);
      } else if (message.kind === "rsvp") {
        expect(seen).toBeUndefined();
      }
      // A malformed message may be a broken new RSVP or a broken update.
      if (seen === undefined) firstSeen.set(message.rsvpId, message.mtime);
    }
    expect(updates / messages.length).toBeGreaterThan(0.05);
  });

  it("breaks the configured share of messages, in every kind, and only those", () => {
    const malformed = messages.filter((m) => m.kind === "malformed");
    expect(malformed.length / messages.length).toBeGreaterThan(0.012);
    expect(malformed.length / messages.length).toBeLessThan(0.03);
    expect(new Set(malformed.map((m) => (m.kind === "malformed" ? m.malformed : "")))).toHaveLength(
      7,
    );
    expect(take(2000, { seed: 1, malformedShare: 0 }).some((m) => m.kind === "malformed")).toBe(
      false,
    );
    expect(valid.length).toBe(messages.length - malformed.length);
  });

  it("draws group topics from per-city profiles: the Bay Area leans to tech, Denver to the outdoors", () => {
    const many = records(take(60_000, { seed: 7, malformedShare: 0, updateShare: 0 }));
    const leaning = (cityKey: string) => {
      const counts = new Map<string, number>();
      for (const record of many.filter((r) => r.city.key === cityKey)) {
        const category = CATEGORY_OF_TOPIC.get(record.group.topics[0]?.key ?? "") ?? "?";
        counts.set(category, (counts.get(category) ?? 0) + 1);
      }
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      return { total, share: (name: string) => (counts.get(name) ?? 0) / total };
    };
    const sf = leaning("us/ca/san francisco");
    const denver = leaning("us/co/denver");
    expect(sf.total).toBeGreaterThan(80);
    expect(denver.total).toBeGreaterThan(80);
    expect(sf.share("Tech")).toBeGreaterThan(denver.share("Tech"));
    expect(denver.share("Outdoors")).toBeGreaterThan(sf.share("Outdoors"));
  });
});

describe("gazetteer", () => {
  it("has Portland OR and Portland ME as different cities, with Canadian provinces as codes", () => {
    const { cities, cumulativeWeights } = loadCities();
    const portlands = cities
      .filter((c) => c.name === "Portland" && c.country === "us")
      .map((c) => c.state);
    expect(portlands.sort()).toEqual(["ME", "OR"]);
    expect(cities.find((c) => c.name === "Toronto")?.state).toBe("ON");
    expect(cumulativeWeights).toHaveLength(cities.length);
    expect(cumulativeWeights[cumulativeWeights.length - 1]).toBeCloseTo(1, 6);
  });
});

describe("Random", () => {
  it("is reproducible and roughly uniform", () => {
    const a = new Random(5);
    const b = new Random(5);
    const draws = Array.from({ length: 10_000 }, () => a.next());
    expect(Array.from({ length: 10_000 }, () => b.next())).toEqual(draws);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("draws weighted indexes by weight", () => {
    const random = new Random("weights");
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++)
      counts[random.weightedIndex([1, 1, 4])] = (counts[random.weightedIndex([1, 1, 4])] ?? 0) + 1;
    expect((counts[2] ?? 0) / 30_000).toBeGreaterThan(0.45);
    expect((counts[0] ?? 0) / 30_000).toBeGreaterThan(0.1);
  });
});
