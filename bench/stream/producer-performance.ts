/**
 * Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance, from the
 * kafka-tools jar local/kafka/pom.xml fetches with the broker), run against the local broker:
 * the reference line the ingest's throughput is read against. Its payloads come from a file of
 * the ingest's own records, so both send the same bytes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KafkaInstall } from "../../local/setup/kafka-jars.js";
import { runKafkaTool } from "./kafka-tool.js";

export interface ProducerPerformanceSummary {
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The tool's closing line, e.g. `100000 records sent, 61349.7 records/sec (50.01 MB/sec),
 * 215.32 ms avg latency, 480.00 ms max latency, 208 ms 50th, 455 ms 95th, 472 ms 99th,
 * 479 ms 99.9th.` (ProducerPerformance.Stats.printTotal). Interim lines have no percentiles.
 */
export function parseProducerPerformanceSummary(output: string): ProducerPerformanceSummary {
  const line = output
    .split("\n")
    .reverse()
    .find((candidate) => /records sent.*50th/.test(candidate));
  const match = line?.match(
    /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/,
  );
  if (!match)
    throw new Error(`ProducerPerformance printed no summary line:\n${output.slice(-2000)}`);
  const [, records, perSecond, mbPerSecond, avg, max, p50, p99] = match.map(Number) as number[];
  return {
    records: records as number,
    recordsPerSecond: perSecond as number,
    megabytesPerSecond: mbPerSecond as number,
    avgLatencyMs: avg as number,
    maxLatencyMs: max as number,
    p50Ms: p50 as number,
    p99Ms: p99 as number,
  };
}

export interface ProducerPerformanceRun {
  install: KafkaInstall;
  bootstrapServer: string;
  topic: string;
  records: number;
  /** The payloads, one per line (the tool picks among them at random). */
  payloads: string[];
  /** Producer settings beyond bootstrap.servers, e.g. acks=all. */
  producerProps: Record<string, string>;
  workDir: string;
}

export async function runProducerPerformance(
  run: ProducerPerformanceRun,
): Promise<ProducerPerformanceSummary> {
  const payloadFile = join(run.workDir, "producer-performance-payloads.txt");
  writeFileSync(payloadFile, `${run.payloads.join("\n")}\n`);
  const props = Object.entries({ "bootstrap.servers": run.bootstrapServer, ...run.producerProps });
  const output = await runKafkaTool(
    run.install,
    "ProducerPerformance",
    [
      "--topic",
      run.topic,
      "--num-records",
      String(run.records),
      "--throughput",
      "-1",
      "--payload-file",
      payloadFile,
      "--producer-props",
      ...props.map(([name, value]) => `${name}=${value}`),
    ],
    run.workDir,
  );
  return parseProducerPerformanceSummary(output);
}
