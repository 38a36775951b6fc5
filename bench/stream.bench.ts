/**
 * `npm run bench:stream`: the streaming path at full speed, in one run on one local broker.
 *
 * 1. Reference: Kafka's own ProducerPerformance, with the ingest's lines as payloads and the
 *    ingest's settings as far as the tool takes them (acks=all, idempotence, gzip, one request in
 *    flight, batches of the ingest's request size over the partitions); the tool sends no keys
 *    and no headers. Then the ingest's client alone (kafkajs, the task's producer, the same
 *    lines keyed by city with the resume header, in the ingest's requests).
 * 2. Ingest: the ingest task's code (startIngest, the Fargate task's producer) fed by the
 *    replay server in its own process as fast as it reads, into Kafka and Firehose (moto). Then
 *    reading what it wrote: Kafka's own ConsumerPerformance, and the local event source's
 *    consumer (kafkajs, the stand-in for Lambda's poller) with nothing behind it.
 * 3. Counting: the city-counts handler's domain code on a table filled to 10^3, 10^4 and 10^5
 *    RSVPs (at each: ms per batch of 100, single-item writes per batch, ms per write), then the
 *    handler behind the local MSK event source on the filled table (RSVPs/s counted).
 * 4. End to end: a steady 200 RSVPs/s for 60 s from the replay server through the ingest, Kafka,
 *    the event source (the template's batch size and window) and the handler; latency from a
 *    message leaving the feed to the handler's return, its counter writes done (from then on the
 *    counts API reads it; the API's totals are checked at the end).
 * Closes with a table of figures and targets (issue 12).
 *
 * Here the setup (the local stack, the feed, the bench's topics) and the order of the parts;
 * each part's measurement in bench/stream/ (ingest.ts, counting.ts, latency.ts), the table in
 * bench/stream/report.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Kafka, logLevel } from "kafkajs";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../local/feed/synthetic/generator.js";
import { take } from "../local/feed/synthetic/sample.js";
import { ensureKafkaJars } from "../local/setup/kafka-jars.js";
import { type AwsEndpoint, awsClientConfig } from "../local/stack/aws-endpoint.js";
import { startLocalStack, useFunctionEnvironment } from "../local/stack/stack.js";
import { eventSourceControls } from "../local/stack/template-model.js";
import { KAFKA_BATCH_BYTES, recordLine } from "../tasks/ingest/ingest.js";
import { eventSourceReadRate, runConsumerPerformance } from "./stream/consumer-performance.js";
import { countedBehindEventSource, countingCost, TABLE_SIZES } from "./stream/counting.js";
import { ingestThroughput } from "./stream/ingest.js";
import { kafkajsProducerRate } from "./stream/kafkajs-producer.js";
import { endToEndLatency } from "./stream/latency.js";
import { runProducerPerformance } from "./stream/producer-performance.js";
import { fmt, type Print, printTable, type Row } from "./stream/report.js";

const INGEST_MESSAGES = 100_000;

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
    const parse = createRsvpParser();
    print(`generating ${INGEST_MESSAGES.toLocaleString("en-US")} synthetic messages...`);
    const lines = take(
      // Ending now: the ingest sets aside mtimes more than a day ahead of its clock, and the
      // generator's mean second between messages spans 28 hours here.
      syntheticLines({ seed: "bench-stream", startTime: Date.now() - INGEST_MESSAGES * 1000 }),
      INGEST_MESSAGES,
    );
    // The lines the ingest sends (its record and arrival stamp), keyed by city as it keys them.
    const arrival = Date.now();
    const keyed = lines.flatMap((line, i) => {
      const result = parse(line);
      return result.ok
        ? [{ key: result.record.city.key, value: recordLine(result.record, arrival + i) }]
        : [];
    });
    const records = keyed.map((message) => message.value);
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
      producerProps: {
        acks: "all",
        "enable.idempotence": "true",
        "compression.type": "gzip",
        "max.in.flight.requests.per.connection": "1",
        // The ingest's request (KAFKA_BATCH_BYTES) spread over the topic's partitions.
        "batch.size": String(Math.ceil(KAFKA_BATCH_BYTES / rsvpTopic.partitions)),
        "linger.ms": "0",
      },
      workDir,
    });
    print(
      `ProducerPerformance (acks=all, idempotent, gzip, 1 in flight, the ingest's lines; no keys or headers): ${fmt(reference.recordsPerSecond)} records/s, ${reference.megabytesPerSecond.toFixed(1)} MB/s, latency p50 ${reference.p50Ms} ms, p99 ${reference.p99Ms} ms`,
    );
    const client = await kafkajsProducerRate({
      kafka,
      topic: await benchTopic("bench-kafkajs"),
      messages: keyed,
    });
    keyed.length = 0;
    print(
      `the ingest's client alone (kafkajs, the task's producer, keyed, with the resume header): ${fmt(client.perSecond)} records/s (${client.requests} requests in ${client.seconds.toFixed(1)} s), ${((client.perSecond / reference.recordsPerSecond) * 100).toFixed(0)}% of the reference`,
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

    // Reading back what the ingest wrote: Kafka's own consumer tool, then the event source's.
    const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
    const readReference = await runConsumerPerformance({
      install,
      bootstrapServer: stack.kafkaBootstrapServer as string,
      topic: "bench-ingest",
      messages: ingest.produced,
      group: "bench-consumer-reference",
      workDir,
    });
    print(
      `ConsumerPerformance on the ingest's topic: ${fmt(readReference.messagesPerSecond)} records/s (${fmt(readReference.fetchMessagesPerSecond)}/s fetching, the group's join of ${readReference.rebalanceMs} ms aside), ${readReference.megabytesPerSecond.toFixed(1)} MB/s`,
    );
    const read = await eventSourceReadRate({
      kafka,
      topic: "bench-ingest",
      messages: ingest.produced,
      groupId: "bench-consumer-event-source",
      batchSize: controls.batchSize,
      batchingWindowMs: controls.batchingWindowMs,
    });
    print(
      `the local event source's consumer on it, nothing behind it (batches of ${controls.batchSize}, window ${controls.batchingWindowMs} ms): ${fmt(read.perSecond)} records/s (${read.seconds.toFixed(1)} s, its join included), ${((read.perSecond / readReference.messagesPerSecond) * 100).toFixed(0)}% of the reference`,
    );
    rows.push(
      {
        what: "reference: ProducerPerformance",
        figure: `${fmt(reference.recordsPerSecond)} records/s`,
        target: "-",
        met: null,
      },
      {
        what: "the ingest's client alone (kafkajs)",
        figure: `${fmt(client.perSecond)} records/s`,
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
      {
        what: "reference: ConsumerPerformance",
        figure: `${fmt(readReference.messagesPerSecond)} records/s`,
        target: "-",
        met: null,
      },
      {
        what: "event source's consumer, nothing behind",
        figure: `${fmt(read.perSecond)} records/s`,
        target: "-",
        met: null,
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
          what: `batch of 100, table of ${fmt(size)} RSVPs`,
          figure: `${at.msPerBatch.toFixed(0)} ms, ${at.writesPerBatch.toFixed(0)} writes (${at.msPerWrite.toFixed(2)} ms/write)`,
          target: "flat",
          met: null,
        });
    }
    const flat = (counting.get(100_000)?.msPerWrite ?? 0) / (counting.get(1_000)?.msPerWrite ?? 1);
    if (rows.at(-1)) (rows.at(-1) as Row).met = flat < 1.5;

    const { countCityRsvps } = await import("../functions/city-counts/handler.js");
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
    // At the 200/s, and at 50/s: the pipeline's own latency when moto is not saturated.
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
    printTable(rows, print);
  } finally {
    await admin.disconnect();
    dynamodb.destroy();
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
