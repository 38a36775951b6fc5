/**
 * The cluster watch against a mocked EMR (aws-sdk-client-mock): which clusters it counts, how
 * it ages them, the EMF line the alarm's metric comes from, and its error path. Against moto's
 * EMR in test/integration/cluster-watch.test.ts.
 */
import { readFileSync } from "node:fs";
import {
  type ClusterSummary,
  DescribeClusterCommand,
  EMRClient,
  InternalServerException,
  ListClustersCommand,
  TerminateJobFlowsCommand,
} from "@aws-sdk/client-emr";
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ClusterListError,
  LIVE_CLUSTER_STATES,
  oldestClusterAge,
} from "../../functions/cluster-watch/cluster-age.js";
import { EXECUTION_TAG, terminateOrphans } from "../../functions/cluster-watch/orphans.js";
import { ConfigError } from "../../functions/shared/config.js";
import { resetAfterEach } from "../support/aws-mock.js";

const CLUSTER_NAME = "rsvp-atlas-daily-batch";
const NAMESPACE = "RsvpAtlas/Batch";
const NOW = Date.UTC(2026, 10, 27, 8, 0, 0);
const fixture: unknown = JSON.parse(
  readFileSync(new URL("../../events/cluster-watch.json", import.meta.url), "utf8"),
);

const emrMock = resetAfterEach(mockClient(EMRClient));
const emr = new EMRClient({ region: "us-east-1" });

let watchClusters: typeof import("../../functions/cluster-watch/handler.js").watchClusters;
beforeAll(async () => {
  process.env.CLUSTER_NAME = CLUSTER_NAME;
  process.env.MAX_CLUSTER_AGE_MINUTES = "240";
  delete process.env.METRICS_NAMESPACE;
  ({ watchClusters } = await import("../../functions/cluster-watch/handler.js"));
});

/** A ListClusters summary created `minutesAgo` before NOW (ready 10 minutes later). */
function summary(
  id: string,
  name: string | undefined,
  minutesAgo: number,
  state: NonNullable<ClusterSummary["Status"]>["State"] = "WAITING",
): ClusterSummary {
  const created = NOW - minutesAgo * 60_000;
  return {
    Id: id,
    Name: name,
    Status: {
      State: state,
      Timeline: {
        CreationDateTime: new Date(created),
        ReadyDateTime: new Date(created + 600_000),
      },
    },
  };
}

function recordingDependencies() {
  const lines: string[] = [];
  return {
    lines,
    dependencies: {
      emr,
      sfn: new SFNClient({}),
      writeLine: (line: string) => lines.push(line),
      now: () => NOW,
    },
  };
}

describe("oldestClusterAge", () => {
  it("asks for the live states only and follows Marker through every page", async () => {
    emrMock
      .on(ListClustersCommand)
      .resolvesOnce({ Clusters: [summary("j-1", CLUSTER_NAME, 30)], Marker: "page-2" })
      .resolvesOnce({ Clusters: [summary("j-2", "other", 5)], Marker: "page-3" })
      .resolvesOnce({ Clusters: [summary("j-3", CLUSTER_NAME, 200, "RUNNING")] });

    const result = await oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW });

    const inputs = emrMock.commandCalls(ListClustersCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { ClusterStates: [...LIVE_CLUSTER_STATES], Marker: undefined },
      { ClusterStates: [...LIVE_CLUSTER_STATES], Marker: "page-2" },
      { ClusterStates: [...LIVE_CLUSTER_STATES], Marker: "page-3" },
    ]);
    expect(LIVE_CLUSTER_STATES).toEqual([
      "STARTING",
      "BOOTSTRAPPING",
      "RUNNING",
      "WAITING",
      "TERMINATING",
    ]);
    expect(result.clusters.map((cluster) => cluster.id)).toEqual(["j-3", "j-1"]);
  });

  it("counts only clusters named exactly like the batch's", async () => {
    emrMock.on(ListClustersCommand).resolves({
      Clusters: [
        summary("j-ours", CLUSTER_NAME, 20),
        summary("j-prefix", `${CLUSTER_NAME}-old`, 900),
        summary("j-case", CLUSTER_NAME.toUpperCase(), 900),
        summary("j-other", "someone-elses-cluster", 900),
        summary("j-unnamed", undefined, 900),
      ],
    });

    const result = await oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW });

    expect(result).toEqual({
      clusters: [
        {
          id: "j-ours",
          state: "WAITING",
          createdAt: new Date(NOW - 20 * 60_000).toISOString(),
          ageSeconds: 1200,
        },
      ],
      oldestAgeSeconds: 1200,
    });
  });

  it("ages a cluster from its creation time, not its ready time; oldest first", async () => {
    emrMock.on(ListClustersCommand).resolves({
      Clusters: [
        summary("j-young", CLUSTER_NAME, 15, "STARTING"),
        summary("j-old", CLUSTER_NAME, 185, "TERMINATING"),
        {
          Id: "j-fraction",
          Name: CLUSTER_NAME,
          Status: {
            State: "BOOTSTRAPPING",
            Timeline: { CreationDateTime: new Date(NOW - 61_999) },
          },
        },
      ],
    });

    const result = await oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW });

    expect(result.clusters).toEqual([
      {
        id: "j-old",
        state: "TERMINATING",
        createdAt: "2026-11-27T04:55:00.000Z",
        ageSeconds: 185 * 60,
      },
      { id: "j-young", state: "STARTING", createdAt: "2026-11-27T07:45:00.000Z", ageSeconds: 900 },
      {
        id: "j-fraction",
        state: "BOOTSTRAPPING",
        createdAt: "2026-11-27T07:58:58.001Z",
        ageSeconds: 61,
      },
    ]);
    expect(result.oldestAgeSeconds).toBe(185 * 60);
  });

  it("reports no cluster as age 0, and a creation time ahead of the clock as age 0", async () => {
    emrMock.on(ListClustersCommand).resolves({ Clusters: [] });
    expect(await oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW })).toEqual({
      clusters: [],
      oldestAgeSeconds: 0,
    });

    emrMock.on(ListClustersCommand).resolves({ Clusters: [summary("j-skew", CLUSTER_NAME, -1)] });
    const skewed = await oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW });
    expect(skewed.clusters[0]?.ageSeconds).toBe(0);
    expect(skewed.oldestAgeSeconds).toBe(0);
  });

  it("passes an EMR error on, naming the cluster it looked for and EMR's reason", async () => {
    const emrError = new InternalServerException({
      message: "Rate exceeded",
      $metadata: { httpStatusCode: 500 },
    });
    emrMock
      .on(ListClustersCommand)
      .resolvesOnce({ Clusters: [summary("j-1", CLUSTER_NAME, 30)], Marker: "page-2" })
      .rejectsOnce(emrError);

    const failure = oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW });

    await expect(failure).rejects.toBeInstanceOf(ClusterListError);
    await expect(failure).rejects.toThrow(
      'listing live EMR clusters (looking for "rsvp-atlas-daily-batch", page 2) failed: InternalServerException: Rate exceeded',
    );
    await expect(failure).rejects.toMatchObject({ name: "ClusterListError", cause: emrError });
  });

  it("refuses to guess the age of a cluster without a creation time", async () => {
    emrMock.on(ListClustersCommand).resolves({
      Clusters: [{ Id: "j-bare", Name: CLUSTER_NAME, Status: { State: "RUNNING" } }],
    });
    await expect(oldestClusterAge({ emr, clusterName: CLUSTER_NAME, now: NOW })).rejects.toThrow(
      /EMR cluster j-bare "rsvp-atlas-daily-batch" has no creation time/,
    );
  });
});

describe("cluster-watch handler", () => {
  it("writes one EMF line: namespace, ClusterName dimension, age in Seconds, clusters as Count", async () => {
    emrMock.on(ListClustersCommand).resolves({
      Clusters: [
        summary("j-1", CLUSTER_NAME, 50, "RUNNING"),
        summary("j-2", CLUSTER_NAME, 130),
        summary("j-3", "other", 999),
      ],
    });
    // Neither names an execution, and both are younger than the limit: both are left alone.
    emrMock.on(DescribeClusterCommand).resolves({ Cluster: { Tags: [] } });
    const { lines, dependencies } = recordingDependencies();

    const result = await watchClusters(fixture, dependencies);

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      _aws: {
        Timestamp: NOW,
        CloudWatchMetrics: [
          {
            Namespace: NAMESPACE,
            Dimensions: [["ClusterName"]],
            Metrics: [
              { Name: "OldestClusterAgeSeconds", Unit: "Seconds" },
              { Name: "ActiveClusters", Unit: "Count" },
            ],
          },
        ],
      },
      ClusterName: CLUSTER_NAME,
      OldestClusterAgeSeconds: 7800,
      ActiveClusters: 2,
    });
    expect(result).toEqual({
      clusterName: CLUSTER_NAME,
      clusters: [
        { id: "j-2", state: "WAITING", createdAt: "2026-11-27T05:50:00.000Z", ageSeconds: 7800 },
        { id: "j-1", state: "RUNNING", createdAt: "2026-11-27T07:10:00.000Z", ageSeconds: 3000 },
      ],
      oldestAgeSeconds: 7800,
      terminated: [],
    });
  });

  it("accepts the sample event (events/cluster-watch.json) and publishes 0 when nothing is alive", async () => {
    emrMock.on(ListClustersCommand).resolves({});
    const { lines, dependencies } = recordingDependencies();

    await expect(watchClusters(fixture, dependencies)).resolves.toEqual({
      clusterName: CLUSTER_NAME,
      clusters: [],
      oldestAgeSeconds: 0,
      terminated: [],
    });
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      ClusterName: CLUSTER_NAME,
      OldestClusterAgeSeconds: 0,
      ActiveClusters: 0,
    });
  });

  it("ignores whatever payload it is given", async () => {
    emrMock.on(ListClustersCommand).resolves({ Clusters: [] });
    const { lines, dependencies } = recordingDependencies();
    for (const event of [undefined, null, "tick", { "detail-type": "Scheduled Event" }]) {
      await watchClusters(event, dependencies);
    }
    expect(lines).toHaveLength(4);
  });

  it("writes no metric when EMR fails, so the alarm sees missing data, and fails the invocation", async () => {
    emrMock.on(ListClustersCommand).rejects(new Error("connect ETIMEDOUT"));
    const { lines, dependencies } = recordingDependencies();

    await expect(watchClusters(fixture, dependencies)).rejects.toThrow(
      /listing live EMR clusters .* failed: Error: connect ETIMEDOUT/,
    );
    expect(lines).toEqual([]);
  });

  it("refuses to start without CLUSTER_NAME, and takes METRICS_NAMESPACE from the environment", async () => {
    vi.resetModules();
    const saved = { ...process.env };
    try {
      delete process.env.CLUSTER_NAME;
      await expect(import("../../functions/cluster-watch/handler.js")).rejects.toThrow(
        /CLUSTER_NAME: not set/,
      );
      // A fresh module graph has its own ConfigError class; compare by name.
      await expect(import("../../functions/cluster-watch/handler.js")).rejects.toMatchObject({
        name: new ConfigError("").name,
      });

      vi.resetModules();
      process.env.CLUSTER_NAME = "elsewhere-daily-batch";
      process.env.METRICS_NAMESPACE = "Custom/Namespace";
      const fresh = await import("../../functions/cluster-watch/handler.js");
      emrMock.on(ListClustersCommand).resolves({ Clusters: [] });
      const { lines, dependencies } = recordingDependencies();
      await fresh.watchClusters(fixture, dependencies);
      expect(JSON.parse(lines[0] ?? "")).toMatchObject({
        _aws: { CloudWatchMetrics: [{ Namespace: "Custom/Namespace" }] },
        ClusterName: "elsewhere-daily-batch",
      });
    } finally {
      process.env = saved;
      vi.resetModules();
    }
  });
});

describe("terminateOrphans", () => {
  const sfnMock = mockClient(SFNClient);
  afterEach(() => sfnMock.reset());
  const live = (id: string, minutes: number, state = "WAITING") => ({
    id,
    state,
    createdAt: new Date(NOW - minutes * 60_000).toISOString(),
    ageSeconds: minutes * 60,
  });
  const tagged = (execution: string | undefined) => ({
    Cluster: { Tags: execution ? [{ Key: EXECUTION_TAG, Value: execution }] : [] },
  });

  it("terminates a cluster whose execution ended at any age, and an old one whose execution is unknown or that names none", async () => {
    emrMock
      .on(DescribeClusterCommand, { ClusterId: "j-stopped" })
      .resolves(tagged("arn:exec:stopped"))
      .on(DescribeClusterCommand, { ClusterId: "j-running" })
      .resolves(tagged("arn:exec:running"))
      .on(DescribeClusterCommand, { ClusterId: "j-expired" })
      .resolves(tagged("arn:exec:expired"))
      .on(DescribeClusterCommand, { ClusterId: "j-untagged" })
      .resolves(tagged(undefined))
      .on(DescribeClusterCommand, { ClusterId: "j-young-untagged" })
      .resolves(tagged(undefined))
      .on(DescribeClusterCommand, { ClusterId: "j-young-stopped" })
      .resolves(tagged("arn:exec:stopped"))
      .on(DescribeClusterCommand, { ClusterId: "j-young-running" })
      .resolves(tagged("arn:exec:running"))
      .on(DescribeClusterCommand, { ClusterId: "j-young-unknown" })
      .resolves(tagged("arn:exec:expired"))
      .on(DescribeClusterCommand, { ClusterId: "j-redrive" })
      .resolves(tagged("arn:exec:redrive"));
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: "arn:exec:stopped" })
      .resolves({ status: "ABORTED" })
      .on(DescribeExecutionCommand, { executionArn: "arn:exec:running" })
      .resolves({ status: "RUNNING" })
      .on(DescribeExecutionCommand, { executionArn: "arn:exec:redrive" })
      .resolves({ status: "PENDING_REDRIVE" })
      .on(DescribeExecutionCommand, { executionArn: "arn:exec:expired" })
      .rejects(new ExecutionDoesNotExist({ message: "gone", $metadata: {} }));
    const terminated = await terminateOrphans({
      emr,
      sfn: new SFNClient({ region: "us-east-1" }),
      maxAgeSeconds: 240 * 60,
      clusters: [
        live("j-stopped", 300),
        live("j-running", 300),
        live("j-expired", 300),
        live("j-untagged", 300),
        live("j-young-untagged", 30),
        live("j-young-stopped", 10),
        live("j-young-running", 10),
        // Not found: eventually consistent, it may have started seconds ago; the age limit waits.
        live("j-young-unknown", 10),
        live("j-redrive", 300),
        live("j-leaving", 900, "TERMINATING"),
      ],
    });
    expect(terminated.map((t) => [t.id, t.reason])).toEqual([
      ["j-stopped", "execution ABORTED"],
      ["j-expired", "execution does not exist (expired from the history)"],
      ["j-untagged", "no execution tag (a cluster the workflow lost track of)"],
      ["j-young-stopped", "execution ABORTED"],
    ]);
    const ended = emrMock
      .commandCalls(TerminateJobFlowsCommand)
      .map((c) => c.args[0].input.JobFlowIds);
    expect(ended).toEqual([["j-stopped"], ["j-expired"], ["j-untagged"], ["j-young-stopped"]]);
    // A terminating cluster is not even described.
    const described = emrMock
      .commandCalls(DescribeClusterCommand)
      .map((c) => c.args[0].input.ClusterId);
    expect(described).not.toContain("j-leaving");
  });
});
