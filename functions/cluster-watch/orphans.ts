/**
 * Ends a daily-batch cluster that has outlived its batch. The workflow terminates its cluster
 * on every path it takes, but an execution stopped by hand (or timed out) ends without taking
 * any: Step Functions then cancels the Spark step and terminates nothing, and a cluster with a
 * YARN application still running is never idle, so its idle auto-termination never fires. The
 * workflow tags each cluster with its execution's ARN; a cluster whose execution no longer runs
 * is terminated at once, whatever its age (every path that ends an execution normally has
 * terminated its cluster first, so one still alive was left behind). A cluster that carries no
 * execution is terminated once older than the limit. One whose execution still runs is left to
 * the workflow's own timeouts.
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
    if (!executionArn && cluster.ageSeconds <= options.maxAgeSeconds) continue;
    const reason = executionArn
      ? await executionEnded(options.sfn, executionArn)
      : "no execution tag (a cluster the workflow lost track of)";
    if (reason === null) continue; // its execution still runs: the workflow's timeouts apply
    await options.emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [cluster.id] }));
    terminated.push({ id: cluster.id, ageSeconds: cluster.ageSeconds, reason });
  }
  return terminated;
}

/** Null while the execution runs, else why it no longer does. */
async function executionEnded(
  sfn: Pick<SFNClient, "send">,
  executionArn: string,
): Promise<string | null> {
  try {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return execution.status === "RUNNING" ? null : `execution ${execution.status}`;
  } catch (error) {
    if ((error as { name?: string }).name === "ExecutionDoesNotExist")
      return "execution does not exist (expired from the history)";
    throw error;
  }
}
