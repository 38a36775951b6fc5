/**
 * `npm run bench:stream`: the streaming path at full speed, in one run on one local broker.
 *
 * 1. Reference: Kafka's own ProducerPerformance, with the ingest's records as payloads, acks=all,
 *    idempotence and the ingest's compression (gzip).
 * 2. Ingest: the ingest task's code (startIngest, the Fargate task's producer settings) fed by the
 *    replay server in its own process as fast as it reads, into Kafka and Firehose (moto).
 * 3. Counting: the city-counts handler's domain code on a table filled to 10^3, 10^4 and 10^5
 *    RSVPs (ms per transaction at each), then the handler behind the local MSK event source on
 *    the filled table (RSVPs/s counted).
 * 4. End to end: a steady 200 RSVPs/s for 60 s from the replay server through the ingest, Kafka,
 *    the event source (the template's batch size and window) and the handler; latency from a
 *    message leaving the feed to the commit of the transaction that counts it (from then on the
 *    counts API reads it; the API's totals are checked at the end).
 * Closes with a table of figures and targets (issue 12).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { decodeBatch, planTransactions, stateChanges } from "../functions/city-counts/counting.js";
import { type CountsStore, dynamoCountsStore } from "../functions/city-counts/counts-store.js";
import { processBatch } from "../functions/city-counts/process-batch.js";
import { queryTopCities } from "../functions/counts-api/top-cities.js";
import type { KafkaMessage } from "../functions/shared/msk-event.js";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../local/feed/synthetic/generator.js";
import { startMskEventSource } from "../local/pipeline/msk-event-source.js";
import { ensureKafkaJars } from "../local/setup/kafka-jars.js";
import { repoRoot } from "../local/setup/paths.js";
import { type AwsEndpoint, awsClientConfig } from "../local/stack/aws-endpoint.js";
import { freePorts } from "../local/stack/ports.js";
import { startLocalStack, useFunctionEnvironment } from "../local/stack/stack.js";
import { eventSourceControls } from "../local/stack/template-model.js";
import { createFirehoseWriter } from "../tasks/ingest/firehose-writer.js";
import { startIngest } from "../tasks/ingest/ingest.js";
import { startReplayServer } from "../tasks/replay-feed/replay-server.js";
import { runProducerPerformance } from "./stream/producer-performance.js";

const INGEST_MESSAGES = 100_000;
const TABLE_SIZES = [1_000, 10_000, 100_000] as const;
const COUNTED_BEHIND_EVENT_SOURCE = 4_000;
const LATENCY_SECONDS = 60;
/** The first day the latency feeds' RSVPs count on (one day per run), apart from the rest. */
const LATENCY_DAY_START = Date.UTC(2026, 0, 1);
const PSEUDONYM_KEY = "bench-stream-key-0123456789abcdef0123";

type Print = (line: string) => void;

interface Row {
  what: string;
  figure: string;
  target: string;
  met: boolean | null;
}

export async function run(print: Print): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), "rsvp-atlas-bench-stream-"));
  const stack = await startLocalStack({ progress: (line) => print(`[stack] ${line}`) });
  // The handlers log a JSON line per batch at INFO; the bench prints figures only.
  process.env.POWERTOOLS_LOG_LEVEL = "WARN";
  const kafka = new Kafka({
    clientId: "rsvp-atlas-bench-stream",
    brokers: [stack.kafkaBootstrapServer as string],
    logLevel: logLevel.NOTHING,
  });
  const aws = stack.aws as AwsEndpoint;
  const dynamodb = new DynamoDBClient(awsClientConfig(aws));
  const admin = kafka.admin();
  await admin.connect();
  const rsvpTopic = stack.model.topics.find((topic) => topic.parameter === "RsvpTopicName");
  if (!rsvpTopic) throw new Error("template.yaml has no RsvpTopicName topic");
  /** A topic shaped like the RSVP topic, so each part reads only its own records. */
  const benchTopic = async (name: string) => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: rsvpTopic.partitions, replicationFactor: 1 }],
    });
    return name;
  };
  const rows: Row[] = [];
  try {
    const parse = createRsvpParser({ pseudonymKey: PSEUDONYM_KEY });
    print(`generating ${INGEST_MESSAGES.toLocaleString("en-US")} synthetic messages...`);
    const lines = take(
      syntheticLines({ seed: "bench-stream", startTime: Date.now() }),
      INGEST_MESSAGES,
    );
    const records = lines.flatMap((line) => {
      const result = parse(line);
      return result.ok ? [JSON.stringify(result.record)] : [];
    });
    const recordBytes = records.reduce((sum, record) => sum + Buffer.byteLength(record), 0);
    print(
      `${records.length.toLocaleString("en-US")} valid records, ${Math.round(recordBytes / records.length)} bytes on average`,
    );

    // 1. Kafka's own tool, the ingest's settings.
    const install = await ensureKafkaJars();
    const reference = await runProducerPerformance({
      install,
      bootstrapServer: stack.kafkaBootstrapServer as string,
      topic: await benchTopic("bench-reference"),
      records: INGEST_MESSAGES,
      payloads: records.slice(0, 10_000),
      producerProps: { acks: "all", "enable.idempotence": "true", "compression.type": "gzip" },
      workDir,
    });
    print(
      `ProducerPerformance (acks=all, idempotent, gzip, the ingest's records): ${fmt(reference.recordsPerSecond)} records/s, ${reference.megabytesPerSecond.toFixed(1)} MB/s, latency p50 ${reference.p50Ms} ms, p99 ${reference.p99Ms} ms`,
    );

    // 2. The ingest task's code.
    const ingest = await ingestThroughput({
      kafka,
      aws,
      lines,
      parse,
      topic: await benchTopic("bench-ingest"),
      deadLetterTopic: await benchTopic("bench-ingest-dead-letters"),
      deliveryStreamName: stack.resources.deliveryStreams.RawDeliveryStream as string,
      workDir,
    });
    // 180 MB of strings the rest does not need: kept, their GC pauses would show as latency.
    lines.length = 0;
    records.length = 0;
    const share = ingest.perSecond / reference.recordsPerSecond;
    print(
      `ingest (replay server in its own process -> parse -> Kafka acks=all idempotent gzip + Firehose): ${fmt(ingest.perSecond)} RSVPs/s (${ingest.produced.toLocaleString("en-US")} RSVPs in ${ingest.seconds.toFixed(1)} s, ${ingest.firehose.toLocaleString("en-US")} lines to Firehose, ${ingest.deadLettered} dead letters), ${(share * 100).toFixed(0)}% of the reference`,
    );
    rows.push(
      {
        what: "reference: ProducerPerformance",
        figure: `${fmt(reference.recordsPerSecond)} records/s`,
        target: "-",
        met: null,
      },
      {
        what: "ingest into Kafka + Firehose",
        figure: `${fmt(ingest.perSecond)} RSVPs/s`,
        target: ">= 20,000/s",
        met: ingest.perSecond >= 20_000,
      },
      {
        what: "ingest / reference",
        figure: `${(share * 100).toFixed(0)}%`,
        target: ">= 30%",
        met: share >= 0.3,
      },
    );

    // 3. Counting, on the table the template declares.
    useFunctionEnvironment(stack, "CityCountsFunction");
    process.env.POWERTOOLS_LOG_LEVEL = "WARN";
    const tableName = stack.resources.tables.CityCountsTable as string;
    const counting = await countingCost({ dynamodb, tableName, parse, print });
    for (const size of TABLE_SIZES) {
      const at = counting.get(size);
      if (at)
        rows.push({
          what: `transaction, table of ${fmt(size)} RSVPs`,
          figure: `${at.msPerTransaction.toFixed(0)} ms (${at.msPerAction.toFixed(2)} ms/action)`,
          target: "flat",
          met: null,
        });
    }
    const flat =
      (counting.get(100_000)?.msPerAction ?? 0) / (counting.get(1_000)?.msPerAction ?? 1);
    if (rows.at(-1)) (rows.at(-1) as Row).met = flat < 1.5;

    const { countCityRsvps } = await import("../functions/city-counts/handler.js");
    const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
    const behind = await countedBehindEventSource({
      kafka,
      topic: await benchTopic("bench-counting"),
      parse,
      handler: countCityRsvps,
      controls,
    });
    print(
      `city-counts behind the local event source, table of 10^5: ${fmt(behind.perSecond)} RSVPs/s (${behind.counted} RSVPs in ${behind.seconds.toFixed(1)} s, ${behind.invocations} invocations)`,
    );
    rows.push({
      what: "city-counts, table of 10^5",
      figure: `${fmt(behind.perSecond)} RSVPs/s`,
      target: ">= 1,000/s",
      met: behind.perSecond >= 1_000,
    });

    // 4. End to end.
    // At the issue's 200/s, and at 50/s: the pipeline's own latency when moto is not saturated.
    for (const [run, rate] of [200, 50].entries()) {
      const latency = await endToEndLatency({
        kafka,
        aws,
        dynamodb,
        tableName,
        parse,
        rate,
        run,
        topic: await benchTopic(`bench-latency-${rate}`),
        deadLetterTopic: await benchTopic(`bench-latency-${rate}-dead-letters`),
        deliveryStreamName: stack.resources.deliveryStreams.RawDeliveryStream as string,
        handler: countCityRsvps,
        controls,
        print,
      });
      rows.push({
        what: `end to end at ${rate}/s, window ${controls.batchingWindowMs} ms`,
        figure: `p50 ${latency.p50.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms`,
        target: rate === 200 ? "p99 < 1,000 ms" : "-",
        met: rate === 200 ? latency.p99 < 1000 : null,
      });
      rows.push({
        what: "  invocations at that rate",
        figure: `${latency.invocationsPerMinute.toFixed(0)}/min, ${fmt(latency.invocationsPerMinute * 60 * 24)}/day`,
        target: "-",
        met: null,
      });
    }

    print("");
    const width = Math.max(...rows.map((row) => row.what.length));
    const figureWidth = Math.max(...rows.map((row) => row.figure.length));
    print(`${"".padEnd(width)}  ${"figure".padEnd(figureWidth)}  target`);
    for (const row of rows)
      print(
        `${row.what.padEnd(width)}  ${row.figure.padEnd(figureWidth)}  ${row.target}${row.met === null ? "" : row.met ? "  met" : "  NOT met"}`,
      );
  } finally {
    await admin.disconnect();
    dynamodb.destroy();
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function take<T>(items: Iterable<T>, count: number): T[] {
  const taken: T[] = [];
  for (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The Fargate task's producer (tasks/ingest/main.ts). */
function ingestProducer(kafka: Kafka) {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

export async function ingestThroughput(options: {
  kafka: Kafka;
  aws: AwsEndpoint;
  lines: string[];
  parse: ReturnType<typeof createRsvpParser>;
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
function startBenchIngest(
  feedUrl: string,
  producer: ReturnType<typeof ingestProducer>,
  firehose: FirehoseClient,
  options: {
    parse: ReturnType<typeof createRsvpParser>;
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

/** Counter and state writes of fresh RSVPs, ids from `firstId` on, as the Lambda gets them. */
function freshMessages(
  parse: ReturnType<typeof createRsvpParser>,
  seed: string,
  firstId: number,
  count: number,
  topic = "bench",
): KafkaMessage[] {
  const messages: KafkaMessage[] = [];
  for (const line of syntheticLines({
    seed,
    startTime: Date.now(),
    malformedShare: 0,
    updateShare: 0,
  })) {
    const result = parse(line);
    if (!result.ok) continue;
    const record = { ...result.record, rsvpId: firstId + messages.length };
    messages.push({
      topic,
      partition: 0,
      offset: messages.length,
      value: JSON.stringify(record),
    });
    if (messages.length === count) break;
  }
  return messages;
}

/** Fills the table with state items of `count` more RSVPs (what the Lambda writes for each). */
async function fillStates(
  dynamodb: DynamoDBClient,
  tableName: string,
  messages: KafkaMessage[],
): Promise<void> {
  const nowMs = Date.now();
  const items: Record<string, AttributeValue>[] = [];
  for (let start = 0; start < messages.length; start += 1000) {
    const batch = decodeBatch(messages.slice(start, start + 1000));
    const changes = stateChanges(batch.rsvps, new Map(), {
      nowMs,
      keepAliveSeconds: 170 * 3600,
    });
    // State items only (day markers repeat across plans; counters are what counting adds).
    for (const planned of planTransactions(changes, {
      tableName,
      nowMs,
      stateTtlSeconds: 14 * 86_400,
      keepAliveSeconds: 170 * 3600,
    }))
      for (const action of planned.actions)
        if (action.Put?.Item?.pk?.S?.startsWith("RSVP#")) items.push(action.Put.Item);
  }
  const requests: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < requests.length; start += 25) {
    let pending: WriteRequest[] = requests.slice(start, start + 25);
    inFlight.push(
      (async () => {
        while (pending.length > 0) {
          const answer = await dynamodb.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = answer.UnprocessedItems?.[tableName] ?? [];
        }
      })(),
    );
    if (inFlight.length >= 4) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
}

async function countingCost(options: {
  dynamodb: DynamoDBClient;
  tableName: string;
  parse: ReturnType<typeof createRsvpParser>;
  print: Print;
}): Promise<Map<number, { msPerTransaction: number; msPerAction: number }>> {
  const store = dynamoCountsStore(options.dynamodb, options.tableName);
  const timings: { actions: number; ms: number }[] = [];
  const timed: CountsStore = {
    ...store,
    applyTransaction: async (actions) => {
      const started = performance.now();
      const result = await store.applyTransaction(actions);
      timings.push({ actions: actions.length, ms: performance.now() - started });
      return result;
    },
  };
  const results = new Map<number, { msPerTransaction: number; msPerAction: number }>();
  let inTable = 0;
  let nextId = 3_000_000_000;
  for (const size of TABLE_SIZES) {
    const started = performance.now();
    const fill = freshMessages(options.parse, `bench-fill-${size}`, nextId, size - inTable);
    nextId += fill.length;
    await fillStates(options.dynamodb, options.tableName, fill);
    inTable = size;
    const fillSeconds = (performance.now() - started) / 1000;
    timings.length = 0;
    const probe = freshMessages(options.parse, `bench-probe-${size}`, nextId, 500);
    nextId += probe.length;
    for (let start = 0; start < probe.length; start += 100)
      await processBatch(probe.slice(start, start + 100), {
        store: timed,
        tableName: options.tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3600,
      });
    inTable += probe.length;
    const ms = timings.reduce((sum, t) => sum + t.ms, 0);
    const actions = timings.reduce((sum, t) => sum + t.actions, 0);
    const perTransaction = timings.map((t) => t.ms).sort((a, b) => a - b);
    const result = {
      msPerTransaction: percentile(perTransaction, 50),
      msPerAction: ms / actions,
    };
    results.set(size, result);
    options.print(
      `table of ${fmt(size)} RSVPs (filled in ${fillSeconds.toFixed(1)} s): ${timings.length} transactions of ${Math.round(actions / timings.length)} actions on average, median ${result.msPerTransaction.toFixed(0)} ms, ${result.msPerAction.toFixed(2)} ms per action`,
    );
  }
  return results;
}

type Handler = (event: import("../functions/shared/msk-event.js").MskEvent) => Promise<{
  counted: number;
}>;
type Controls = ReturnType<typeof eventSourceControls>;

export async function countedBehindEventSource(options: {
  kafka: Kafka;
  topic: string;
  parse: ReturnType<typeof createRsvpParser>;
  handler: Handler;
  controls: Controls;
}): Promise<{ perSecond: number; counted: number; seconds: number; invocations: number }> {
  const messages = freshMessages(
    options.parse,
    "bench-behind",
    4_000_000_000,
    COUNTED_BEHIND_EVENT_SOURCE,
  );
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  for (let start = 0; start < messages.length; start += 500)
    await producer.send({
      topic: options.topic,
      acks: -1,
      messages: messages.slice(start, start + 500).map((message) => {
        const value = message.value as string;
        return { key: (JSON.parse(value) as { city: { key: string } }).city.key, value };
      }),
    });
  await producer.disconnect();
  let counted = 0;
  const started = performance.now();
  const source = await startMskEventSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: "bench-counting",
    batchSize: options.controls.batchSize,
    batchingWindowMs: options.controls.batchingWindowMs,
    maximumRetryAttempts: options.controls.maximumRetryAttempts,
    bisectOnError: options.controls.bisectOnError,
    handler: async (event) => {
      // Read after the await: handlers of several partitions run at once.
      const result = await options.handler(event);
      counted += result.counted;
    },
  });
  try {
    while (source.stats.records < messages.length)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    return {
      perSecond: counted / seconds,
      counted,
      seconds,
      invocations: source.stats.invocations,
    };
  } finally {
    await source.stop();
  }
}

export async function endToEndLatency(options: {
  kafka: Kafka;
  aws: AwsEndpoint;
  dynamodb: DynamoDBClient;
  tableName: string;
  parse: ReturnType<typeof createRsvpParser>;
  /** RSVPs per second, for LATENCY_SECONDS. */
  rate: number;
  /** 0, 1, ...: each run has its own day and its own RSVP ids. */
  run: number;
  topic: string;
  deadLetterTopic: string;
  deliveryStreamName: string;
  handler: Handler;
  controls: Controls;
  print: Print;
}): Promise<{ p50: number; p99: number; invocationsPerMinute: number }> {
  const dayStart = LATENCY_DAY_START + options.run * 86_400_000;
  const lines = take(
    syntheticLines({
      seed: "bench-latency",
      startTime: dayStart,
      meanIntervalMs: 1000 / options.rate,
      malformedShare: 0,
    }),
    options.rate * LATENCY_SECONDS,
  ).map((line) => {
    // Ids of this run only: the generator's ids start in the same range for every seed.
    const message = JSON.parse(line) as { rsvp_id: number };
    return JSON.stringify({
      ...message,
      rsvp_id: 5_000_000_000 + options.run * 10_000_000 + (message.rsvp_id % 10_000_000),
    });
  });
  const identity = (rsvpId: number, mtime: number) => `${rsvpId}:${mtime}`;
  const expected = new Set<string>();
  const usRsvps = new Set<number>();
  for (const line of lines) {
    const result = options.parse(line);
    if (!result.ok) throw new Error(`the latency feed has an invalid line: ${line.slice(0, 200)}`);
    expected.add(identity(result.record.rsvpId, result.record.mtime));
    if (result.record.city.country === "us") usRsvps.add(result.record.rsvpId);
  }
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const stages = { ingest: [] as number[], waiting: [] as number[], handler: [] as number[] };
  const feed = await startReplayServer({
    source: () => lines,
    pacing: { kind: "rate", perSecond: options.rate },
    // Called for each line as it leaves, after pacing: the send time.
    startPass: () => (line) => {
      const message = JSON.parse(line) as { rsvp_id: number; mtime: number };
      sentAt.set(identity(message.rsvp_id, message.mtime), Date.now());
      return line;
    },
  });
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  const firehose = new FirehoseClient(awsClientConfig(options.aws));
  const source = await startMskEventSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: "bench-latency",
    batchSize: options.controls.batchSize,
    batchingWindowMs: options.controls.batchingWindowMs,
    maximumRetryAttempts: options.controls.maximumRetryAttempts,
    bisectOnError: options.controls.bisectOnError,
    handler: async (event) => {
      const invoked = Date.now();
      await options.handler(event);
      const committed = Date.now();
      for (const records of Object.values(event.records))
        for (const record of records) {
          const value = JSON.parse(Buffer.from(record.value ?? "", "base64").toString("utf8")) as {
            rsvpId: number;
            mtime: number;
          };
          const sent = sentAt.get(identity(value.rsvpId, value.mtime));
          if (sent === undefined) continue;
          latencies.push(committed - sent);
          // Where the time went: the ingest (to the producer's record timestamp), the wait for
          // an invocation (batching window, queue), the invocation itself.
          stages.ingest.push(record.timestamp - sent);
          stages.waiting.push(invoked - record.timestamp);
          stages.handler.push(committed - invoked);
        }
    },
  });
  const invocationsBefore = source.stats.invocations;
  options.print(
    `end to end: ${lines.length.toLocaleString("en-US")} RSVPs at ${options.rate}/s through the ingest, Kafka, the event source (batch ${options.controls.batchSize}, window ${options.controls.batchingWindowMs} ms) and the handler...`,
  );
  const started = performance.now();
  const ingest = startBenchIngest(feed.url, producer, firehose, options);
  try {
    await ingest.finished;
    const feedSeconds = (performance.now() - started) / 1000;
    const deadline = performance.now() + 300_000;
    while (latencies.length < expected.size && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const invocations = source.stats.invocations - invocationsBefore;
    const sorted = latencies.sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const api = await queryTopCities(options.dynamodb, options.tableName, {
      country: "us",
      day,
      limit: 100,
    });
    options.print(
      `end to end: fed in ${feedSeconds.toFixed(1)} s; ${latencies.length.toLocaleString("en-US")} of ${expected.size.toLocaleString("en-US")} counted; send -> commit p50 ${p50.toFixed(0)} ms, p90 ${percentile(sorted, 90).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms; ${invocations} invocations`,
    );
    options.print(
      `end to end, by stage (p50 / p99 ms): ${Object.entries(stages)
        .map(([stage, values]) => {
          const ordered = values.sort((a, b) => a - b);
          return `${stage} ${percentile(ordered, 50).toFixed(0)} / ${percentile(ordered, 99).toFixed(0)}`;
        })
        .join(", ")}`,
    );
    const apiTotal = await usTotal(options.dynamodb, options.tableName, day, api.totalCities);
    options.print(
      `end to end: the counts API shows ${apiTotal.toLocaleString("en-US")} US RSVPs on ${day} in ${api.totalCities} cities; the feed sent ${usRsvps.size.toLocaleString("en-US")}`,
    );
    if (latencies.length < expected.size)
      throw new Error(
        `only ${latencies.length} of ${expected.size} messages were counted within 300 s`,
      );
    return { p50, p99, invocationsPerMinute: invocations / (feedSeconds / 60) };
  } finally {
    await ingest.stop().catch(() => {});
    await source.stop();
    await producer.disconnect();
    firehose.destroy();
    await feed.close();
  }
}

/** All US RSVPs of `day` through the counts API's query (every city, not the top 100). */
async function usTotal(
  dynamodb: DynamoDBClient,
  tableName: string,
  day: string,
  cities: number,
): Promise<number> {
  const all = await queryTopCities(dynamodb, tableName, {
    country: "us",
    day,
    limit: Math.max(1, cities),
  });
  return all.cities.reduce((sum, city) => sum + city.rsvps, 0);
}
