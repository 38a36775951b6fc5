/**
 * What map.png's title strip and the page's map summary both say: the dates mapped and the
 * totals. Browser-safe: no Node module.
 */

const counts = new Intl.NumberFormat("en-US");

/** 14516 as "14,516". */
export function formatCount(value: number): string {
  return counts.format(value);
}

/** "2018-05-20", "2018-05-20 – 2018-05-26", or null when there are no dates. */
export function dateRange(
  dates: { first: string | null; last: string | null } | undefined,
): string | null {
  const first = dates?.first ?? null;
  const last = dates?.last ?? null;
  if (first && last) return first === last ? first : `${first} – ${last}`;
  return first ?? last ?? null;
}

/** ["36 clusters", "14,516 RSVPs at 924 venues"] for a clusters document. */
export function clusterTotals(document: {
  clusters: readonly { rsvps: number }[];
  venuesClustered: number;
}): [string, string] {
  const n = document.clusters.length;
  const rsvps = document.clusters.reduce((sum, cluster) => sum + cluster.rsvps, 0);
  return [
    `${formatCount(n)} ${n === 1 ? "cluster" : "clusters"}`,
    `${formatCount(rsvps)} RSVPs at ${formatCount(document.venuesClustered)} venues`,
  ];
}
