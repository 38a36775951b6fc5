/** Geography on the globe (a sphere of the Earth's mean radius): degrees in, kilometres out. */

/** The Earth's mean radius, km. */
const EARTH_RADIUS_KM = 6371;

/** Great-circle distance in km (haversine), right across the antimeridian and at the poles. */
export function distanceKm(
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
