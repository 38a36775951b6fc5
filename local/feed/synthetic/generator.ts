/**
 * The synthetic RSVP feed: an endless, deterministic (same seed, same messages) stream in the
 * exact Meetup message format, so a fresh clone can run the whole pipeline without any data.
 *
 * It has what the real feed had: cities weighted by population, groups with topics drawn from
 * per-city profiles, venues scattered around their city (some private, some at lat = lon = 0),
 * yes/no answers with guests, re-sent updates of an earlier rsvp_id with a newer mtime, member
 * names and photos (fake, for the ingest to drop), and a configurable share of malformed
 * messages of the kinds recorded in the wild.
 */
import { type GazetteerCity, loadCities } from "./gazetteer.js";
import { Random } from "./random.js";
import { cityTopicProfile, TOPIC_CATEGORIES } from "./topic-profiles.js";

export interface SyntheticFeedOptions {
  seed?: number | string;
  /** mtime of the first message, epoch ms. Default: 2026-01-01T00:00:00Z (fixed, for determinism). */
  startTime?: number;
  /** Mean gap between message mtimes, ms. */
  meanIntervalMs?: number;
  /** Share of messages that are malformed (0..1). */
  malformedShare?: number;
  /** Share of messages that re-send an earlier RSVP with a newer mtime (0..1). */
  updateShare?: number;
  /** Share of RSVPs without a venue (private or unset), as in the real feed. */
  noVenueShare?: number;
  /** Share of venues reported at lat = lon = 0. */
  zeroPositionShare?: number;
}

export type MalformedKind =
  | "truncated_json"
  | "python_repr"
  | "empty"
  | "not_an_object"
  | "missing_field"
  | "wrong_type"
  | "mtime_in_seconds";

export type SyntheticMessage =
  | { kind: "rsvp"; text: string; rsvpId: number; mtime: number }
  | { kind: "update"; text: string; rsvpId: number; mtime: number }
  /** A broken message; rsvpId and mtime are those of the message it was made from. */
  | { kind: "malformed"; malformed: MalformedKind; text: string; rsvpId: number; mtime: number };

const MALFORMED_KINDS: readonly MalformedKind[] = [
  "truncated_json",
  "python_repr",
  "empty",
  "not_an_object",
  "missing_field",
  "wrong_type",
  "mtime_in_seconds",
];

interface Venue {
  venue_name: string;
  lon: number;
  lat: number;
  venue_id: number;
}

interface Group {
  id: number;
  name: string;
  urlname: string;
  topics: { urlkey: string; topic_name: string }[];
  events: { id: string; name: string; time: number | undefined; venue: Venue | undefined }[];
}

interface CityWorld {
  city: GazetteerCity;
  groups: Group[];
  venues: Venue[];
}

const VENUE_KINDS = [
  "Library",
  "Coffee House",
  "Community Center",
  "Brewing Co.",
  "Park",
  "Coworking Space",
  "Public House",
  "Studio",
  "Hall",
  "Café",
];
const EVENT_KINDS = [
  "Monthly Meetup",
  "Workshop",
  "Open Session",
  "Social Night",
  "Talk & Drinks",
  "Weekend Outing",
  "Beginners' Night",
  "Study Group",
];
const FIRST_NAMES = [
  "Alex",
  "Sam",
  "Jordan",
  "Taylor",
  "Robin",
  "Kim",
  "Noor",
  "Mika",
  "Lee",
  "Ana",
  "José",
  "Zoë",
];

/** An endless iterator of synthetic messages. */
export function* syntheticMessages(
  options: SyntheticFeedOptions = {},
): Generator<SyntheticMessage> {
  const seed = options.seed ?? 1;
  const meanIntervalMs = options.meanIntervalMs ?? 1000;
  const malformedShare = options.malformedShare ?? 0.02;
  const updateShare = options.updateShare ?? 0.08;
  const noVenueShare = options.noVenueShare ?? 0.16;
  const zeroPositionShare = options.zeroPositionShare ?? 0.01;
  const random = Random.derive(seed, "feed");
  const { cities, cumulativeWeights } = loadCities();
  const worlds = new Map<number, CityWorld>();
  const recent: Record<string, unknown>[] = [];
  let mtime = options.startTime ?? Date.UTC(2026, 0, 1);
  let nextRsvpId = 1_700_000_000 + random.int(0, 99_999);

  const worldOf = (city: GazetteerCity): CityWorld => {
    let world = worlds.get(city.id);
    if (!world) {
      world = buildCityWorld(seed, city, mtime);
      worlds.set(city.id, world);
    }
    return world;
  };

  for (;;) {
    mtime += Math.max(1, Math.round(random.exponential(meanIntervalMs)));
    const previous =
      recent.length > 0 && random.chance(updateShare) ? random.pick(recent) : undefined;
    let message: Record<string, unknown>;
    let kind: "rsvp" | "update";
    if (previous) {
      message = structuredClone(previous);
      message.mtime = mtime;
      if (random.chance(0.6)) message.response = message.response === "yes" ? "no" : "yes";
      else message.guests = random.int(0, 2);
      kind = "update";
    } else {
      const world = worldOf(cities[random.weightedIndex(cumulativeWeights)] as GazetteerCity);
      message = newRsvp(random, world, nextRsvpId++, mtime, noVenueShare, zeroPositionShare);
      kind = "rsvp";
    }
    recent.push(message);
    if (recent.length > 2000) recent.splice(0, recent.length - 1000);

    if (random.chance(malformedShare)) {
      const malformed = random.pick(MALFORMED_KINDS);
      yield {
        kind: "malformed",
        malformed,
        text: corrupt(random, message, malformed),
        rsvpId: message.rsvp_id as number,
        mtime,
      };
    } else {
      yield { kind, text: JSON.stringify(message), rsvpId: message.rsvp_id as number, mtime };
    }
  }
}

/** An endless iterator of the messages' text, one per WebSocket frame or JSONL line. */
export function* syntheticLines(options: SyntheticFeedOptions = {}): Generator<string> {
  for (const message of syntheticMessages(options)) yield message.text;
}

function buildCityWorld(seed: number | string, city: GazetteerCity, now: number): CityWorld {
  const random = Random.derive(seed, "city", city.id);
  const profile = cityTopicProfile(seed, city);
  let running = 0;
  const cumulativeProfile = profile.map((weight) => (running += weight));
  // Larger cities spread wider and have more venues and groups.
  const spreadDegrees = 0.03 + 0.02 * Math.log10(city.population / 50_000 + 1);
  const venueCount = 4 + Math.round(4 * Math.log10(city.population / 10_000));
  const venues: Venue[] = Array.from({ length: venueCount }, (_, index) => ({
    venue_name: `${city.name} ${random.pick(VENUE_KINDS)}${index % 3 === 0 ? ` ${index + 1}` : ""}`,
    lon: round6(
      city.lon +
        (random.gaussian() * spreadDegrees) / Math.max(0.2, Math.cos((city.lat * Math.PI) / 180)),
    ),
    lat: round6(Math.max(-89.9, Math.min(89.9, city.lat + random.gaussian() * spreadDegrees))),
    venue_id: 10_000_000 + (city.id % 100_000) * 100 + index,
  }));
  const groupCount = 8 + Math.round(8 * Math.log10(city.population / 10_000));
  // Systematic sampling: each category gets its profile's share of the groups, within one.
  const total = cumulativeProfile[cumulativeProfile.length - 1] ?? 1;
  const offset = random.next();
  const groups: Group[] = Array.from({ length: groupCount }, (_, index) => {
    const position = ((index + offset) / groupCount) * total;
    const category =
      TOPIC_CATEGORIES[cumulativeProfile.findIndex((running) => running > position)] ??
      TOPIC_CATEGORIES[0];
    if (!category) throw new Error("no topic categories");
    const noun = random.pick(category.groupNouns);
    const topics = shuffled(random, category.topics).slice(
      0,
      random.int(3, category.topics.length),
    );
    const name = `${city.name} ${noun} ${random.pick(["Meetup", "Group", "Club", "Society", "Collective"])}`;
    const id = 20_000_000 + (city.id % 100_000) * 100 + index;
    return {
      id,
      name,
      urlname: `${name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}-${index}`,
      topics,
      events: Array.from({ length: random.int(2, 5) }, (_, eventIndex) => ({
        id: String(250_000_000 + (id % 1_000_000) * 10 + eventIndex),
        name: `${noun}: ${random.pick(EVENT_KINDS)}`,
        time: random.chance(0.97) ? now + random.int(1, 30) * 86_400_000 : undefined,
        venue: random.pick(venues),
      })),
    };
  });
  return { city, groups, venues };
}

function newRsvp(
  random: Random,
  world: CityWorld,
  rsvpId: number,
  mtime: number,
  noVenueShare: number,
  zeroPositionShare: number,
): Record<string, unknown> {
  const group = random.pick(world.groups);
  const event = random.pick(group.events);
  const memberId = random.int(10_000_000, 299_999_999);
  const venue = random.chance(noVenueShare)
    ? undefined
    : random.chance(zeroPositionShare) && event.venue
      ? { ...event.venue, lat: 0, lon: 0 }
      : event.venue;
  const { city } = world;
  return {
    ...(venue ? { venue } : {}),
    visibility: random.chance(0.95) ? "public" : "members",
    response: random.chance(0.82) ? "yes" : "no",
    guests: random.chance(0.9) ? 0 : random.int(1, 3),
    member: {
      member_id: memberId,
      member_name: `${random.pick(FIRST_NAMES)} Synthetic${memberId % 1000}`,
      ...(random.chance(0.5)
        ? { photo: `https://example.invalid/photos/member_${memberId}.jpeg` }
        : {}),
    },
    rsvp_id: rsvpId,
    mtime,
    event: {
      event_name: event.name,
      event_id: event.id,
      ...(event.time === undefined ? {} : { time: event.time }),
      event_url: `https://www.meetup.com/${group.urlname}/events/${event.id}/`,
    },
    group: {
      group_topics: group.topics,
      group_city: city.name,
      group_country: city.country,
      group_id: group.id,
      group_name: group.name,
      group_lon: round2(city.lon),
      group_urlname: group.urlname,
      ...(city.state ? { group_state: city.state } : {}),
      group_lat: round2(city.lat),
    },
  };
}

/** A broken version of `message`, of a kind met in recordings of the real feed. */
function corrupt(random: Random, message: Record<string, unknown>, kind: MalformedKind): string {
  const text = JSON.stringify(message);
  switch (kind) {
    case "truncated_json":
      return text.slice(0, random.int(1, text.length - 1));
    case "python_repr":
      return text.replaceAll('"', "'");
    case "empty":
      return "";
    case "not_an_object":
      return random.chance(0.5) ? `[${text}]` : JSON.stringify(`rsvp ${message.rsvp_id}`);
    case "missing_field": {
      const broken = structuredClone(message) as { group: Record<string, unknown> } & Record<
        string,
        unknown
      >;
      if (random.chance(0.5)) delete broken.rsvp_id;
      else delete broken.group.group_city;
      return JSON.stringify(broken);
    }
    case "wrong_type":
      return JSON.stringify({ ...message, rsvp_id: `id-${message.rsvp_id}` });
    case "mtime_in_seconds":
      return JSON.stringify({ ...message, mtime: Math.floor((message.mtime as number) / 1000) });
  }
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;
const round2 = (value: number) => Math.round(value * 100) / 100;
