/**
 * The small files the render step publishes next to the map: run.json (what the latest run
 * covered and how long it took) and a first index.html, a minimal page showing map.png until
 * the website proper replaces it. Every piece of data in the page is HTML-escaped; it has no
 * script. It is written once (the site's own page replaces it), so it names the run it came with
 * as such and leaves the rest to run.json.
 */
import type { ClusteringSummary } from "../shared/batch-contract.js";
import { dateRange } from "../shared/map/captions.js";

export interface RunDocument {
  range: string;
  dates: ClusteringSummary["dates"];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  counts: {
    venues: number;
    venuesClustered: number;
    venuesWithoutPosition: number;
    rsvps: number;
    clusters: number;
  };
}

/**
 * Which run a published file is of: the run's start, as ISO-8601 UTC. run.json says it, and so
 * does the clusters.json published beside it (render-site.ts).
 */
export const runStartedAt = (startedAt: string): string =>
  new Date(Date.parse(startedAt)).toISOString();

export function runDocument(
  run: { range: string; startedAt: string; clustering: ClusteringSummary },
  finishedAt: Date,
): RunDocument {
  const { clustering } = run;
  const started = Date.parse(run.startedAt);
  return {
    range: run.range,
    dates: clustering.dates,
    startedAt: runStartedAt(run.startedAt),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.max(0, Math.round((finishedAt.getTime() - started) / 100) / 10),
    counts: {
      venues: clustering.venues,
      venuesClustered: clustering.venuesClustered,
      venuesWithoutPosition: clustering.venuesWithoutPosition,
      rsvps: clustering.rsvps,
      clusters: clustering.clusters,
    },
  };
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe in HTML content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/**
 * The map for people who cannot see it. The page is written once and the map redrawn every
 * day, so this describes what any day's map shows, not one run's clusters.
 */
export const MAP_ALT_TEXT =
  "World map of where Meetup RSVPs cluster: each cluster's area shaded in its colour, a dot at its centre sized by its RSVPs, its name (city and leading topic category), and a legend of all clusters with their RSVP counts.";

/**
 * The first index.html's only style, the same for every run: the site's CloudFront response
 * headers allow an inline style by its hash alone (style-src 'self' 'sha256-...' in
 * template.yaml, pinned by a test), so it may not vary with the page.
 */
export const FALLBACK_PAGE_CSS = `
body { margin: 0 auto; max-width: 100rem; padding: 1rem; font-family: system-ui, sans-serif; color: #1f2a36; background: #fbfaf7; }
img { display: block; max-width: 100%; height: auto; }
`;

/** The first index.html: the map, what it shows, and links to the data files. */
export function indexHtml(page: {
  range: string;
  dates: ClusteringSummary["dates"];
  width: number;
  height: number;
}): string {
  const dates = escapeHtml(dateRange(page.dates) ?? "no dates");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rsvp-atlas: where Meetup RSVPs cluster</title>
<style>${FALLBACK_PAGE_CSS}</style>
</head>
<body>
<main>
<h1>Where Meetup RSVPs cluster</h1>
<figure>
<img src="map.png" width="${page.width}" height="${page.height}" alt="${escapeHtml(MAP_ALT_TEXT)}">
<figcaption>The daily batch redraws this map after every run. First published with the run of ${dates} (range ${escapeHtml(page.range)}).</figcaption>
</figure>
<p>Data of the latest run: <a href="clusters.json">clusters.json</a>, <a href="cities.json">cities.json</a>, <a href="run.json">run.json</a>.</p>
</main>
</body>
</html>
`;
}
