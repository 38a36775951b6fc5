/**
 * The ingest task as ECS runs it: its own process, configured by environment variables,
 * reporting counters, and on SIGTERM sending everything it received before it exits 0.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { repoRoot } from "../../local/setup/paths.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { type ReplayServer, startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { spawnNode } from "../support/processes.js";

const stack = inject("stack");
let feed: ReplayServer | undefined;
afterAll(async () => {
  await feed?.close();
});

function runTask(env: Record<string, string>) {
  const task = spawnNode(["--import", "tsx", "tasks/ingest/main.ts"], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...env,
    },
  });
  const logs = () =>
    task
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child: task.child,
    exited: task.exited,
    logs,
    output: () => task.stdout() + task.stderr(),
  };
}

describe("ingest task process", () => {
  it("reports counters, and on SIGTERM drains to Kafka and Firehose and exits 0", async () => {
    feed = await startReplayServer({
      source: () => syntheticLines({ seed: "ingest-task", malformedShare: 0.05 }),
      pacing: { kind: "rate", perSecond: 400 },
    });
    const task = runTask({
      ...localAwsEnvironment({ endpoint: stack.awsEndpoint, region: stack.region }),
      FEED_URL: feed.url,
      KAFKA_BROKERS: stack.kafkaBootstrapServer,
      KAFKA_AUTH: "none",
      RSVP_TOPIC: stack.resources.topics.RsvpTopicName as string,
      DEAD_LETTER_TOPIC: stack.resources.topics.DeadLetterTopicName as string,
      DELIVERY_STREAM_NAME: stack.resources.deliveryStreams.RawDeliveryStream as string,
      MEMBER_PSEUDONYM_KEY: "ingest-task-test-key-0123456789abcdef",
      METRICS_FORMAT: "emf",
      COUNTERS_INTERVAL_SECONDS: "1",
      POWERTOOLS_LOG_LEVEL: "INFO",
    });
    const deadline = Date.now() + 60_000;
    const emf = () => task.logs().filter((line) => line._aws !== undefined);
    // EMF values are the increase since the previous report: their sum is the total so far.
    const emfSum = (name: string) => emf().reduce((sum, line) => sum + Number(line[name] ?? 0), 0);
    while (emfSum("received") <= 300 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const metrics = emf().at(-1) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
    };
    expect(metrics?._aws.CloudWatchMetrics[0]?.Namespace).toBe("RsvpAtlas/Ingest");
    expect(metrics?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(["received", "produced", "sentToFirehose", "deadLettered"]),
    );

    task.child.kill("SIGTERM");
    expect(await task.exited, task.output()).toBe(0);
    const stopped = task.logs().find((line) => line.message === "stopped") as
      | Record<string, number>
      | undefined;
    expect(stopped, task.output()).toBeDefined();
    const received = stopped?.received ?? 0;
    expect(received).toBeGreaterThan(300);
    // Everything received before SIGTERM was sent somewhere before the exit.
    expect((stopped?.produced ?? 0) + (stopped?.deadLettered ?? 0)).toBe(received);
    expect(stopped?.sentToFirehose).toBe(stopped?.produced);
    expect(stopped?.deadLettered).toBeGreaterThan(0);
    // The last report is written after the drain: the EMF increases add up to the final totals.
    for (const name of ["received", "produced", "sentToFirehose", "deadLettered"])
      expect(emfSum(name), name).toBe(stopped?.[name]);
  });

  it("refuses to start without its configuration, naming what is missing", async () => {
    const task = runTask({ KAFKA_BROKERS: "127.0.0.1:1" });
    expect(await task.exited).not.toBe(0);
    expect(task.output()).toMatch(
      /invalid configuration: .*FEED_URL: not set.*DELIVERY_STREAM_NAME: not set.*MEMBER_PSEUDONYM_KEY: not set/,
    );
  });
});
