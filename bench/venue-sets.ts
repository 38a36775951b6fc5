/**
 * Deterministic venue sets for the clustering benchmark: venues scattered around the world's
 * cities (the synthetic feed's gazetteer, cities of 50,000+ people, with the recorded feed's
 * country mix: us 65 %, ca 8 %, gb 6 %, au 5 %), weighted by RSVP counts, plus a share of
 * venues around the antimeridian (Fiji, Tonga, Samoa, Tuvalu, Chukotka, the Aleutians, the
 * Chatham Islands) so that clusters straddling 180° are part of every set.
 */
import { type GazetteerCity, loadCities } from "../local/feed/synthetic/gazetteer.js";
import { Random } from "../local/feed/synthetic/random.js";

export interface VenueSet {
  /** Unit vectors, x y z per venue. */
  vectors: Float64Array;
  /** RSVPs per venue (integers >= 1). */
  weights: Float64Array;
}

/** Centres (and spread, degrees) of the antimeridian areas; several straddle 180°. */
const ANTIMERIDIAN_AREAS = [
  { lat: -17.7, lon: 178.6, spread: 1.2 }, // Fiji: Viti Levu and Vanua Levu
  { lat: -16.8, lon: -179.9, spread: 0.6 }, // Fiji: Taveuni, across 180°
  { lat: -21.2, lon: -175.2, spread: 0.4 }, // Tonga
  { lat: -13.8, lon: -171.8, spread: 0.4 }, // Samoa
  { lat: -8.5, lon: 179.2, spread: 0.5 }, // Tuvalu
  { lat: 64.7, lon: 177.5, spread: 2.5 }, // Chukotka: Anadyr, across 180°
  { lat: 52.0, lon: -176.6, spread: 1.5 }, // the Aleutians
  { lat: -43.9, lon: -176.5, spread: 0.5 }, // the Chatham Islands
] as const;
const ANTIMERIDIAN_SHARE = 0.01;
/** Venues in a city's outskirts spread this many times wider than its core. */
const OUTSKIRTS_SHARE = 0.15;
const OUTSKIRTS_SPREAD = 8;

const DEG = Math.PI / 180;

export function venueSet(count: number, seed = "cluster-bench"): VenueSet {
  const random = Random.derive(seed, "venues", count);
  const { cities, cumulativeWeights } = loadCities();
  const vectors = new Float64Array(3 * count);
  const weights = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let lat: number;
    let lon: number;
    if (random.chance(ANTIMERIDIAN_SHARE)) {
      const area = random.pick(ANTIMERIDIAN_AREAS);
      lat = area.lat + random.gaussian() * area.spread;
      lon = area.lon + (random.gaussian() * area.spread) / Math.cos(area.lat * DEG);
    } else {
      const city = cities[random.weightedIndex(cumulativeWeights)] as GazetteerCity;
      // As the synthetic feed: larger cities spread wider (0.03° to about 0.1°).
      let spread = 0.03 + 0.02 * Math.log10(city.population / 50_000 + 1);
      if (random.chance(OUTSKIRTS_SHARE)) spread *= OUTSKIRTS_SPREAD;
      lat = Math.max(-89.9, Math.min(89.9, city.lat + random.gaussian() * spread));
      lon = city.lon + (random.gaussian() * spread) / Math.max(0.2, Math.cos(city.lat * DEG));
    }
    lon = ((((lon + 180) % 360) + 360) % 360) - 180;
    const phi = lat * DEG;
    const lambda = lon * DEG;
    vectors[3 * i] = Math.cos(phi) * Math.cos(lambda);
    vectors[3 * i + 1] = Math.cos(phi) * Math.sin(lambda);
    vectors[3 * i + 2] = Math.sin(phi);
    // RSVPs per venue: log-normal (median 3, a long tail of busy venues), at least 1.
    weights[i] = Math.max(1, Math.round(Math.exp(1.1 + 1.0 * random.gaussian())));
  }
  return { vectors, weights };
}
