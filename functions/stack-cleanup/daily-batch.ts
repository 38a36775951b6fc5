/**
 * The daily batch, stopped on stack delete. A batch that runs while the stack is deleted would
 * outlive it: Step Functions does not terminate an EMR cluster when its execution is stopped
 * (Step Functions Developer Guide, "Create and manage Amazon EMR clusters with Step Functions"),
 * and deleting the state machine ends its executions without their Catch paths, which are what
 * terminate the cluster. The cluster's instances hold network interfaces in the stack's subnet
 * and security groups, whose deletes then fail, and its Spark step and logs keep writing to the
 * stack's buckets, which then never fall quiet to be emptied. So, first of all: no execution
 * left running, every cluster of the batch's name terminated, and waited for until it is.
 */
import { type EMRClient, TerminateJobFlowsCommand } from "@aws-sdk/client-emr";
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type SFNClient,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { oldestClusterAge } from "../cluster-watch/cluster-age.js";
import { type CustomResourceResult, InvalidPropertiesError } from "../shared/custom-resource.js";
import { applyCleanupEvent, type PollingDeps, pollUntilGone } from "./cleanup-resource.js";

export interface DailyBatchProperties {
  stateMachineArn: string;
  clusterName: string;
}

/** A state machine's ARN (Step Functions API Reference, "StateMachineListItem": the ARN form). */
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]{1,80}$/;
/** An EMR cluster's name: 1-256 characters (EMR API Reference, RunJobFlow, Name). */
const CLUSTER_NAME = /^[^\s].{0,255}$/s;

/** `StateMachineArn` and `ClusterName`, both required. */
export function readDailyBatch(
  properties: Record<string, unknown> | undefined,
): DailyBatchProperties {
  const stateMachineArn = properties?.StateMachineArn;
  const clusterName = properties?.ClusterName;
  if (typeof stateMachineArn !== "string" || !STATE_MACHINE_ARN.test(stateMachineArn))
    throw new InvalidPropertiesError(
      `property StateMachineArn must be a state machine's ARN, got ${JSON.stringify(stateMachineArn)}`,
    );
  if (typeof clusterName !== "string" || !CLUSTER_NAME.test(clusterName))
    throw new InvalidPropertiesError(
      `property ClusterName must be an EMR cluster name, got ${JSON.stringify(clusterName)}`,
    );
  return { stateMachineArn, clusterName };
}

/** `pollMs` between looks at the executions and clusters, `deadline` for them to be gone. */
export interface StopDailyBatchDeps extends PollingDeps {
  sfn: Pick<SFNClient, "send">;
  emr: Pick<EMRClient, "send">;
}

/** Stops every running execution of the state machine; returns the ones it stopped. */
export async function stopRunningExecutions(
  sfn: Pick<SFNClient, "send">,
  stateMachineArn: string,
): Promise<string[]> {
  const stopped: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: "RUNNING", nextToken }),
    );
    for (const execution of page.executions ?? []) {
      try {
        // No error or cause: with them, StopExecution of an execution encrypted with a
        // customer key needs that key (Step Functions API Reference, StopExecution), and the
        // history goes with the state machine anyway.
        await sfn.send(new StopExecutionCommand({ executionArn: execution.executionArn }));
        stopped.push(execution.executionArn as string);
      } catch (error) {
        // Ended on its own between the listing and the stop: nothing left to do.
        if ((error as { name?: string }).name !== "ExecutionDoesNotExist") throw error;
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return stopped;
}

/**
 * Waits until each of `executions` no longer runs: StopExecution returns before the execution
 * has ended, and one stopped in its CreateCluster task may still have a cluster on its way.
 */
export async function awaitStopped(executions: string[], deps: StopDailyBatchDeps): Promise<void> {
  for (const executionArn of executions)
    await pollUntilGone(
      deps,
      async () => {
        const { status } = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return status === "RUNNING" ? status : undefined;
      },
      { tooLate: () => new Error(`execution ${executionArn} still running after it was stopped`) },
    );
}

/**
 * Terminates every live cluster named `clusterName` and waits until none is left (TERMINATING
 * counts as live: its instances still hold their network interfaces). Each look ends what it
 * finds, and "none" must hold for two looks `pollMs` apart (ListClusters may not yet show a
 * cluster created a moment before), so a cluster whose creation was on its way when its
 * execution stopped is ended too.
 */
export async function terminateClusters(
  clusterName: string,
  deps: StopDailyBatchDeps,
): Promise<string[]> {
  const now = deps.now ?? Date.now;
  const asked = new Set<string>();
  let emptyLooks = 0;
  await pollUntilGone(
    deps,
    async () => {
      const live = (await oldestClusterAge({ emr: deps.emr, clusterName, now: now() })).clusters;
      for (const cluster of live) {
        if (cluster.state === "TERMINATING" || asked.has(cluster.id)) continue;
        await deps.emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [cluster.id] }));
        asked.add(cluster.id);
      }
      emptyLooks = live.length === 0 ? emptyLooks + 1 : 0;
      return emptyLooks === 2 ? undefined : live;
    },
    {
      waiting: (live) => {
        if (live.length > 0)
          deps.log?.("waiting for the daily batch's clusters to terminate", {
            clusters: live.map((c) => c.id),
          });
      },
      tooLate: (live) =>
        new Error(
          `EMR clusters of the daily batch still terminating: ${live.map((c) => `${c.id} (${c.state})`).join(", ")}; once they are TERMINATED, delete the stack again`,
        ),
    },
  );
  return [...asked];
}

/** Create and Update: check the properties; Delete: stop the batch and end its clusters. */
export function applyStopDailyBatchEvent(
  event: CloudFormationCustomResourceEvent,
  deps: StopDailyBatchDeps,
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "stop-daily-batch-on-delete",
    readProperties: readDailyBatch,
    cleanup: async ({ stateMachineArn, clusterName }) => {
      // Executions first: a running one could otherwise still create a cluster after the look.
      const stopped = await stopRunningExecutions(deps.sfn, stateMachineArn);
      await awaitStopped(stopped, deps);
      const clusters = await terminateClusters(clusterName, deps);
      deps.log?.("daily batch stopped", { stoppedExecutions: stopped, clusters });
      return {
        StoppedExecutions: String(stopped.length),
        TerminatedClusters: clusters.join(","),
      };
    },
  });
}
