/**
 * Kafka's own consumer benchmark (org.apache.kafka.tools.ConsumerPerformance, from the same
 * kafka-tools jar as ProducerPerformance) against the local broker, and the local event source's
 * consumer (kafkajs, local/pipeline/msk-event-source.ts, the stand-in for Lambda's poller) on the
 * same topic with nothing behind it: what reading costs before any counting.
 */
import type { Kafka } from "kafkajs";
import { startMskEventSource } from "../../local/pipeline/msk-event-source.js";
import type { KafkaInstall } from "../../local/setup/kafka-jars.js";
import { runKafkaTool } from "./kafka-tool.js";

export interface ConsumerPerformanceSummary {
  messages: number;
  /** Over the whole run, the group's join included. */
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** Over the fetching only (the run less the join). */
  fetchMessagesPerSecond: number;
  rebalanceMs: number;
}

/**
 * The tool's line under its header `start.time, end.time, data.consumed.in.MB, MB.sec,
 * data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec,
 * fetch.nMsg.sec` (ConsumerPerformance.printBasicHeader/printMetrics).
 */
export function parseConsumerPerformanceSummary(output: string): ConsumerPerformanceSummary {
  const lines = output.split("\n").map((line) => line.trim());
  const header = lines.findIndex((line) => line.startsWith("start.time, end.time"));
  const values = lines[header + 1]?.split(",").map((field) => field.trim());
  if (header === -1 || !values || values.length < 10)
    throw new Error(`ConsumerPerformance printed no summary:\n${output.slice(-2000)}`);
  const number = (index: number) => Number(values[index]);
  return {
    megabytesPerSecond: number(3),
    messages: number(4),
    messagesPerSecond: number(5),
    rebalanceMs: number(6),
    fetchMessagesPerSecond: number(9),
  };
}

export async function runConsumerPerformance(run: {
  install: KafkaInstall;
  bootstrapServer: string;
  topic: string;
  messages: number;
  group: string;
  workDir: string;
}): Promise<ConsumerPerformanceSummary> {
  const output = await runKafkaTool(
    run.install,
    "ConsumerPerformance",
    [
      "--bootstrap-server",
      run.bootstrapServer,
      "--topic",
      run.topic,
      "--messages",
      String(run.messages),
      "--group",
      run.group,
      "--timeout",
      "60000",
    ],
    run.workDir,
  );
  return parseConsumerPerformanceSummary(output);
}

/**
 * The local event source's consumer reading `messages` records of `topic` from the start, in
 * the template's batches, with a handler that does nothing: records per second from the start
 * (its group's join included, as the tool's whole-run figure).
 */
export async function eventSourceReadRate(options: {
  kafka: Kafka;
  topic: string;
  messages: number;
  groupId: string;
  batchSize: number;
  batchingWindowMs: number;
}): Promise<{ perSecond: number; records: number; seconds: number }> {
  const started = performance.now();
  const source = await startMskEventSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: options.groupId,
    batchSize: options.batchSize,
    batchingWindowMs: options.batchingWindowMs,
    handler: async () => {},
  });
  try {
    const deadline = Date.now() + 120_000;
    while (source.stats.records < options.messages) {
      if (Date.now() > deadline)
        throw new Error(`read ${source.stats.records} of ${options.messages} in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: source.stats.records / seconds, records: source.stats.records, seconds };
  } finally {
    await source.stop();
  }
}
