/**
 * cluster-watch Lambda, run every 5 minutes by EventBridge Scheduler: publishes the age of the
 * daily batch's oldest live EMR cluster, which an alarm compares with the longest a batch may
 * take (see cluster-age.ts for why a cluster can outlive its batch). The metric is one Embedded
 * Metric Format line on stdout (../shared/metrics.ts), so the function needs no CloudWatch
 * permission and makes no PutMetricData call. It publishes 0 when no cluster is alive: the
 * alarm treats a missing value as breaching, so silence means this function is broken, not
 * that all is well. A cluster whose execution no longer runs is terminated, and one that names
 * none once older than MAX_CLUSTER_AGE_MINUTES (orphans.ts); the metric is that of the clusters
 * it found, so the alarm still tells that an old one was left over.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { EMRClient } from "@aws-sdk/client-emr";
import { SFNClient } from "@aws-sdk/client-sfn";
import middy from "@middy/core";
import { z } from "zod";
import { readConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { createEmfSerializer, MetricUnit } from "../shared/metrics.js";
import { type ClusterAges, oldestClusterAge } from "./cluster-age.js";
import { type Terminated, terminateOrphans } from "./orphans.js";

const config = readConfig(
  z.object({
    /** The daily batch's cluster name, `${StackName}-daily-batch` on AWS. */
    CLUSTER_NAME: z.string().min(1),
    METRICS_NAMESPACE: z.string().min(1).default("RsvpAtlas/Batch"),
    /** Older than this, a cluster that names no execution is terminated. */
    MAX_CLUSTER_AGE_MINUTES: z.coerce.number().int().positive(),
  }),
);

export const logger = createLogger("cluster-watch");
const emr = new EMRClient({});
const sfn = new SFNClient({});

export interface ClusterWatchDependencies {
  emr: Pick<EMRClient, "send">;
  sfn: Pick<SFNClient, "send">;
  /** Receives the EMF document, one JSON line without its newline. */
  writeLine: (line: string) => void;
  /** Epoch milliseconds. */
  now: () => number;
}

const defaultDependencies: ClusterWatchDependencies = {
  emr,
  sfn,
  // Straight to stdout, not console.log: with the function's JSON log format, Lambda wraps
  // console output in a JSON envelope of its own, and CloudWatch would not read that as EMF.
  writeLine: (line) => {
    process.stdout.write(`${line}\n`);
  },
  now: Date.now,
};

export interface ClusterWatchResult extends ClusterAges {
  clusterName: string;
  /** Clusters this run terminated, with why. */
  terminated: Terminated[];
}

/** The alarm reads `OldestClusterAgeSeconds` by `ClusterName` alone. */
const toEmf = createEmfSerializer({
  namespace: config.METRICS_NAMESPACE,
  dimensions: { ClusterName: config.CLUSTER_NAME },
});

/**
 * The bare handler, for tests. The payload is ignored: the schedule carries nothing the
 * function needs, and refusing an unexpected shape would only cost a data point.
 */
export async function watchClusters(
  _event: unknown,
  dependencies: ClusterWatchDependencies = defaultDependencies,
): Promise<ClusterWatchResult> {
  const now = dependencies.now();
  const ages = await oldestClusterAge({
    emr: dependencies.emr,
    clusterName: config.CLUSTER_NAME,
    now,
  });
  const terminated = await terminateOrphans({
    emr: dependencies.emr,
    sfn: dependencies.sfn,
    clusters: ages.clusters,
    maxAgeSeconds: config.MAX_CLUSTER_AGE_MINUTES * 60,
  });
  const result: ClusterWatchResult = { clusterName: config.CLUSTER_NAME, ...ages, terminated };
  const emf = toEmf({
    metrics: {
      OldestClusterAgeSeconds: { unit: MetricUnit.Seconds, value: result.oldestAgeSeconds },
      ActiveClusters: { unit: MetricUnit.Count, value: result.clusters.length },
    },
    timestamp: now,
  });
  dependencies.writeLine(JSON.stringify(emf));
  logger.info("live batch clusters", { ...result });
  if (terminated.length > 0)
    logger.warn("terminated clusters that outlived their batch", { terminated });
  return result;
}

export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler((event: unknown) => watchClusters(event));
