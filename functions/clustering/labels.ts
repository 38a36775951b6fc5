/**
 * What a cluster of venues is about, and where it is: "San Francisco: Tech".
 *
 * - Topics are ranked by TF-IDF against the global mix: a topic's share of the cluster's RSVP
 *   weight times log(1 / its share of all RSVP weight), so a topic that is everywhere
 *   ("Social", "New In Town") does not win everywhere.
 * - The category is the one with the most RSVP weight in the cluster relative to its global
 *   share (the same idea, by category).
 * - The place is the city most of the cluster's RSVPs are in (build-clusters.ts, placeOf), or
 *   for a cluster far from any, the city its centroid is known by (metroCity).
 */
import { distanceKm } from "../shared/geo.js";

export interface TopicCategoryRule {
  category: string;
  /**
   * Matched against the topic's key and name, lowercased, by whole words: each alternative is
   * anchored at a word's start and end (a stem, ending in `*`, may go on), since a stem matched
   * anywhere put "parties" and "smartphones" under Arts ("art"), "fundraising" under Social
   * ("fun") and "political-campaigns" under Outdoors ("camp").
   */
  pattern: RegExp;
}

/**
 * A rule's pattern: each alternative (a regex) as a whole word or words of the text, or as a
 * word's start where it ends in `*` ("hik*": hiking), or its end where it begins with `*`
 * ("*yoga": acroyoga), or anywhere in a word with both. Letters and digits make words; "-", "_"
 * and spaces part them.
 */
function words(...alternatives: string[]): RegExp {
  const WORD_CHAR = "[\\p{L}\\p{N}]";
  const body = alternatives
    .map((alternative) => {
      const start = alternative.startsWith("*") ? `${WORD_CHAR}*` : "";
      const end = alternative.endsWith("*") ? `${WORD_CHAR}*` : "";
      return `${start}(?:${alternative.replace(/^\*|\*$/g, "")})${end}`;
    })
    .join("|");
  return new RegExp(`(?<!${WORD_CHAR})(?:${body})(?!${WORD_CHAR})`, "u");
}

/**
 * Topic categories by keyword. Meetup topics are free-form (thousands of keys), so categories
 * are assigned by what their key or name says; the first matching rule wins. Short or common
 * stems match whole words only ("art" is not in "parties", "fun" not in "fundraising", "camp"
 * not in "campaigns"); stems that compounds end in match there too ("*yoga*", "*music*").
 */
export const TOPIC_CATEGORY_RULES: readonly TopicCategoryRule[] = [
  {
    category: "Tech",
    pattern: words(
      "tech",
      "techies?",
      "technical",
      "*technolog*",
      "fintech",
      "edtech",
      "high[-_ ]tech",
      "biotech*",
      "software*",
      "programm*",
      "python*",
      "javascript",
      "typescript",
      "coffeescript",
      "java",
      "data*",
      "*databases?",
      "machine[-_ ]learning",
      "ai",
      "artificial",
      "cloud*",
      "devops",
      "web*",
      "*developers?",
      "linux",
      "redux",
      "cod(e|ing|ers?)",
      "blockchains?",
      "crypto*",
      "startups?",
      "*security",
      "cyber*",
      "ux",
      "product",
      "open[-_ ]?source",
      "nosql",
      "deep[-_ ]learning",
      "machine[-_ ]intelligence",
      "algorithms?",
      "mobile[-_ ](development|developers?|apps?)",
      "predictive[-_ ]analytics",
      "agile[-_ ](coaching|development|software|project[-_ ]management|methodolog(y|ies))",
      "ethereum",
      "bitcoin",
      "(digital|virtual|crypto)[-_ ]?currenc(y|ies)",
      "smart[-_ ]contracts?",
      "html5?",
      "node[-_ ]?js",
      "hadoop",
      "hack(ing|ers?|athons?)",
      "arduino",
      "robot*",
      "electronics",
      "makerspaces?",
      "decentrali[sz]*",
      "docker",
      "css",
      "ios",
      "scrum",
      "kanban",
      "sysadmin",
      "virtuali[sz]ation",
      "internet[-_ ]of[-_ ]things",
      "iot",
      "[pi]aas",
      "3d[-_ ]print*",
      "front[-_ ]?end",
      "back[-_ ]?end",
      "*computing",
    ),
  },
  // Before Social: social media and social enterprise are business.
  {
    category: "Business",
    pattern: words("social[-_ ]media*", "social[-_ ]entrepreneur*", "social[-_ ]enterprises?"),
  },
  // Before Business: "Social Networking" is social, "Professional Networking" business.
  {
    category: "Social",
    pattern: words(
      "social*",
      "*friends?",
      "*friendships?",
      "singles",
      "newintown",
      "new[-_ ]in[-_ ]town",
      "nightlife",
      "fun",
      "meet[-_ ]new",
      "expats?",
      "20s",
      "30s",
      "dating*",
      "relationships?",
      "girls?[-_ ]night*",
      "local[-_ ]activities",
      "exchange[-_ ]?stud*",
      "clubbing",
      // A political party is not a social one.
      "(?<!(democratic|republican|libertarian|political|green|tea)[-_ ])part(y|ies|ying)",
    ),
  },
  {
    category: "Business",
    pattern: words(
      "business*",
      "entrepreneur*",
      "marketing",
      "invest*",
      "real[-_ ]estate",
      "financ*",
      "careers?",
      "professional*",
      "network*",
      "sales",
      "leadership*",
      "stocks?",
      "public[-_ ]?speaking",
      "impromptu[-_ ]speaking",
      "toastmasters",
      "presentations?",
      "communication[-_ ]skills",
      "project[-_ ]management",
    ),
  },
  // Before Arts: "Mixed Martial Arts" is a sport.
  {
    category: "Sports",
    pattern: words(
      "sports?",
      "*sports",
      "*tennis",
      "*volleyball",
      "*soccer",
      "badminton",
      "basketball",
      "softball",
      "kickball",
      "golf*",
      "martial[-_ ]arts",
      "frisbee",
      "bowling",
      "pickleball",
      "football",
      "rugby",
      "hockey",
      "baseball",
      "cricket",
      "squash",
      "ping[-_ ]?pong",
      "swim*",
    ),
  },
  {
    category: "Outdoors",
    pattern: words(
      "*hik(e|es|ing|ers?)",
      "outdoor*",
      "camping",
      "campers?",
      "cycl*",
      "bicycl*",
      "motorcycl*",
      "*bik(e|es|ing|ers?)*",
      "*climb*",
      "kayak*",
      "backpack*",
      "trails?",
      "ski",
      "*skiing",
      "skiers?",
      "surf*",
      "(wind|kite|body)surf*",
      "sail*",
      "adventur*",
      "nature",
      "mountain*",
      "*boarding",
      "paddl*",
      "rafting",
      "fishing",
      "snowshoe*",
      "canoe*",
    ),
  },
  {
    category: "Travel",
    pattern: words(
      "*travel*",
      "trips?",
      "daytrips?",
      "vacations?",
      "cruis*",
      "crusing",
      "getaways?",
    ),
  },
  {
    category: "Wellness",
    pattern: words(
      "*yoga*",
      "meditat*",
      "*fitness",
      "wellness",
      "mindful*",
      "nutrition*",
      "running",
      "runners?",
      "health*",
      "self[-_ ]improvement",
      "spiritual*",
      "healing",
      "boot[-_ ]?camps?",
      "workouts?",
      "pilates",
      "exc?ercis(e|es|ing)",
      "weight[-_ ]?loss",
      "(?<!movie[-_ ])marathons?",
      "halfmarathons?",
      "stress*",
      "self[-_ ](empowerment|exploration|help|development|discovery)",
      "*empowerment",
      "personal[-_ ](development|growth)",
      "life[-_ ]?transform*",
      "consciousness",
      "metaphysic*",
      "alternative[-_ ](medicine|healing)",
      "reiki",
      "law[-_ ]?of[-_ ]?attraction",
    ),
  },
  // Before Arts: "Craft Beer" is a drink, not a craft.
  {
    category: "Food & Drink",
    pattern: words(
      "food*",
      "wine*",
      "*beers?",
      "cook*",
      "dining",
      "coffee",
      "restaurants?",
      "brew*",
      "homebrew*",
      "cocktails?",
      "vegan*",
      "dinners?",
      "brunch*",
      "vegetarian*",
      "eating",
      "drinking",
      // A pub quiz is a game.
      "pubs?(?![-_ ](quiz|trivia))",
      "bars",
    ),
  },
  {
    category: "Arts",
    pattern: words(
      "photo*",
      "writ*",
      "*writers?",
      "film*",
      "theat*",
      "paint*",
      "arts?",
      "artists?",
      "artistic*",
      "*music*",
      "danc*",
      "poetry",
      "books?",
      "*book[-_ ]?clubs?",
      "crafts?",
      "crafting",
      "design*",
      "singers?",
      "singing",
      "choir*",
      "comedy",
      "improv",
      "movies?",
      "movie[-_ ]nights?",
      "cinema",
      "sci[-_ ]?fi*",
      "fiction",
      "literat*",
      "authors?",
      "reading",
      "readers?",
      "short[-_ ]stories",
      "draw(ing)?",
      "creativ*",
      "concerts?",
      "jazz",
      "salsa",
      "critique*",
      "karaoke",
      "museums?",
      "sketch*",
      "knit*",
      "guitar*",
      "blues",
      "story[-_ ]?tell*",
      "fashion*",
    ),
  },
  {
    category: "Language",
    pattern: words(
      "languages?",
      "spanish",
      "french",
      "german",
      "english",
      "esl",
      "italian*",
      "espa[ñn]ol",
      "japanese",
      "chinese",
      "russian",
      "portuguese",
      "korean",
      "mandarin",
      "culture[-_ ]exchange",
      "*cultural[-_ ]exchange",
    ),
  },
  {
    category: "Learning",
    pattern: words(
      "philosoph*",
      "science*",
      "history",
      "critical[-_ ]thinking",
      "skeptic*",
      "intellectual*",
      "psycholog*",
      "learning",
      "knowledge*",
      "*discussions?",
      "relig*",
      "beliefs?",
      "atheis*",
      "lectures?",
      "debat*",
    ),
  },
  {
    category: "Games",
    pattern: words(
      "*games?",
      "*gaming",
      "gamers?",
      "chess",
      "trivia",
      "quiz*",
      "tabletop",
      "rpgs?",
      "puzzles?",
      "dnd",
      "dungeons",
      "catan",
    ),
  },
  // Last: a walk is outdoors unless it is for something named above ("Walking for Fitness",
  // "Photo Walks").
  { category: "Outdoors", pattern: words("walk(s|ers?|ing)?") },
  // Last: whom a group is for says less than what it does ("Lesbian Adventurers" go outdoors,
  // "Gay Professionals" network); a conversation or a happy hour, less than its subject.
  {
    category: "Social",
    pattern: words(
      "happy[-_ ]hours?",
      "conversations?",
      "lgbt*",
      "gay",
      "lesbians?",
      "baby[-_ ]?boomers?",
      "community*",
      "volunteer*",
      "couples",
      "over[-_ ]?(40|50|60)s?",
      "*seniors",
      "kids",
      "families",
    ),
  },
];

export function topicCategory(topic: { key: string; name: string }): string {
  const text = `${topic.key} ${topic.name}`.toLowerCase();
  return TOPIC_CATEGORY_RULES.find((rule) => rule.pattern.test(text))?.category ?? "Other";
}

export interface WeightedTopics {
  /** RSVP weight per topic key in the cluster. */
  topics: Map<string, { name: string; weight: number }>;
  total: number;
}

export interface RankedTopic {
  key: string;
  name: string;
  /** Share of the cluster's RSVP weight with this topic. */
  share: number;
  score: number;
}

/** TF-IDF against the global mix; ties broken by key so the order is stable. */
export function rankTopics(
  cluster: WeightedTopics,
  global: WeightedTopics,
  limit = 5,
): RankedTopic[] {
  const ranked: RankedTopic[] = [];
  for (const [key, { name, weight }] of cluster.topics) {
    const share = cluster.total > 0 ? weight / cluster.total : 0;
    const globalShare =
      global.total > 0 ? (global.topics.get(key)?.weight ?? weight) / global.total : 1;
    ranked.push({ key, name, share, score: share * Math.log(1 / Math.max(globalShare, 1e-12)) });
  }
  return ranked.sort((a, b) => b.score - a.score || a.key.localeCompare(b.key)).slice(0, limit);
}

/** The category whose share of the cluster most exceeds its global share (a lift, at least 1). */
export function dominantCategory(cluster: WeightedTopics, global: WeightedTopics): string {
  const byCategory = (topics: WeightedTopics) => {
    const totals = new Map<string, number>();
    for (const [key, { name, weight }] of topics.topics) {
      const category = topicCategory({ key, name });
      totals.set(category, (totals.get(category) ?? 0) + weight);
    }
    return totals;
  };
  const clusterTotals = byCategory(cluster);
  const globalTotals = byCategory(global);
  const clusterSum = [...clusterTotals.values()].reduce((a, b) => a + b, 0);
  const globalSum = [...globalTotals.values()].reduce((a, b) => a + b, 0);
  let best = "Other";
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const [category, weight] of clusterTotals) {
    if (category === "Other") continue;
    const share = weight / clusterSum;
    const lift = share / Math.max((globalTotals.get(category) ?? weight) / globalSum, 1e-12);
    // The share keeps a rare category with two RSVPs from beating the cluster's real character.
    const score = share * Math.log(1 + lift);
    if (score > bestScore || (score === bestScore && category < best)) {
      best = category;
      bestScore = score;
    }
  }
  return best;
}

export interface City {
  name: string;
  country: string;
  lat: number;
  lon: number;
  population: number;
}

/** The nearest city of at least `minPopulation` to `point`. */
export function nearestLargeCity(
  point: { lat: number; lon: number },
  cities: readonly City[],
  minPopulation = 300_000,
): City | undefined {
  let best: City | undefined;
  let bestKm = Number.POSITIVE_INFINITY;
  for (const city of cities) {
    if (city.population < minPopulation) continue;
    const km = distanceKm(point, city);
    if (km < bestKm) {
      best = city;
      bestKm = km;
    }
  }
  return best;
}

/**
 * The city a place is known by: the one with the largest population discounted by distance,
 * population × exp(−(d / scaleKm)²). The nearest city is often a suburb or a borough (Brent
 * for a London cluster, Oakland for the Bay Area); the largest city of a wide radius can be
 * another metro entirely. The Gaussian keeps a big city winning within about one scale and a
 * near one beyond. Falls back to the nearest city when every candidate is far beyond the scale.
 */
export function metroCity(
  point: { lat: number; lon: number },
  cities: readonly City[],
  scaleKm: number,
  minPopulation = 50_000,
): City | undefined {
  let best: City | undefined;
  let bestScore = 0;
  for (const city of cities) {
    if (city.population < minPopulation) continue;
    const score = city.population * Math.exp(-((distanceKm(point, city) / scaleKm) ** 2));
    if (score > bestScore) {
      best = city;
      bestScore = score;
    }
  }
  return best ?? nearestLargeCity(point, cities, minPopulation);
}

export function clusterLabel(place: string | undefined, category: string): string {
  return `${place ?? "Unnamed"}: ${category}`;
}
