/**
 * The ingest task as ECS runs it: its own process, configured by environment variables,
 * reporting counters, and on SIGTERM sending everything it received before it exits 0.
 */
import { afterAll, describe, expect, it } from "vitest";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { type ReplayServer, startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import {
  ingestTaskEnvironment,
  jsonLogLines,
  killLeftoverTasks,
  logLine,
  spawnTask,
  waitForTask,
} from "../support/task-process.js";

let feed: ReplayServer | undefined;
afterAll(async () => {
  killLeftoverTasks();
  await feed?.close();
});

describe("ingest task process", () => {
  it("reports counters, and on SIGTERM drains to Kafka and Firehose and exits 0", async () => {
    feed = await startReplayServer({
      source: () => syntheticLines({ seed: "ingest-task", malformedShare: 0.05 }),
      pacing: { kind: "rate", perSecond: 400 },
    });
    const task = spawnTask("tasks/ingest/main.ts", {
      ...ingestTaskEnvironment(feed.url),
      METRICS_FORMAT: "emf",
      COUNTERS_INTERVAL_SECONDS: "1",
    });
    const emf = () => task.logs().filter((line) => line._aws !== undefined);
    // EMF values are the increase since the previous report: their sum is the total so far.
    const emfSum = (name: string) => emf().reduce((sum, line) => sum + Number(line[name] ?? 0), 0);
    await waitForTask(task, "EMF reports of over 300 received", () => emfSum("received") > 300, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const metrics = emf().at(-1) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
    };
    expect(metrics?._aws.CloudWatchMetrics[0]?.Namespace).toBe("RsvpAtlas/Ingest");
    expect(metrics?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(["received", "produced", "sentToFirehose", "deadLettered"]),
    );

    task.child.kill("SIGTERM");
    expect(await task.exited, task.output()).toBe(0);
    const stopped = logLine(task, "stopped") as Record<string, number> | undefined;
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

  it("on SIGTERM with a sink that does not answer, gives up its drain at DRAIN_TIMEOUT_SECONDS and exits 1, saying so", async () => {
    // Firehose unreachable (a closed port): every PutRecordBatch fails, so the drain cannot end.
    // ECS would kill the task its stop timeout after SIGTERM; the task speaks before that.
    feed ??= await startReplayServer({
      source: () => syntheticLines({ seed: "ingest-task", malformedShare: 0.05 }),
      pacing: { kind: "rate", perSecond: 400 },
    });
    const task = spawnTask("tasks/ingest/main.ts", {
      ...ingestTaskEnvironment(feed.url),
      AWS_ENDPOINT_URL_FIREHOSE: "http://127.0.0.1:9",
      METRICS_FORMAT: "json",
      COUNTERS_INTERVAL_SECONDS: "1",
      DRAIN_TIMEOUT_SECONDS: "2",
    });
    const received = () =>
      Math.max(
        0,
        ...task
          .logs()
          .filter((line) => line.message === "ingest counters")
          .map((line) => Number(line.received)),
      );
    await waitForTask(task, "over 50 messages received", () => received() > 50, {
      timeoutMs: 60_000,
    });
    task.child.kill("SIGTERM");
    expect(await task.exited, task.output()).toBe(1);
    // Logged at ERROR, which goes to stderr.
    const late = jsonLogLines(task.output()).find((line) =>
      String(line.message).startsWith("not drained within 2 s"),
    ) as Record<string, number> | undefined;
    expect(late, task.output()).toBeDefined();
    expect(late?.received).toBeGreaterThan(0);
    expect(late?.sentToFirehose).toBe(0);
    // What it holds unsent: every valid message, for Firehose (its writer is still trying).
    const rejected = Object.entries(late ?? {})
      .filter(([key]) => key.startsWith("rejected."))
      .reduce((sum, [, count]) => sum + Number(count), 0);
    expect((late as unknown as { unsent: { firehose: number } }).unsent.firehose).toBe(
      (late?.received ?? 0) - rejected,
    );
    expect(logLine(task, "stopped"), task.output()).toBeDefined();
  });

  it("on SIGTERM while it still waits for Kafka at start-up, exits 0 without waiting for Kafka", async () => {
    feed ??= await startReplayServer({
      source: () => syntheticLines({ seed: "wait" }),
      pacing: { kind: "rate", perSecond: 10 },
    });
    const task = spawnTask("tasks/ingest/main.ts", {
      ...ingestTaskEnvironment(feed.url),
      // Nothing listens there: the task waits (up to five minutes) for Kafka to answer.
      KAFKA_BROKERS: "127.0.0.1:1",
    });
    // kafkajs logs each refused connection through the task's logger (on stderr) while it retries.
    await waitForTask(task, "a refused connection to Kafka", () =>
      task.output().includes("connect ECONNREFUSED 127.0.0.1:1"),
    );
    task.child.kill("SIGTERM");
    expect(await task.exited, task.output()).toBe(0);
    expect(
      logLine(task, "stopped before the ingest started: nothing read from the feed yet"),
      task.output(),
    ).toBeDefined();
    expect(logLine(task, "ingest started")).toBeUndefined();
  });

  it("refuses to start without its configuration, naming what is missing", async () => {
    const task = spawnTask("tasks/ingest/main.ts", { KAFKA_BROKERS: "127.0.0.1:1" });
    expect(await task.exited).not.toBe(0);
    expect(task.output()).toMatch(
      /invalid configuration: .*FEED_URL: not set.*DELIVERY_STREAM_NAME: not set/,
    );
  });
});
