/**
 * cities.json: what people meet about in the cities with the most RSVPs. Every venue belongs to
 * the gazetteer city it is known by within a radius (CityIndex.metro: a metro area, not a
 * municipal boundary, so Brooklyn counts for New York City); a city's categories are the topic
 * categories of its venues' groups, weighted by RSVPs, as shares of the city's categorised
 * weight.
 */
import { CityIndex, PLACE_MIN_POPULATION, PLACE_RADIUS_KM } from "./city-index.js";
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
  /** How venues were attributed: to the city of at least `minPopulation` within `radiusKm` each belongs to (CityIndex.metro). */
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

export function cityTopics(
  venues: readonly Venue[],
  gazetteer: readonly City[],
  options: CityTopicsOptions = {},
): CitiesDocument {
  const radiusKm = options.radiusKm ?? PLACE_RADIUS_KM;
  const minPopulation = options.minPopulation ?? PLACE_MIN_POPULATION;
  const index = new CityIndex(gazetteer, minPopulation);
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
