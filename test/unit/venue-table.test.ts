/**
 * test/fixtures/spark-venue.parquet was written by spark/curate_rsvps.py on pyspark 3.5.6 (the
 * Spark of the EMR release), from four records: two at venue 100 (Portland), one at venue 200
 * near Suva across the antimeridian, one at venue 300 without a position; as the job wrote the
 * table before it weighed topics (no topic_weights column: days curated then are still read).
 * test/fixtures/spark-venue-topic-weights.parquet is the table as the job writes it now
 * (test/fixtures/make_spark_venue.py: a venue of two groups, and one of a group without topics).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import {
  mergeVenueDays,
  readVenueFile,
  topicWeightsOf,
} from "../../functions/clustering/venue-table.js";

const fixture = (name: string) => {
  const buffer = readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
};
const bytes = fixture("spark-venue.parquet");

describe("reading Spark's venue table with hyparquet", () => {
  it("reads every column right: longs, doubles, nulls, nested topic lists", async () => {
    const rows = await readVenueFile(bytes);
    expect(rows).toEqual([
      {
        id: 100,
        name: "Venue 100",
        position: { lat: 45.5, lon: -122.6 },
        firstSeen: 1526775000000,
        lastSeen: 1526775600000,
        rsvpCount: 2,
        yesCount: 2,
        topics: [{ key: "python", name: "Python" }],
        date: "2018-05-20",
      },
      {
        id: 200,
        name: "Venue 200",
        position: { lat: -18.1, lon: 179.9 },
        firstSeen: 1526776200000,
        lastSeen: 1526776200000,
        rsvpCount: 1,
        yesCount: 1,
        topics: [{ key: "python", name: "Python" }],
        date: "2018-05-20",
      },
      {
        id: 300,
        name: "Venue 300",
        position: null,
        firstSeen: 1526776800000,
        lastSeen: 1526776800000,
        rsvpCount: 1,
        yesCount: 1,
        topics: [{ key: "python", name: "Python" }],
        date: "2018-05-20",
      },
    ]);
  });

  it("reads the topic weights the job writes: each RSVP's 1 split over its group's topics", async () => {
    const rows = await readVenueFile(fixture("spark-venue-topic-weights.parquet"));
    const byId = new Map(rows.map((row) => [row.id, row]));
    // Three RSVPs of a group with two topics, one of a group with one.
    expect(byId.get(100)?.rsvpCount).toBe(4);
    expect(byId.get(100)?.topicWeights).toEqual([
      { key: "hiking", name: "Hiking", weight: 1 },
      { key: "python", name: "Python", weight: 1.5 },
      { key: "web", name: "Web", weight: 1.5 },
    ]);
    // A group without topics: nothing to weigh (not the topic list's fallback).
    expect(byId.get(200)?.topicWeights).toEqual([]);
    expect(topicWeightsOf(byId.get(200) as (typeof rows)[number])).toEqual([]);
    // A day curated before the column existed: the venue's RSVPs over its topic list.
    const [old] = await readVenueFile(bytes);
    expect(old?.topicWeights).toBeUndefined();
    expect(topicWeightsOf(old as (typeof rows)[number])).toEqual([
      { key: "python", name: "Python", weight: 2 },
    ]);
  });

  it("merges the days of a venue: counts summed, newest name and position, topics united", async () => {
    const [day1] = await readVenueFile(bytes);
    if (!day1) throw new Error("fixture is empty");
    const day2 = {
      ...day1,
      date: "2018-05-21",
      name: "Venue 100 (renamed)",
      firstSeen: day1.firstSeen + 86_400_000,
      lastSeen: day1.lastSeen + 86_400_000,
      rsvpCount: 5,
      yesCount: 4,
      topics: [{ key: "data-science", name: "Data Science" }],
    };
    expect(mergeVenueDays([day2, day1])).toEqual([
      {
        id: 100,
        name: "Venue 100 (renamed)",
        position: { lat: 45.5, lon: -122.6 },
        firstSeen: day1.firstSeen,
        lastSeen: day2.lastSeen,
        rsvpCount: 7,
        yesCount: 6,
        topics: [
          { key: "python", name: "Python" },
          { key: "data-science", name: "Data Science" },
        ],
        // Weights summed: day 1's from its topic list (2 RSVPs), day 2's as given.
        topicWeights: [
          { key: "python", name: "Python", weight: 2 },
          { key: "data-science", name: "Data Science", weight: 5 },
        ],
      },
    ]);
  });

  it("refuses a file that is not the venue table", async () => {
    await expect(readVenueFile(new Uint8Array([1, 2, 3, 4]).buffer)).rejects.toThrow();
  });

  it("names the row and every column of a row that does not fit", async () => {
    const [good] = await import("hyparquet").then(({ parquetReadObjects }) =>
      parquetReadObjects({ file: bytes }),
    );
    vi.resetModules();
    vi.doMock("hyparquet", () => ({
      parquetReadObjects: async () => [good, { ...good, rsvp_count: "7", lat: "north" }],
    }));
    try {
      const { readVenueFile: readMocked } = await import(
        "../../functions/clustering/venue-table.js"
      );
      const read = readMocked(bytes);
      await expect(read).rejects.toThrow(/^venue row 1: /);
      await expect(read).rejects.toThrow(/→ at lat/);
      await expect(read).rejects.toThrow(/→ at rsvp_count/);
    } finally {
      vi.doUnmock("hyparquet");
      vi.resetModules();
    }
  });
});
