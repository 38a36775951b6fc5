/**
 * From curated venues to the map's clusters (clusters.json): spherical k-means weighted by RSVP
 * count with k chosen by silhouette, then for every cluster its centroid, size, members, a hull
 * to draw, its characteristic topics and a label ("San Francisco–San Jose: Tech").
 */
import { distanceKm } from "../shared/geo.js";
import { CityIndex, PLACE_MIN_POPULATION, PLACE_RADIUS_KM } from "./city-index.js";
import {
  type City,
  clusterLabel,
  dominantCategory,
  metroCity,
  type RankedTopic,
  rankTopics,
  type WeightedTopics,
} from "./labels.js";
import { chooseK, toLatLon, toUnitVectors } from "./spherical-kmeans.js";
import { topicWeightsOf, type Venue } from "./venue-table.js";

export interface ClusterOptions {
  kMin: number;
  kMax: number;
  seed: number;
  /** The least population of a city a cluster is named after (100,000 unless given). */
  labelCityPopulation?: number;
}

export interface Cluster {
  id: number;
  label: string;
  category: string;
  centroid: { lat: number; lon: number };
  /** Distance from the centroid within which half of the cluster's RSVP weight lies, km. */
  radiusKm: number;
  venues: number;
  rsvps: number;
  topTopics: RankedTopic[];
  /** Convex hull of the member venues, counter-clockwise, [lon, lat] pairs (GeoJSON order). */
  hull: [number, number][];
}

export interface ClustersDocument {
  k: number;
  /** Silhouette of every k tried: why this k. */
  kScores: { k: number; silhouette: number }[];
  venuesClustered: number;
  /** Venues without a usable position: counted in no cluster, reported here. */
  venuesWithoutPosition: number;
  clusters: Cluster[];
}

/** A second place joins the name when it has at least this share of the first's RSVPs. */
const SECOND_PLACE_SHARE = 0.5;
/** A cluster with no venue near such a city: a cluster smaller than a metro area is still named after its metro area. */
const MIN_LABEL_SCALE_KM = 30;

/**
 * The place a cluster is known by: the city its venues belong to that has the most of its
 * RSVPs, and the next one too when that has at least half as many ("San Francisco–San Jose",
 * as metro areas are named). From the venues, not the centroid: a centroid can fall between
 * metros, or nearer a suburb than the city its RSVPs are in. Undefined when no venue is near a
 * city large enough.
 */
function placeOf(members: readonly Venue[], places: CityIndex): string | undefined {
  const rsvpsByCity = new Map<City, number>();
  for (const venue of members) {
    const city = places.metro(
      venue.position as { lat: number; lon: number },
      PLACE_RADIUS_KM,
      PLACE_RADIUS_KM / 2,
    );
    if (city) rsvpsByCity.set(city, (rsvpsByCity.get(city) ?? 0) + venue.rsvpCount);
  }
  const [first, second] = [...rsvpsByCity.entries()].sort(
    ([a, x], [b, y]) => y - x || b.population - a.population || a.name.localeCompare(b.name),
  );
  if (!first) return undefined;
  if (!second || second[1] < first[1] * SECOND_PLACE_SHARE || second[0].name === first[0].name)
    return first[0].name;
  return `${first[0].name}–${second[0].name}`;
}

export function buildClusters(
  venues: readonly Venue[],
  cities: readonly City[],
  options: ClusterOptions,
): ClustersDocument {
  const placed = venues.filter((venue) => venue.position !== null && venue.rsvpCount > 0);
  const base = {
    venuesClustered: placed.length,
    venuesWithoutPosition: venues.length - placed.length,
  };
  if (placed.length === 0) return { k: 0, kScores: [], ...base, clusters: [] };

  const points = placed.map((venue) => ({
    ...(venue.position as { lat: number; lon: number }),
    weight: venue.rsvpCount,
  }));
  const vectors = toUnitVectors(points);
  const weights = Float64Array.from(points, (p) => p.weight);
  const { result, scores } =
    placed.length < 3
      ? { result: undefined, scores: [] }
      : chooseK(vectors, weights, { kMin: options.kMin, kMax: options.kMax, seed: options.seed });
  const assignments = result?.assignments ?? new Int32Array(placed.length);
  const k = result?.k ?? 1;

  const labelCityPopulation = options.labelCityPopulation ?? PLACE_MIN_POPULATION;
  const places = new CityIndex(cities, labelCityPopulation);
  const global = topicWeights(placed);
  const clusters: Cluster[] = [];
  for (let c = 0; c < k; c++) {
    const members = placed.filter((_, i) => assignments[i] === c);
    if (members.length === 0) continue;
    const centroid = result
      ? toLatLon(
          result.centroids[3 * c] as number,
          result.centroids[3 * c + 1] as number,
          result.centroids[3 * c + 2] as number,
        )
      : meanPosition(members);
    const topics = topicWeights(members);
    const category = dominantCategory(topics, global);
    clusters.push({
      id: c,
      label: clusterLabel(
        placeOf(members, places) ??
          metroCity(
            centroid,
            cities,
            Math.max(weightedMedianDistance(members, centroid), MIN_LABEL_SCALE_KM),
            labelCityPopulation,
          )?.name,
        category,
      ),
      category,
      centroid,
      radiusKm: weightedMedianDistance(members, centroid),
      venues: members.length,
      rsvps: members.reduce((sum, v) => sum + v.rsvpCount, 0),
      topTopics: rankTopics(topics, global, 5),
      hull: hullAround(
        members.map((v) => v.position as { lat: number; lon: number }),
        centroid,
      ),
    });
  }
  clusters.sort((a, b) => b.rsvps - a.rsvps || a.id - b.id);
  return {
    k,
    kScores: scores,
    ...base,
    clusters: clusters.map((cluster, id) => ({ ...cluster, id })),
  };
}

function topicWeights(venues: readonly Venue[]): WeightedTopics {
  const topics = new Map<string, { name: string; weight: number }>();
  let total = 0;
  for (const venue of venues) {
    total += venue.rsvpCount;
    for (const topic of topicWeightsOf(venue)) {
      const entry = topics.get(topic.key) ?? { name: topic.name, weight: 0 };
      entry.weight += topic.weight;
      topics.set(topic.key, entry);
    }
  }
  return { topics, total };
}

function meanPosition(venues: readonly Venue[]): { lat: number; lon: number } {
  const v = toUnitVectors(
    venues.map((venue) => ({ ...(venue.position as { lat: number; lon: number }), weight: 1 })),
  );
  let x = 0;
  let y = 0;
  let z = 0;
  venues.forEach((venue, i) => {
    x += (v[3 * i] as number) * venue.rsvpCount;
    y += (v[3 * i + 1] as number) * venue.rsvpCount;
    z += (v[3 * i + 2] as number) * venue.rsvpCount;
  });
  return toLatLon(x, y, z);
}

function weightedMedianDistance(
  members: readonly Venue[],
  centre: { lat: number; lon: number },
): number {
  const distances = members
    .map((venue) => ({
      km: distanceKm(centre, venue.position as { lat: number; lon: number }),
      weight: venue.rsvpCount,
    }))
    .sort((a, b) => a.km - b.km);
  const half = distances.reduce((sum, d) => sum + d.weight, 0) / 2;
  let running = 0;
  for (const d of distances) {
    running += d.weight;
    if (running >= half) return Math.round(d.km * 10) / 10;
  }
  return 0;
}

/**
 * Convex hull drawn around the centroid: points are projected onto the plane tangent to the
 * sphere at the centroid (gnomonic), hulled there (monotone chain), and projected back, so a
 * cluster across the antimeridian gets a hull that does not wrap around the world. The plane
 * holds only the hemisphere around the centroid (a point 90 degrees away projects to infinity,
 * one further away to the wrong side), so a cluster with a member that far has no hull (none:
 * drawn as its dot alone, as a cluster of fewer than three places is): an outline of a
 * hemisphere's size would say nothing anyway. It takes a member with no cluster centre within
 * 90 degrees: a world-wide feed with few clusters, say, never the US one.
 */
export function hullAround(
  points: readonly { lat: number; lon: number }[],
  centre: { lat: number; lon: number },
): [number, number][] {
  const rad = Math.PI / 180;
  const lat0 = centre.lat * rad;
  const lon0 = centre.lon * rad;
  const projected = points.map((p) => {
    const lat = p.lat * rad;
    const dLon = p.lon * rad - lon0;
    const cosC = Math.sin(lat0) * Math.sin(lat) + Math.cos(lat0) * Math.cos(lat) * Math.cos(dLon);
    const x = (Math.cos(lat) * Math.sin(dLon)) / cosC;
    const y =
      (Math.cos(lat0) * Math.sin(lat) - Math.sin(lat0) * Math.cos(lat) * Math.cos(dLon)) / cosC;
    return { x, y, p, cosC };
  });
  // cos of the angle from the centre: 0 at 90 degrees, though rounding leaves a member exactly
  // that far a tiny positive one; the margin (about 89.9999 degrees) takes it as the edge.
  if (projected.some((q) => !(q.cosC > 1e-6))) return [];
  const unique = [
    ...new Map(projected.map((q) => [`${q.x.toFixed(12)},${q.y.toFixed(12)}`, q])).values(),
  ].sort((a, b) => a.x - b.x || a.y - b.y);
  if (unique.length <= 2) return unique.map((q) => [q.p.lon, q.p.lat]);
  const cross = (
    o: (typeof unique)[number],
    a: (typeof unique)[number],
    b: (typeof unique)[number],
  ) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const chain = (ordered: typeof unique) => {
    const kept: typeof unique = [];
    for (const q of ordered) {
      for (;;) {
        const [a, b] = kept.slice(-2);
        if (kept.length < 2 || !a || !b || cross(a, b, q) > 0) break;
        kept.pop();
      }
      kept.push(q);
    }
    return kept;
  };
  const lower = chain(unique);
  const upper = chain([...unique].reverse());
  return [...lower.slice(0, -1), ...upper.slice(0, -1)].map((q) => [q.p.lon, q.p.lat]);
}
