/**
 * Ends a daily-batch cluster that has outlived its batch. The workflow terminates its cluster
 * on every path it takes, but an execution stopped by hand (or timed out) ends without taking
 * any: Step Functions then cancels the Spark step and terminates nothing, and a cluster with a
 * YARN application still running is never idle, so its idle auto-termination never fires. The
 * workflow tags each cluster with its execution's ARN; a cluster whose execution has ended is
 * terminated at once, whatever its age (every path that ends an execution normally has
 * terminated its cluster first, so one still alive was left behind). A cluster that carries no
 * execution, or one Step Functions does not know (yet), is terminated once older than the limit.
 * One whose execution still runs, or waits to be redriven, is left to the workflow.
 */
import {
  DescribeClusterCommand,
  type EMRClient,
  TerminateJobFlowsCommand,
} from "@aws-sdk/client-emr";
import { DescribeExecutionCommand, type SFNClient } from "@aws-sdk/client-sfn";
import type { LiveCluster } from "./cluster-age.js";

/** The tag CreateCluster gives each cluster: `$$.Execution.Id`. */
export const EXECUTION_TAG = "rsvp-atlas-execution";

export interface Terminated {
  id: string;
  ageSeconds: number;
  /** Why: the execution's status, or that there was none. */
  reason: string;
}

export interface TerminateOrphansOptions {
  emr: Pick<EMRClient, "send">;
  sfn: Pick<SFNClient, "send">;
  clusters: LiveCluster[];
  maxAgeSeconds: number;
}

export async function terminateOrphans(options: TerminateOrphansOptions): Promise<Terminated[]> {
  const terminated: Terminated[] = [];
  for (const cluster of options.clusters) {
    if (cluster.state === "TERMINATING") continue;
    const described = await options.emr.send(new DescribeClusterCommand({ ClusterId: cluster.id }));
    const executionArn = described.Cluster?.Tags?.find((tag) => tag.Key === EXECUTION_TAG)?.Value;
    const old = cluster.ageSeconds > options.maxAgeSeconds;
    if (!executionArn && !old) continue;
    const ended = executionArn
      ? await executionEnded(options.sfn, executionArn)
      : { reason: "no execution tag (a cluster the workflow lost track of)", certain: false };
    // Its execution still runs (the workflow's timeouts apply), or its end is not certain and
    // the cluster is younger than the limit.
    if (ended === null || (!ended.certain && !old)) continue;
    const { reason } = ended;
    await options.emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [cluster.id] }));
    terminated.push({ id: cluster.id, ageSeconds: cluster.ageSeconds, reason });
  }
  return terminated;
}

/** Statuses of an execution that may still use its cluster: running, or stopped to be redriven. */
const STILL_RUNNING = new Set(["RUNNING", "PENDING_REDRIVE"]);

/**
 * Null while the execution runs (or waits to be redriven), else why it no longer does, and
 * whether that is certain. An execution Step Functions says it does not know is not certain:
 * DescribeExecution is eventually consistent ("may not reflect very recent updates", API
 * Reference), so an execution that started seconds ago may not be found yet; closed ones stay
 * describable for 90 days.
 */
async function executionEnded(
  sfn: Pick<SFNClient, "send">,
  executionArn: string,
): Promise<{ reason: string; certain: boolean } | null> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (STILL_RUNNING.has(execution.status ?? "")) return null;
    return { reason: `execution ${execution.status}`, certain: true };
  } catch (error) {
    if ((error as { name?: string }).name === "ExecutionDoesNotExist")
      return { reason: "execution does not exist (expired from the history)", certain: false };
    throw error;
  }
}
