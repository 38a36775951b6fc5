/**
 * What groups meet about, for the synthetic feed. Topics are grouped in categories; every city
 * gets a profile of category weights: a global mix, perturbed per city (seeded), with known
 * leanings of some well-known cities (tech in the Bay Area, outdoors in Denver), so that the
 * daily map has real differences to find and label.
 */
import { Random } from "./random.js";

export interface CatalogTopic {
  urlkey: string;
  topic_name: string;
}

export interface TopicCategory {
  name: string;
  /** Share of groups in an average city. */
  globalWeight: number;
  /** Nouns for group names ("Portland Python Meetup"). */
  groupNouns: string[];
  topics: CatalogTopic[];
}

const topic = (urlkey: string, topic_name: string): CatalogTopic => ({ urlkey, topic_name });

export const TOPIC_CATEGORIES: readonly TopicCategory[] = [
  {
    name: "Tech",
    globalWeight: 0.16,
    groupNouns: ["Python", "JavaScript", "Data Science", "Cloud", "AI", "DevOps", "Startup"],
    topics: [
      topic("softwaredev", "Software Development"),
      topic("python", "Python"),
      topic("javascript", "JavaScript"),
      topic("data-science", "Data Science"),
      topic("machine-learning", "Machine Learning"),
      topic("cloud-computing", "Cloud Computing"),
      topic("web-development", "Web Development"),
      topic("tech-startups", "Tech Startups"),
    ],
  },
  {
    name: "Outdoors",
    globalWeight: 0.13,
    groupNouns: ["Hiking", "Trail Runners", "Cycling", "Kayak", "Climbing", "Camping"],
    topics: [
      topic("hiking", "Hiking"),
      topic("outdoors", "Outdoors"),
      topic("camping", "Camping"),
      topic("cycling", "Cycling"),
      topic("rock-climbing", "Rock Climbing"),
      topic("kayaking", "Kayaking"),
      topic("backpacking", "Backpacking"),
    ],
  },
  {
    name: "Social",
    globalWeight: 0.15,
    groupNouns: ["New in Town", "Social Club", "20s & 30s", "Friends", "Singles"],
    topics: [
      topic("newintown", "New In Town"),
      topic("socialnetwork", "Social Networking"),
      topic("making-new-friends", "Making New Friends"),
      topic("singles", "Singles"),
      topic("fun-times", "Fun Times"),
      topic("nightlife", "Nightlife"),
    ],
  },
  {
    name: "Business",
    globalWeight: 0.12,
    groupNouns: ["Entrepreneurs", "Real Estate Investors", "Marketing", "Business Network"],
    topics: [
      topic("entrepreneurship", "Entrepreneurship"),
      topic("small-business", "Small Business"),
      topic("professional-networking", "Professional Networking"),
      topic("real-estate", "Real Estate"),
      topic("marketing", "Marketing"),
      topic("investing", "Investing"),
    ],
  },
  {
    name: "Wellness",
    globalWeight: 0.1,
    groupNouns: ["Yoga", "Meditation", "Fitness", "Mindfulness", "Running Club"],
    topics: [
      topic("yoga", "Yoga"),
      topic("meditation", "Meditation"),
      topic("fitness", "Fitness"),
      topic("mindfulness", "Mindfulness"),
      topic("nutrition", "Nutrition"),
      topic("running", "Running"),
    ],
  },
  {
    name: "Arts",
    globalWeight: 0.1,
    groupNouns: ["Photography", "Writers", "Film", "Theatre", "Painting", "Musicians"],
    topics: [
      topic("photo", "Photography"),
      topic("writing", "Writing"),
      topic("film", "Film"),
      topic("theater", "Theater"),
      topic("painting", "Painting"),
      topic("live-music", "Live Music"),
    ],
  },
  {
    name: "Language",
    globalWeight: 0.08,
    groupNouns: ["Language Exchange", "Spanish Conversation", "French Club", "English Practice"],
    topics: [
      topic("language-exchange", "Language Exchange"),
      topic("spanish", "Spanish Language"),
      topic("french", "French Language"),
      topic("esl", "English as a Second Language"),
      topic("culture-exchange", "Cultural Exchange"),
    ],
  },
  {
    name: "Games",
    globalWeight: 0.08,
    groupNouns: ["Board Games", "Chess", "Trivia", "Video Gamers", "Tabletop"],
    topics: [
      topic("board-games", "Board Games"),
      topic("chess", "Chess"),
      topic("trivia", "Trivia"),
      topic("video-games", "Video Games"),
      topic("tabletop-rpg", "Tabletop Role Playing Games"),
    ],
  },
  {
    name: "Food & Drink",
    globalWeight: 0.08,
    groupNouns: ["Foodies", "Wine Lovers", "Craft Beer", "Supper Club", "Cooking"],
    topics: [
      topic("foodie", "Foodie"),
      topic("wine", "Wine"),
      topic("craft-beer", "Craft Beer"),
      topic("cooking", "Cooking"),
      topic("dining-out", "Dining Out"),
    ],
  },
];

/** Known leanings (city name, country) → category multipliers. */
const LEANINGS: readonly { cities: string[]; country: string; boost: Record<string, number> }[] = [
  {
    cities: [
      "San Francisco",
      "San Jose",
      "Oakland",
      "Sunnyvale",
      "Santa Clara",
      "Mountain View",
      "Palo Alto",
      "Fremont",
      "Seattle",
      "Austin",
      "Boston",
      "Cambridge",
    ],
    country: "us",
    boost: { Tech: 4 },
  },
  { cities: ["Bengaluru", "Bangalore", "Hyderabad", "Pune"], country: "in", boost: { Tech: 4 } },
  { cities: ["Berlin"], country: "de", boost: { Tech: 2.5 } },
  { cities: ["Tel Aviv"], country: "il", boost: { Tech: 4 } },
  { cities: ["Toronto", "Waterloo"], country: "ca", boost: { Tech: 2 } },
  {
    cities: ["Denver", "Boulder", "Salt Lake City", "Colorado Springs", "Portland", "Boise"],
    country: "us",
    boost: { Outdoors: 3.5 },
  },
  { cities: ["Vancouver", "Calgary"], country: "ca", boost: { Outdoors: 3 } },
  { cities: ["Los Angeles", "Burbank", "Glendale"], country: "us", boost: { Arts: 3.5 } },
  { cities: ["New York City", "Chicago"], country: "us", boost: { Business: 2, Arts: 1.8 } },
  { cities: ["London"], country: "gb", boost: { Business: 2, Social: 1.5 } },
  { cities: ["Miami", "Las Vegas", "Houston"], country: "us", boost: { Business: 2.2 } },
  { cities: ["Madrid", "Barcelona", "Paris", "Tokyo"], country: "*", boost: { Language: 3.5 } },
  { cities: ["Sydney", "Melbourne", "Brisbane"], country: "au", boost: { Wellness: 2.2 } },
];

/** Category weights of one city: the global mix, lognormal noise, then known leanings. */
export function cityTopicProfile(
  seed: number | string,
  city: { id: number; name: string; country: string },
): number[] {
  const random = Random.derive(seed, "topic-profile", city.id);
  const weights = TOPIC_CATEGORIES.map(
    (category) => category.globalWeight * Math.exp(0.6 * random.gaussian()),
  );
  for (const leaning of LEANINGS) {
    if (!leaning.cities.includes(city.name)) continue;
    if (leaning.country !== "*" && leaning.country !== city.country) continue;
    TOPIC_CATEGORIES.forEach((category, index) => {
      weights[index] = (weights[index] ?? 0) * (leaning.boost[category.name] ?? 1);
    });
  }
  return weights;
}
