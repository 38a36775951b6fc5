/**
 * The daily batch stopped on stack delete (functions/stack-cleanup/daily-batch.ts), on moto's
 * Step Functions and EMR: the running executions stopped, the batch's clusters terminated, and
 * nothing else touched. The test stack's moto is shared, so names here are this run's own.
 */
import { randomUUID } from "node:crypto";
import { DescribeClusterCommand, TerminateJobFlowsCommand } from "@aws-sdk/client-emr";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { LIVE_CLUSTER_STATES } from "../../functions/cluster-watch/cluster-age.js";
import { applyStopDailyBatchEvent } from "../../functions/stack-cleanup/daily-batch.js";
import { runBatchLikeCluster, stackEmr, stackSfn } from "../support/stack-clients.js";

const emr = stackEmr();
const sfn = stackSfn();
const RUN = randomUUID().slice(0, 8);
const CLUSTER_NAME = `stop-batch-${RUN}-daily-batch`;
const started: string[] = [];
afterAll(async () => {
  if (started.length > 0) await emr.send(new TerminateJobFlowsCommand({ JobFlowIds: started }));
  emr.destroy();
  sfn.destroy();
});

async function runCluster(name: string): Promise<string> {
  const id = await runBatchLikeCluster(emr, name, [
    { Key: "rsvp-atlas-stack", Value: `stop-batch-${RUN}` },
  ]);
  started.push(id);
  return id;
}

const stateOf = async (id: string) =>
  (await emr.send(new DescribeClusterCommand({ ClusterId: id }))).Cluster?.Status?.State;
const statusOf = async (executionArn: string) =>
  (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;

describe("the daily batch on stack delete", () => {
  it("does nothing on Create; on Delete stops the running executions and terminates the batch's clusters, and no other", async () => {
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `stop-batch-${RUN}`,
        roleArn: "arn:aws:iam::123456789012:role/daily-batch",
        definition: JSON.stringify({
          StartAt: "Wait",
          States: { Wait: { Type: "Wait", Seconds: 3600, End: true } },
        }),
      }),
    );
    const running = await Promise.all(
      ["a", "b"].map(
        async (name) =>
          (await sfn.send(new StartExecutionCommand({ stateMachineArn, name }))).executionArn ?? "",
      ),
    );
    const ours = [await runCluster(CLUSTER_NAME), await runCluster(CLUSTER_NAME)];
    const another = await runCluster(`${CLUSTER_NAME}-not-ours`);

    const event = {
      RequestType: "Create",
      ResourceType: "Custom::StopDailyBatch",
      ResourceProperties: {
        ServiceToken: "arn",
        StateMachineArn: stateMachineArn,
        ClusterName: CLUSTER_NAME,
      },
    } as unknown as CloudFormationCustomResourceEvent;
    const deps = { sfn, emr, pollMs: 50, deadline: Date.now() + 60_000 };
    expect(await applyStopDailyBatchEvent(event, deps)).toEqual({
      PhysicalResourceId: "stop-daily-batch-on-delete",
    });
    for (const execution of running) expect(await statusOf(execution)).toBe("RUNNING");
    for (const id of ours) expect(LIVE_CLUSTER_STATES).toContain(await stateOf(id));

    const result = await applyStopDailyBatchEvent(
      {
        ...event,
        RequestType: "Delete",
        PhysicalResourceId: "stop-daily-batch-on-delete",
      } as CloudFormationCustomResourceEvent,
      deps,
    );
    expect(result.Data?.StoppedExecutions).toBe("2");
    expect(result.Data?.TerminatedClusters?.split(",").sort()).toEqual([...ours].sort());
    for (const execution of running) expect(await statusOf(execution)).toBe("ABORTED");
    for (const id of ours) expect(await stateOf(id)).toBe("TERMINATED");
    expect(LIVE_CLUSTER_STATES).toContain(await stateOf(another));
  });
});
