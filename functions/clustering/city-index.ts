/**
 * Which gazetteer city a place belongs to, for the map's labels and cities.json alike, so the
 * two name a place the same way.
 */
import { distanceKm } from "../shared/geo.js";
import type { City } from "./labels.js";

/**
 * Where a venue is, for labels and cities.json alike: the city of at least PLACE_MIN_POPULATION
 * people it belongs to within PLACE_RADIUS_KM (metro, with half the radius as its scale).
 */
export const PLACE_RADIUS_KM = 50;
export const PLACE_MIN_POPULATION = 100_000;

/** The nearest-city search over a 1-degree grid: venues × thousands of cities stays linear. */
export class CityIndex {
  private readonly cells = new Map<string, City[]>();
  private readonly heads = new Map<City, City>();

  /**
   * Every city of `cities` tells which country a place is in (its nearest); those of at least
   * `minPopulation` people are the ones a place can belong to.
   */
  constructor(
    cities: readonly City[],
    private readonly minPopulation = 0,
  ) {
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

  /** The cities within `radiusKm` of `point`, with their distances. */
  private within(point: { lat: number; lon: number }, radiusKm: number) {
    const latCells = Math.ceil(radiusKm / 111);
    const cosLat = Math.max(
      Math.cos((Math.min(Math.abs(point.lat) + 1, 89.9) * Math.PI) / 180),
      1e-3,
    );
    const lonCells = Math.min(180, Math.ceil(radiusKm / (111 * cosLat)));
    const found: { city: City; km: number }[] = [];
    for (let dLat = -latCells; dLat <= latCells; dLat++) {
      for (let dLon = -lonCells; dLon <= lonCells; dLon++) {
        for (const city of this.cells.get(CityIndex.cell(point.lat + dLat, point.lon + dLon)) ??
          []) {
          const km = distanceKm(point, city);
          if (km <= radiusKm) found.push({ city, km });
        }
      }
    }
    return found;
  }

  /**
   * The city within `radiusKm` a place belongs to: the largest population discounted by
   * distance, population × exp(−(d / scaleKm)²) (a Brooklyn venue belongs to New York City, a
   * Roswell one to Atlanta), among the cities of at least `minPopulation` in the country of
   * the nearest city of any size: a metro area does not cross a border (an El Paso venue
   * belongs to El Paso, not to the larger Ciudad Juárez across the river; the nearest city is a
   * guess at the country, which can be wrong within a few kilometres of a border, where twin
   * cities' points lie close). A city gives way to the one its metro area is named after
   * (headOf: Sandy Springs to Atlanta, Oakland to San Francisco; San Jose, 68 km from San
   * Francisco, stays itself): city populations are of municipal boundaries, and a suburb near
   * a venue can outscore a city whose metro area holds millions.
   */
  metro(point: { lat: number; lon: number }, radiusKm: number, scaleKm: number): City | undefined {
    const found = this.within(point, radiusKm);
    let nearest: { city: City; km: number } | undefined;
    for (const candidate of found) if (!nearest || candidate.km < nearest.km) nearest = candidate;
    let best: City | undefined;
    let bestScore = 0;
    for (const { city, km } of found) {
      if (city.population < this.minPopulation || city.country !== nearest?.city.country) continue;
      const score = city.population * Math.exp(-((km / scaleKm) ** 2));
      if (score > bestScore) {
        best = city;
        bestScore = score;
      }
    }
    return best && this.headOf(best);
  }

  /**
   * The city `city`'s metro area is named after: the largest city of its country within
   * METRO_CORE_KM that is at least METRO_CORE_RATIO times its size, and that one's in turn (step
   * by step, so a suburb of a suburb reaches its city); itself when there is none. The ratio
   * keeps neighbouring cities of a size apart (Düsseldorf and Köln, Den Haag and Rotterdam).
   */
  private headOf(city: City): City {
    const known = this.heads.get(city);
    if (known) return known;
    let head = city;
    for (const { city: other } of this.within(city, METRO_CORE_KM)) {
      if (other.country !== city.country || other.population < this.minPopulation) continue;
      if (
        other.population >= METRO_CORE_RATIO * city.population &&
        other.population > head.population
      )
        head = other;
    }
    // Each step goes to a city at least twice as large: the chain ends.
    const result = head === city ? city : this.headOf(head);
    this.heads.set(city, result);
    return result;
  }
}

/** How far from a larger city a city is part of its metro area: its core, not its commuter belt. */
const METRO_CORE_KM = 40;
/** How much larger that city must be: a suburb, not a neighbour of a size. */
const METRO_CORE_RATIO = 2;
