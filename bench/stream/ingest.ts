/**
 * The stream bench's ingest: the ingest task's code (startIngest with the Fargate task's
 * producer) reading a feed played by the replay server in its own process, as fast as
 * it reads, into Kafka and Firehose (moto).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import type { Kafka } from "kafkajs";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import { repoRoot } from "../../local/setup/paths.js";
import { type AwsEndpoint, awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { freePorts } from "../../local/stack/ports.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { startIngest } from "../../tasks/ingest/ingest.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";

export async function ingestThroughput(options: {
  kafka: Kafka;
  aws: AwsEndpoint;
  lines: string[];
  parse: RsvpParser;
  topic: string;
  deadLetterTopic: string;
  deliveryStreamName: string;
  workDir: string;
}): Promise<{
  perSecond: number;
  produced: number;
  firehose: number;
  deadLettered: number;
  seconds: number;
}> {
  const file = join(options.workDir, "feed.jsonl");
  writeFileSync(file, `${options.lines.join("\n")}\n`);
  const [port] = (await freePorts(1)) as [number];
  const feed = await startFeedProcess(file, port);
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  const firehose = new FirehoseClient(awsClientConfig(options.aws));
  try {
    const started = performance.now();
    const ingest = startBenchIngest(`ws://127.0.0.1:${port}/`, producer, firehose, options);
    await ingest.finished;
    const seconds = (performance.now() - started) / 1000;
    const counters = ingest.counters();
    return {
      perSecond: counters.produced / seconds,
      produced: counters.produced,
      firehose: counters.sentToFirehose,
      deadLettered: counters.deadLettered,
      seconds,
    };
  } finally {
    await producer.disconnect();
    firehose.destroy();
    feed.kill("SIGTERM");
  }
}

/** The ingest task's code on a feed played once, into the bench's topics and Firehose. */
export function startBenchIngest(
  feedUrl: string,
  producer: ReturnType<typeof ingestProducer>,
  firehose: FirehoseClient,
  options: {
    parse: RsvpParser;
    topic: string;
    deadLetterTopic: string;
    deliveryStreamName: string;
  },
) {
  return startIngest({
    feedUrl,
    parse: options.parse,
    producer,
    rsvpTopic: options.topic,
    deadLetterTopic: options.deadLetterTopic,
    writeFirehose: createFirehoseWriter({
      client: firehose,
      deliveryStreamName: options.deliveryStreamName,
    }),
    reconnectAfterNormalClose: false,
  });
}

/** `npm run replay -- --input FILE --asap` in its own process, as the feed is on AWS. */
async function startFeedProcess(file: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "local", "cli", "replay.ts"),
      "--input",
      file,
      "--asap",
      "--port",
      String(port),
    ],
    { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let text = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("serving")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`the replay feed exited (${code}):\n${text}`)));
  });
  return child;
}
