/**
 * How long the daily batch's EMR clusters have been alive. The batch terminates its cluster on
 * every path of the state machine, but an execution that is stopped or times out never reaches
 * those paths, and its cluster keeps running (and billing) until someone notices. The age of the
 * oldest live cluster with the batch's name is the signal that it was forgotten.
 */
import { type ClusterState, type EMRClient, ListClustersCommand } from "@aws-sdk/client-emr";

/**
 * Every state in which a cluster may still hold instances. TERMINATING is included: a cluster
 * stuck there still bills, and one that is merely on its way out drops off within minutes, well
 * inside the alarm's threshold.
 */
export const LIVE_CLUSTER_STATES = [
  "STARTING",
  "BOOTSTRAPPING",
  "RUNNING",
  "WAITING",
  "TERMINATING",
] as const satisfies readonly ClusterState[];

export interface LiveCluster {
  id: string;
  state: string;
  /** ISO 8601. */
  createdAt: string;
  ageSeconds: number;
}

export interface ClusterAges {
  /** Oldest first. */
  clusters: LiveCluster[];
  /** 0 when there is none, so that a healthy day reports a value instead of a gap. */
  oldestAgeSeconds: number;
}

/** Listing failed; names the cluster it was looking for, so the log says what went unwatched. */
export class ClusterListError extends Error {
  override readonly name = "ClusterListError";
}

export interface OldestClusterAgeOptions {
  /** Only `send` is used, so a test can hand in a mock and the Lambda its module-scope client. */
  emr: Pick<EMRClient, "send">;
  /** Exact name; ListClusters has no name filter, so every live cluster of the account is read. */
  clusterName: string;
  /** Epoch milliseconds. */
  now: number;
}

export async function oldestClusterAge({
  emr,
  clusterName,
  now,
}: OldestClusterAgeOptions): Promise<ClusterAges> {
  const clusters: LiveCluster[] = [];
  let marker: string | undefined;
  let page = 0;
  do {
    page += 1;
    let output: Awaited<ReturnType<typeof listPage>>;
    try {
      output = await listPage(emr, marker);
    } catch (error) {
      throw new ClusterListError(
        `listing live EMR clusters (looking for "${clusterName}", page ${page}) failed: ${reasonOf(error)}`,
        { cause: error },
      );
    }
    for (const summary of output.Clusters ?? []) {
      if (summary.Name !== clusterName) continue;
      const created = summary.Status?.Timeline?.CreationDateTime;
      // A live cluster always has a creation time; without one its age is unknown, and a made-up
      // age would hide exactly the cluster the alarm is for. Failing leaves the metric missing,
      // which the alarm treats as breaching.
      if (!created) {
        throw new ClusterListError(
          `EMR cluster ${summary.Id ?? "(no id)"} "${clusterName}" has no creation time`,
        );
      }
      clusters.push({
        id: summary.Id ?? "",
        state: summary.Status?.State ?? "UNKNOWN",
        createdAt: created.toISOString(),
        // Clamped: a clock a little behind EMR's must not report a negative age.
        ageSeconds: Math.max(0, Math.floor((now - created.getTime()) / 1000)),
      });
    }
    marker = output.Marker || undefined;
  } while (marker);
  clusters.sort((a, b) => b.ageSeconds - a.ageSeconds || a.id.localeCompare(b.id));
  return { clusters, oldestAgeSeconds: clusters[0]?.ageSeconds ?? 0 };
}

function listPage(emr: Pick<EMRClient, "send">, marker: string | undefined) {
  return emr.send(
    new ListClustersCommand({ ClusterStates: [...LIVE_CLUSTER_STATES], Marker: marker }),
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
