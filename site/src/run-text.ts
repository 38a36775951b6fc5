/**
 * What the page says about the daily batch: the header's run line and the map's summary, from
 * run.json and clusters.json (either may be missing), and the message for each state.
 */
import type { RunDocument } from "../../functions/render-map/site-files.js";
import { clusterTotals, dateRange } from "../../functions/shared/map/captions.js";
import { formatUtc } from "./counts-model.js";
import type { ClustersFile } from "./validate.js";

/** "Map of 2018-05-20 – 2018-05-26 · drawn 2026-11-27 02:14 UTC" */
export function runLine(run: RunDocument | null, clusters: ClustersFile | null): string {
  const range = dateRange(run?.dates ?? clusters?.dates);
  const parts = [range ? `Map of ${range}` : "Map of the latest batch run"];
  if (run) parts.push(`drawn ${formatUtc(Date.parse(run.finishedAt))}`);
  return parts.join(" · ");
}

/** "76 clusters · 1,062 RSVPs at 924 venues · batch of range all, 68 s" */
export function mapSummary(run: RunDocument | null, clusters: ClustersFile): string {
  const parts: string[] = clusterTotals(clusters);
  if (run) {
    parts.push(`batch over “${run.range}” took ${formatDuration(run.durationSeconds)}`);
  }
  return parts.join(" · ");
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

export const NO_BATCH_MESSAGE =
  "No map yet: the daily batch has not run. It runs at 02:00 UTC once the ingest runs, or start it by hand (see README).";

export const NO_CLUSTERS_MESSAGE = "No clusters in this run: the batch found no venues to map.";
