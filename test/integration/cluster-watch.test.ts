/**
 * The cluster watch against moto's EMR (API stubs: clusters have states and times, no
 * instances). The test stack's moto is shared with the other integration files, so the
 * clusters here carry a name unique to this run and the assertions look only at that name.
 */
import { randomUUID } from "node:crypto";
import { DescribeClusterCommand, TerminateJobFlowsCommand } from "@aws-sdk/client-emr";
import {
  CreateStateMachineCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVE_CLUSTER_STATES } from "../../functions/cluster-watch/cluster-age.js";
import { runBatchLikeCluster, stackEmr, stackSfn } from "../support/stack-clients.js";

const emr = stackEmr();
const sfn = stackSfn();
const CLUSTER_NAME = `cluster-watch-${randomUUID().slice(0, 8)}-daily-batch`;
const started: string[] = [];

let watchClusters: typeof import("../../functions/cluster-watch/handler.js").watchClusters;
beforeAll(async () => {
  process.env.CLUSTER_NAME = CLUSTER_NAME;
  process.env.MAX_CLUSTER_AGE_MINUTES = "240";
  delete process.env.METRICS_NAMESPACE;
  ({ watchClusters } = await import("../../functions/cluster-watch/handler.js"));
});

afterAll(async () => {
  if (started.length > 0) await emr.send(new TerminateJobFlowsCommand({ JobFlowIds: started }));
});

async function runCluster(name: string, executionArn?: string): Promise<string> {
  const id = await runBatchLikeCluster(
    emr,
    name,
    executionArn ? [{ Key: "rsvp-atlas-execution", Value: executionArn }] : [],
  );
  started.push(id);
  return id;
}

function watch() {
  const lines: string[] = [];
  const run = watchClusters(
    {},
    { emr, sfn, writeLine: (line) => lines.push(line), now: () => Date.now() },
  );
  return run.then((result) => ({ result, lines }));
}

describe("cluster watch on moto's EMR", () => {
  it("counts the live cluster of its name, then nothing once that cluster is terminated", async () => {
    const before = Date.now();
    const ours = await runCluster(CLUSTER_NAME);
    await runCluster(`${CLUSTER_NAME}-not-ours`);
    await runCluster(`other-${randomUUID().slice(0, 8)}`);

    const alive = await watch();
    expect(alive.result.clusters).toHaveLength(1);
    const [cluster] = alive.result.clusters;
    expect(cluster?.id).toBe(ours);
    expect(LIVE_CLUSTER_STATES).toContain(cluster?.state);
    expect(cluster?.ageSeconds).toBeGreaterThanOrEqual(0);
    // moto stamps the creation time with its own clock, the same machine's.
    expect(cluster?.ageSeconds).toBeLessThan(120);
    expect(Math.abs(Date.parse(cluster?.createdAt ?? "") - before)).toBeLessThan(120_000);
    expect(alive.result.oldestAgeSeconds).toBe(cluster?.ageSeconds);
    expect(alive.lines).toHaveLength(1);
    expect(JSON.parse(alive.lines[0] ?? "")).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: "RsvpAtlas/Batch",
            Dimensions: [["ClusterName"]],
            Metrics: [
              { Name: "OldestClusterAgeSeconds", Unit: "Seconds" },
              { Name: "ActiveClusters", Unit: "Count" },
            ],
          },
        ],
      },
      ClusterName: CLUSTER_NAME,
      OldestClusterAgeSeconds: cluster?.ageSeconds,
      ActiveClusters: 1,
    });

    await emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [ours] }));
    // moto ends TerminateJobFlows in TERMINATED at once (real EMR passes through TERMINATING
    // for minutes, and the watch keeps counting it then).
    const described = await emr.send(new DescribeClusterCommand({ ClusterId: ours }));
    expect(described.Cluster?.Status?.State).toBe("TERMINATED");

    const gone = await watch();
    expect(gone.result).toEqual({
      clusterName: CLUSTER_NAME,
      clusters: [],
      oldestAgeSeconds: 0,
      terminated: [],
    });
    expect(JSON.parse(gone.lines[0] ?? "")).toMatchObject({
      ClusterName: CLUSTER_NAME,
      OldestClusterAgeSeconds: 0,
      ActiveClusters: 0,
    });
  });

  it("terminates at once a cluster whose execution was stopped, and keeps one whose execution runs", async () => {
    // A state machine on moto's Step Functions, two executions: one stopped by hand (as a user
    // does; Step Functions then terminates nothing), one still running.
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `${CLUSTER_NAME}-machine`,
        roleArn: "arn:aws:iam::123456789012:role/daily-batch",
        definition: JSON.stringify({
          StartAt: "Wait",
          States: { Wait: { Type: "Wait", Seconds: 3600, End: true } },
        }),
      }),
    );
    const start = async () =>
      (await sfn.send(new StartExecutionCommand({ stateMachineArn }))).executionArn as string;
    const [stopped, running] = [await start(), await start()];
    await sfn.send(new StopExecutionCommand({ executionArn: stopped }));
    const orphan = await runCluster(CLUSTER_NAME, stopped);
    const busy = await runCluster(CLUSTER_NAME, running);

    // The next watch, minutes later: the stopped execution's cluster goes, whatever its age
    // (the age limit, 240 minutes, is for clusters that name no execution).
    const lines: string[] = [];
    const next = await watchClusters(
      {},
      { emr, sfn, writeLine: (line) => lines.push(line), now: () => Date.now() + 5 * 60_000 },
    );
    expect(next.terminated.map((t) => [t.id, t.reason])).toEqual([[orphan, "execution ABORTED"]]);
    const state = async (id: string) =>
      (await emr.send(new DescribeClusterCommand({ ClusterId: id }))).Cluster?.Status?.State;
    expect(await state(orphan)).toBe("TERMINATED");
    expect(await state(busy)).toBe("WAITING");
    await emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [busy] }));
  });
});
