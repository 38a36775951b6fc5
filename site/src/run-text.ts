/**
 * What the page says about the daily batch: the header's run line and the map's summary, from
 * run.json and clusters.json (either may be missing), and the message for each state.
 */
import type { RunDocument } from "../../functions/render-map/site-files.js";
import { clusterTotals, dateRange } from "../../functions/shared/map/captions.js";
import { formatUtc } from "./counts-model.js";
import type { ClustersFile } from "./validate.js";

/**
 * `run` when it is of the run that published `clusters`, else null. CloudFront keeps run.json and
 * clusters.json each on its own timer, so for a few minutes after a batch run a reader may get
 * one run's run.json beside another's clusters.json: the clusters are then drawn without the
 * other run's dates and figures, and both files are loaded again at the next look. A
 * clusters.json published before the render step named its run goes with any run.json.
 */
export function runOfClusters(run: RunDocument | null, clusters: ClustersFile): RunDocument | null {
  if (run === null || clusters.runStartedAt === undefined) return run;
  return Date.parse(clusters.runStartedAt) === Date.parse(run.startedAt) ? run : null;
}

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
