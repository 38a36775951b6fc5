/**
 * cities.json: what people meet about in the cities with the most RSVPs. Every venue belongs to
 * the gazetteer city it is known by within a radius (the largest population discounted by
 * distance: a metro area, not a municipal boundary, so Brooklyn counts for New York City); a city's categories are the topic categories of its venues' groups,
 * weighted by RSVPs, as shares of the city's categorised weight.
 */
import { distanceKm } from "../shared/geo.js";
import { type City, topicCategory } from "./labels.js";
import { topicWeightsOf, type Venue } from "./venue-table.js";

export interface CityCategory {
  category: string;
  /** Share of the city's RSVP weight over all its topics' categories, 0..1. */
  share: number;
}

export interface CityTopics {
  name: string;
  country: string;
  lat: number;
  lon: number;
  population: number;
  venues: number;
  rsvps: number;
  /** The leading categories, largest share first ("Other" never leads when anything else is there). */
  categories: CityCategory[];
  dominant: string;
}

export interface CitiesDocument {
  /** How venues were attributed: the nearest city of at least `minPopulation` within `radiusKm`. */
  radiusKm: number;
  minPopulation: number;
  /** Venues with a position but no such city near them (rural venues): counted here, in no city. */
  venuesOutsideCities: number;
  cities: CityTopics[];
}

export interface CityTopicsOptions {
  /** How many cities to list, most RSVPs first. */
  limit?: number;
  radiusKm?: number;
  minPopulation?: number;
  /** How many categories per city. */
  categories?: number;
}

/** The nearest-city search over a 1-degree grid: venues × thousands of cities stays linear. */
export class CityIndex {
  private readonly cells = new Map<string, City[]>();

  constructor(cities: readonly City[]) {
    for (const city of cities) {
      const key = CityIndex.cell(city.lat, city.lon);
      const list = this.cells.get(key);
      if (list) list.push(city);
      else this.cells.set(key, [city]);
    }
  }

  private static cell(lat: number, lon: number): string {
    return `${Math.floor(lat)},${Math.floor(((lon % 360) + 540) % 360) - 180}`;
  }

  /**
   * The city within `radiusKm` a place belongs to: the largest population discounted by
   * distance, as metroCity in labels.ts scores it (a Brooklyn venue belongs to New York City).
   */
  metro(point: { lat: number; lon: number }, radiusKm: number, scaleKm: number): City | undefined {
    const latCells = Math.ceil(radiusKm / 111) + 0;
    const cosLat = Math.max(
      Math.cos((Math.min(Math.abs(point.lat) + 1, 89.9) * Math.PI) / 180),
      1e-3,
    );
    const lonCells = Math.min(180, Math.ceil(radiusKm / (111 * cosLat)));
    let best: City | undefined;
    let bestScore = 0;
    for (let dLat = -latCells; dLat <= latCells; dLat++) {
      for (let dLon = -lonCells; dLon <= lonCells; dLon++) {
        const candidates = this.cells.get(CityIndex.cell(point.lat + dLat, point.lon + dLon));
        for (const city of candidates ?? []) {
          const km = distanceKm(point, city);
          const score = city.population * Math.exp(-((km / scaleKm) ** 2));
          if (km <= radiusKm && score > bestScore) {
            best = city;
            bestScore = score;
          }
        }
      }
    }
    return best;
  }
}

export function cityTopics(
  venues: readonly Venue[],
  gazetteer: readonly City[],
  options: CityTopicsOptions = {},
): CitiesDocument {
  const radiusKm = options.radiusKm ?? 50;
  const minPopulation = options.minPopulation ?? 100_000;
  const index = new CityIndex(gazetteer.filter((city) => city.population >= minPopulation));
  const byCity = new Map<
    City,
    { venues: number; rsvps: number; categories: Map<string, number> }
  >();
  let venuesOutsideCities = 0;
  for (const venue of venues) {
    if (venue.position === null || venue.rsvpCount <= 0) continue;
    const city = index.metro(venue.position, radiusKm, radiusKm / 2);
    if (!city) {
      venuesOutsideCities++;
      continue;
    }
    const entry = byCity.get(city) ?? { venues: 0, rsvps: 0, categories: new Map() };
    entry.venues++;
    entry.rsvps += venue.rsvpCount;
    for (const topic of topicWeightsOf(venue)) {
      const category = topicCategory(topic);
      entry.categories.set(category, (entry.categories.get(category) ?? 0) + topic.weight);
    }
    byCity.set(city, entry);
  }

  const cities = [...byCity.entries()]
    .sort(
      ([a, x], [b, y]) =>
        y.rsvps - x.rsvps || b.population - a.population || a.name.localeCompare(b.name),
    )
    .slice(0, options.limit ?? 30)
    .map(([city, entry]): CityTopics => {
      const total = [...entry.categories.values()].reduce((sum, weight) => sum + weight, 0);
      const ranked = [...entry.categories.entries()]
        .map(([category, weight]) => ({ category, share: total > 0 ? weight / total : 0 }))
        .sort(
          (a, b) =>
            Number(a.category === "Other") - Number(b.category === "Other") ||
            b.share - a.share ||
            a.category.localeCompare(b.category),
        );
      return {
        name: city.name,
        country: city.country,
        lat: city.lat,
        lon: city.lon,
        population: city.population,
        venues: entry.venues,
        rsvps: entry.rsvps,
        categories: ranked
          .slice(0, options.categories ?? 3)
          .map(({ category, share }) => ({ category, share: Math.round(share * 1000) / 1000 })),
        dominant: ranked[0]?.category ?? "Other",
      };
    });
  return { radiusKm, minPopulation, venuesOutsideCities, cities };
}
