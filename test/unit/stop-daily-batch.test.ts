/**
 * The daily batch stopped on stack delete, its error paths against mocked Step Functions and
 * EMR (aws-sdk-client-mock); the whole of it on moto in test/integration/stop-daily-batch.test.ts.
 */
import {
  type ClusterState,
  EMRClient,
  ListClustersCommand,
  TerminateJobFlowsCommand,
} from "@aws-sdk/client-emr";
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { InvalidPropertiesError } from "../../functions/shared/custom-resource.js";
import {
  awaitStopped,
  readDailyBatch,
  stopRunningExecutions,
  terminateClusters,
} from "../../functions/stack-cleanup/daily-batch.js";
import { resetAfterEach } from "../support/aws-mock.js";
import { sleepClock } from "../support/sleep-clock.js";

const emrMock = resetAfterEach(mockClient(EMRClient));
const sfnMock = resetAfterEach(mockClient(SFNClient));
const emr = new EMRClient({ region: "us-east-1" });
const sfn = new SFNClient({ region: "us-east-1" });
const NAME = "rsvp-atlas-daily-batch";
const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:DailyBatchStateMachine-AbC123";

const listing = (clusters: [id: string, state: ClusterState][]) => ({
  Clusters: clusters.map(([Id, State]) => ({
    Id,
    Name: NAME,
    Status: { State, Timeline: { CreationDateTime: new Date(0) } },
  })),
});

/** terminateClusters with a look each second (fake time) and a minute to finish. */
const terminateWithinAMinute = () =>
  terminateClusters(NAME, { sfn, emr, pollMs: 1_000, deadline: 60_000, ...sleepClock() });

describe("stopping the daily batch on stack delete", () => {
  it("ends a cluster that appears after the first look (its creation was under way)", async () => {
    emrMock
      .on(ListClustersCommand)
      .resolvesOnce(listing([["j-1", "RUNNING"]]))
      .resolvesOnce(
        listing([
          ["j-1", "TERMINATING"],
          ["j-2", "STARTING"],
        ]),
      )
      .resolvesOnce(listing([["j-2", "TERMINATING"]]))
      .resolves(listing([]));
    const terminated = await terminateWithinAMinute();
    expect(terminated).toEqual(["j-1", "j-2"]);
    expect(
      emrMock.commandCalls(TerminateJobFlowsCommand).map((call) => call.args[0].input.JobFlowIds),
    ).toEqual([["j-1"], ["j-2"]]);
  });

  it("ends a cluster that appears only on a later look, and needs two empty looks in a row", async () => {
    emrMock
      .on(ListClustersCommand)
      .resolvesOnce(listing([]))
      .resolvesOnce(listing([["j-late", "STARTING"]]))
      .resolvesOnce(listing([["j-late", "TERMINATING"]]))
      .resolvesOnce(listing([]))
      .resolves(listing([]));
    const terminated = await terminateWithinAMinute();
    expect(terminated).toEqual(["j-late"]);
    expect(emrMock.commandCalls(ListClustersCommand)).toHaveLength(5);
  });

  it("waits until a stopped execution has ended before it looks for clusters", async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: "RUNNING" })
      .resolves({ status: "ABORTED" });
    const time = sleepClock();
    await awaitStopped(["e1"], { sfn, emr, pollMs: 1_000, deadline: 60_000, ...time });
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
    expect(time.now()).toBe(1_000);
  });

  it("fails, naming the clusters, when they are still terminating at the deadline", async () => {
    emrMock.on(ListClustersCommand).resolves(listing([["j-9", "TERMINATING"]]));
    await expect(
      terminateClusters(NAME, { sfn, emr, pollMs: 15_000, deadline: 60_000, ...sleepClock() }),
    ).rejects.toThrow(/still terminating: j-9 \(TERMINATING\); once they are TERMINATED/);
    // Already on its way out: not asked again.
    expect(emrMock.commandCalls(TerminateJobFlowsCommand)).toHaveLength(0);
  });

  it("stops every page's running executions, and passes over one that ended meanwhile", async () => {
    sfnMock
      .on(ListExecutionsCommand)
      .resolvesOnce({
        executions: [{ executionArn: "e1" }, { executionArn: "e2" }] as never,
        nextToken: "t",
      })
      .resolvesOnce({ executions: [{ executionArn: "e3" }] as never });
    sfnMock.on(StopExecutionCommand).resolves({});
    sfnMock
      .on(StopExecutionCommand, { executionArn: "e2" })
      .rejects(new ExecutionDoesNotExist({ message: "gone", $metadata: {} }));
    expect(await stopRunningExecutions(sfn, MACHINE)).toEqual(["e1", "e3"]);
    expect(sfnMock.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, statusFilter: "RUNNING", nextToken: undefined },
      { stateMachineArn: MACHINE, statusFilter: "RUNNING", nextToken: "t" },
    ]);
  });

  it("refuses properties that are not a state machine's ARN and a cluster name", () => {
    expect(readDailyBatch({ StateMachineArn: MACHINE, ClusterName: NAME })).toEqual({
      stateMachineArn: MACHINE,
      clusterName: NAME,
    });
    expect(() => readDailyBatch({ StateMachineArn: "DailyBatch", ClusterName: NAME })).toThrow(
      InvalidPropertiesError,
    );
    expect(() => readDailyBatch({ StateMachineArn: MACHINE })).toThrow(/ClusterName/);
  });
});
