import { describe, expect, it } from "vitest";
import { buildClusters, hullAround } from "../../functions/clustering/build-clusters.js";
import type { City } from "../../functions/clustering/labels.js";
import type { Venue } from "../../functions/clustering/venue-table.js";

const CITIES: City[] = [
  { name: "San Francisco", country: "us", lat: 37.77, lon: -122.42, population: 864_816 },
  { name: "Denver", country: "us", lat: 39.74, lon: -104.98, population: 682_545 },
  { name: "New York City", country: "us", lat: 40.71, lon: -74.01, population: 8_175_133 },
  { name: "Suva", country: "fj", lat: -18.14, lon: 178.44, population: 77_366 },
];

let nextId = 1;
function venues(
  lat: number,
  lon: number,
  topics: [string, string][],
  count: number,
  rsvps: number,
): Venue[] {
  return Array.from({ length: count }, (_, i) => ({
    id: nextId++,
    name: `venue ${nextId}`,
    position: { lat: lat + ((i % 3) - 1) * 0.05, lon: lon + (Math.floor(i / 3) - 1) * 0.05 },
    firstSeen: 0,
    lastSeen: 0,
    rsvpCount: rsvps,
    yesCount: rsvps,
    topics: topics.map(([key, name]) => ({ key, name })),
  }));
}

describe("buildClusters", () => {
  const world = [
    ...venues(
      37.77,
      -122.42,
      [
        ["python", "Python"],
        ["newintown", "New In Town"],
      ],
      9,
      10,
    ),
    ...venues(
      39.74,
      -104.98,
      [
        ["hiking", "Hiking"],
        ["newintown", "New In Town"],
      ],
      9,
      6,
    ),
    ...venues(
      40.71,
      -74.01,
      [
        ["newintown", "New In Town"],
        ["nightlife", "Nightlife"],
      ],
      9,
      8,
    ),
    {
      id: 999,
      name: "private",
      position: null,
      firstSeen: 0,
      lastSeen: 0,
      rsvpCount: 50,
      yesCount: 50,
      topics: [],
    },
  ];
  const document = buildClusters(world, CITIES, {
    kMin: 2,
    kMax: 6,
    seed: 1,
    labelCityPopulation: 100_000,
  });

  it("finds the three places, largest first, each labelled by its city and what stands out there", () => {
    expect(document.k).toBe(3);
    expect(document.clusters.map((c) => c.label)).toEqual([
      "San Francisco: Tech",
      "New York City: Social",
      "Denver: Outdoors",
    ]);
    expect(document.clusters.map((c) => [c.venues, c.rsvps])).toEqual([
      [9, 90],
      [9, 72],
      [9, 54],
    ]);
    expect(document.clusters[0]?.topTopics[0]?.key).toBe("python");
    expect(document.kScores.map((s) => s.k)).toEqual([2, 3, 4, 5, 6]);
  });

  it("reports venues without a position instead of dropping them silently", () => {
    expect(document.venuesClustered).toBe(27);
    expect(document.venuesWithoutPosition).toBe(1);
  });

  it("gives each cluster a centroid, a radius and a hull around its venues", () => {
    const sf = document.clusters[0];
    expect(sf?.centroid.lat).toBeCloseTo(37.77, 1);
    expect(sf?.radiusKm).toBeGreaterThan(0);
    expect(sf?.radiusKm).toBeLessThan(10);
    expect(sf?.hull.length).toBeGreaterThanOrEqual(4);
  });

  it("labels a place by what its RSVPs meet about, weighing each group by its own RSVPs", () => {
    // San Francisco's venues each host a JavaScript group (50 RSVPs) and a hiking group (1);
    // Denver's, a JavaScript group only. By the topic lists alone, San Francisco read as much
    // hiking as JavaScript, and hiking stood out against Denver: "San Francisco: Outdoors".
    const weighted = (list: Venue[], weights: [string, string, number][]) =>
      list.map((venue) => ({
        ...venue,
        topicWeights: weights.map(([key, name, weight]) => ({ key, name, weight })),
      }));
    const places = [
      ...weighted(
        venues(
          37.77,
          -122.42,
          [
            ["javascript", "JavaScript"],
            ["hiking", "Hiking"],
          ],
          9,
          51,
        ),
        [
          ["javascript", "JavaScript", 50],
          ["hiking", "Hiking", 1],
        ],
      ),
      ...weighted(venues(39.74, -104.98, [["javascript", "JavaScript"]], 9, 50), [
        ["javascript", "JavaScript", 50],
      ]),
    ];
    const labels = buildClusters(places, CITIES, {
      kMin: 2,
      kMax: 2,
      seed: 1,
      labelCityPopulation: 100_000,
    }).clusters.map((c) => c.label);
    expect(labels).toEqual(["San Francisco: Tech", "Denver: Tech"]);
  });

  it("copes with no venues and with a single one", () => {
    expect(buildClusters([], CITIES, { kMin: 2, kMax: 5, seed: 1 })).toMatchObject({
      k: 0,
      clusters: [],
    });
    const one = buildClusters(venues(-18.1, 178.4, [["hiking", "Hiking"]], 1, 3), CITIES, {
      kMin: 2,
      kMax: 5,
      seed: 1,
      labelCityPopulation: 50_000,
    });
    expect(one.clusters.map((c) => c.label)).toEqual(["Suva: Outdoors"]);
  });
});

describe("hullAround", () => {
  it("draws a hull across the antimeridian without wrapping around the world", () => {
    const points = [
      { lat: -17.5, lon: 179.5 },
      { lat: -18.5, lon: 179.5 },
      { lat: -17.5, lon: -179.5 },
      { lat: -18.5, lon: -179.5 },
      { lat: -18.0, lon: 179.9 },
    ];
    const hull = hullAround(points, { lat: -18, lon: 180 });
    expect(hull).toHaveLength(4);
    for (const [lon] of hull) expect(Math.abs(lon)).toBeGreaterThan(179);
  });

  it("draws no hull for a cluster with a member a quarter of the globe or more from its centre", () => {
    // Around (0, 0): within 90 degrees, a hull; a member at 90 or beyond (the tangent plane
    // holds only the hemisphere) leaves the cluster its dot alone, not a hull turned inside out.
    const near = [
      { lat: 10, lon: 10 },
      { lat: -10, lon: 10 },
      { lat: 0, lon: -89 },
    ];
    const centre = { lat: 0, lon: 0 };
    expect(hullAround(near, centre)).toHaveLength(3);
    expect(hullAround([...near, { lat: 0, lon: -90 }], centre)).toEqual([]);
    expect(hullAround([...near, { lat: 5, lon: 120 }], centre)).toEqual([]);
    expect(hullAround([...near, { lat: -89, lon: 179 }], { lat: 0, lon: 0 })).toEqual([]);
  });
});

describe("the place a cluster is named after", () => {
  const cities: City[] = [
    { name: "Atlanta", country: "us", lat: 33.749, lon: -84.388, population: 463_878 },
    { name: "Roswell", country: "us", lat: 34.023, lon: -84.362, population: 94_501 },
    { name: "Sandy Springs", country: "us", lat: 33.924, lon: -84.379, population: 105_703 },
    { name: "Chattanooga", country: "us", lat: 35.046, lon: -85.31, population: 181_099 },
    { name: "Athens", country: "us", lat: 33.961, lon: -83.378, population: 127_315 },
    { name: "San Francisco", country: "us", lat: 37.775, lon: -122.419, population: 864_816 },
    { name: "Oakland", country: "us", lat: 37.804, lon: -122.271, population: 419_267 },
    { name: "San Jose", country: "us", lat: 37.339, lon: -121.895, population: 1_026_908 },
    { name: "Suva", country: "fj", lat: -18.14, lon: 178.44, population: 77_366 },
  ];
  const options = { kMin: 2, kMax: 2, seed: 1 };
  const tech: [string, string][] = [["python", "Python"]];
  const hiking: [string, string][] = [["hiking", "Hiking"]];

  it("is the city most of its RSVPs are in, not the suburb its centroid falls nearest", () => {
    // A wide cluster around Atlanta whose RSVPs are mostly in its northern suburbs: its
    // weighted centroid lies 42 km north of downtown, 12 km from Roswell (94,501 people), which
    // won by population discounted by distance from the centroid. The suburbs' venues belong to
    // Sandy Springs, part of Atlanta's metro area.
    const atlanta = [
      ...venues(34.2, -84.33, hiking, 6, 10),
      ...venues(33.75, -84.39, hiking, 3, 10),
      ...venues(35.05, -85.31, hiking, 2, 5),
      ...venues(33.96, -83.38, hiking, 2, 5),
    ];
    const bayArea = [...venues(37.78, -122.42, tech, 6, 10), ...venues(37.34, -121.9, tech, 2, 10)];
    const document = buildClusters([...atlanta, ...bayArea], cities, options);
    expect(document.clusters.map((c) => c.label)).toEqual([
      "Atlanta: Outdoors",
      "San Francisco: Tech",
    ]);
  });

  it("names a second city that holds at least half as many RSVPs as the first", () => {
    const document = buildClusters(
      [
        ...venues(33.75, -84.39, hiking, 9, 10),
        ...venues(37.78, -122.42, tech, 6, 10),
        ...venues(37.34, -121.9, tech, 5, 10),
      ],
      cities,
      options,
    );
    expect(document.clusters.map((c) => c.label)).toEqual([
      "San Francisco–San Jose: Tech",
      "Atlanta: Outdoors",
    ]);
  });

  it("falls back to the city its centroid is known by when no venue is near one", () => {
    // 150 km from Suva, the only city of the islands.
    const document = buildClusters(
      [...venues(-17.2, 179.4, hiking, 3, 5), ...venues(33.75, -84.39, tech, 3, 5)],
      cities,
      { ...options, labelCityPopulation: 50_000 },
    );
    expect(document.clusters.map((c) => c.label).sort()).toEqual([
      "Atlanta: Tech",
      "Suva: Outdoors",
    ]);
  });
});
