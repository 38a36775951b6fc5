import { describe, expect, it } from "vitest";
import { CityIndex } from "../../functions/clustering/city-index.js";
import { cityTopics } from "../../functions/clustering/city-topics.js";
import type { City } from "../../functions/clustering/labels.js";
import type { Venue } from "../../functions/clustering/venue-table.js";

const CITIES: City[] = [
  { name: "New York City", country: "us", lat: 40.71, lon: -74.01, population: 8_175_133 },
  { name: "Brooklyn", country: "us", lat: 40.65, lon: -73.95, population: 2_300_664 },
  { name: "Newark", country: "us", lat: 40.74, lon: -74.17, population: 281_944 },
  { name: "Suva", country: "fj", lat: -18.14, lon: 178.44, population: 77_366 },
  // Made up, to have a city right on the antimeridian.
  { name: "Dateline", country: "fj", lat: -16.8, lon: 179.95, population: 60_000 },
  { name: "Tiny", country: "us", lat: 10, lon: 10, population: 20_000 },
];

let id = 0;
function venue(lat: number, lon: number, rsvps: number, topics: string[]): Venue {
  id++;
  return {
    id,
    name: `v${id}`,
    position: { lat, lon },
    firstSeen: 0,
    lastSeen: 0,
    rsvpCount: rsvps,
    yesCount: rsvps,
    topics: topics.map((key) => ({ key, name: key })),
  };
}

describe("cityTopics", () => {
  it("attributes venues to the metro they belong to and ranks the categories by RSVP share", () => {
    const venues = [
      venue(40.65, -73.95, 10, ["python", "javascript"]), // Brooklyn: counts for New York City
      venue(40.71, -74.0, 5, ["hiking"]),
      venue(40.75, -73.99, 3, ["newintown"]),
      venue(-18.15, 178.45, 2, ["hiking"]),
      venue(-16.8, -179.95, 1, ["hiking"]), // across the antimeridian from Dateline, 11 km
      venue(10, 10, 4, ["python"]), // only a town of 20,000 near: outside any city
      { ...venue(0, 0, 7, ["python"]), position: null },
    ];
    const doc = cityTopics(venues, CITIES, { radiusKm: 50, minPopulation: 50_000 });
    expect(doc.cities.map((city) => [city.name, city.venues, city.rsvps])).toEqual([
      ["New York City", 3, 18],
      ["Suva", 1, 2],
      ["Dateline", 1, 1],
    ]);
    const nyc = doc.cities[0];
    expect(nyc?.dominant).toBe("Tech");
    expect(nyc?.categories.map((c) => c.category)).toEqual(["Tech", "Outdoors", "Social"]);
    // The Brooklyn venue's 10 RSVPs count once, split over python and javascript: 10 of 18.
    expect(nyc?.categories[0]?.share).toBeCloseTo(10 / 18, 3);
    expect(doc.venuesOutsideCities).toBe(1);
  });

  it("weighs a venue's topics by the RSVPs of the groups that have them, not by the venue's all", () => {
    // Each New York venue: a JavaScript group's 50 RSVPs and a hiking group's 1. By the
    // topic list alone the city read as much Outdoors as Tech, and the tie went to Outdoors.
    const shared = (lat: number, lon: number): Venue => ({
      ...venue(lat, lon, 51, ["javascript", "hiking"]),
      topicWeights: [
        { key: "javascript", name: "JavaScript", weight: 50 },
        { key: "hiking", name: "Hiking", weight: 1 },
      ],
    });
    const doc = cityTopics(
      [shared(40.7, -74.0), shared(40.72, -73.98), shared(40.69, -73.99)],
      CITIES,
      { radiusKm: 50, minPopulation: 50_000 },
    );
    const [nyc] = doc.cities;
    expect(nyc?.dominant).toBe("Tech");
    expect(nyc?.categories.map((c) => [c.category, Number(c.share.toFixed(3))])).toEqual([
      ["Tech", 0.98],
      ["Outdoors", 0.02],
    ]);
  });

  it("lists at most `limit` cities, most RSVPs first", () => {
    const venues = [venue(-18.14, 178.44, 50, ["hiking"]), venue(40.71, -74.01, 5, ["hiking"])];
    const doc = cityTopics(venues, CITIES, { limit: 1, minPopulation: 50_000 });
    expect(doc.cities.map((city) => city.name)).toEqual(["Suva"]);
  });
});

describe("CityIndex", () => {
  it("finds cities across the antimeridian and not beyond the radius", () => {
    const index = new CityIndex(CITIES);
    expect(index.metro({ lat: -16.8, lon: -179.95 }, 50, 25)?.name).toBe("Dateline");
    expect(index.metro({ lat: -16.8, lon: -179.5 }, 30, 15)).toBeUndefined();
    expect(index.metro({ lat: 40.74, lon: -74.16 }, 50, 25)?.name).toBe("New York City");
    // Nearest Newark by a narrow scale; Newark, 14 km from New York City, is of its metro area.
    expect(index.metro({ lat: 40.74, lon: -74.17 }, 50, 2)?.name).toBe("New York City");
    expect(
      new CityIndex(
        CITIES.filter((city) => !["New York City", "Brooklyn"].includes(city.name)),
      ).metro({ lat: 40.74, lon: -74.17 }, 50, 2)?.name,
    ).toBe("Newark");
  });
});

describe("CityIndex.metro across a border", () => {
  it("keeps a place in the country of its nearest city, though a larger one lies across the border", () => {
    const index = new CityIndex(
      [
        { name: "El Paso", country: "us", lat: 31.759, lon: -106.487, population: 681_124 },
        { name: "Ciudad Juárez", country: "mx", lat: 31.72, lon: -106.46, population: 1_512_354 },
        { name: "Anthony", country: "us", lat: 31.999, lon: -106.605, population: 5_000 },
      ],
      100_000,
    );
    expect(index.metro({ lat: 31.77, lon: -106.5 }, 50, 25)?.name).toBe("El Paso");
    expect(index.metro({ lat: 31.7, lon: -106.44 }, 50, 25)?.name).toBe("Ciudad Juárez");
    // Anthony, too small to be a place, still says which country its venues are in.
    expect(index.metro({ lat: 32.0, lon: -106.6 }, 50, 25)?.name).toBe("El Paso");
  });
});

describe("CityIndex.metro's metro areas", () => {
  // Along a meridian, 0.27° of latitude is about 30 km.
  const big = { name: "Big", country: "us", lat: 40, lon: -100, population: 1_000_000 };
  const suburb = { name: "Suburb", country: "us", lat: 40.27, lon: -100, population: 400_000 };
  const outer = { name: "Outer", country: "us", lat: 40.54, lon: -100, population: 150_000 };
  const neighbour = {
    name: "Neighbour",
    country: "us",
    lat: 39.73,
    lon: -100,
    population: 600_000,
  };
  const index = new CityIndex([big, suburb, outer, neighbour], 100_000);

  it("follows a city to the one its metro area is named after, step by step", () => {
    // Outer is 60 km from Big, within 40 km of Suburb, which is within 40 km of Big.
    expect(index.metro(outer, 50, 25)?.name).toBe("Big");
    expect(index.metro(suburb, 50, 25)?.name).toBe("Big");
  });

  it("keeps a neighbour of a size apart, though within 40 km of the larger city", () => {
    expect(index.metro(neighbour, 50, 25)?.name).toBe("Neighbour");
  });
});
