/**
 * A broker of a two-broker cluster (MSK's smallest) SIGKILLed while the ingest's producer
 * (tasks/ingest/renewable-producer.ts `ingestProducer`) sends: the partitions it led move to
 * the other broker mid-stream, the case where kafkajs 2.2.4 alone can resolve a send without
 * writing the moved partitions (kafkajs#1303; tasks/ingest/complete-send.ts, whose unit test
 * makes the case exactly). Here on real brokers: every record sent must be on the topic after,
 * as the sender sees it (a failed send sent again, as the ingest's buffered sender does).
 * Duplicates are allowed (the counting takes them once) and reported.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureKafkaJars } from "../../local/setup/kafka-jars.js";
import { runsDir } from "../../local/setup/paths.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { startTwoBrokerCluster, type TwoBrokerCluster } from "../support/two-broker-kafka.js";

const TOPIC = "two-brokers-it";
const PARTITIONS = 6;
const MESSAGES = 24_000;
const BATCH = 200;
/** Client retries long enough to ride out the kill (the broker is fenced after 3 s here). */
const RETRY = { retries: 30, initialRetryTime: 300, maxRetryTime: 2_000, factor: 0.2 };

let runDir = "";
let cluster: TwoBrokerCluster;
let kafka: Kafka;

beforeAll(async () => {
  mkdirSync(runsDir, { recursive: true });
  runDir = mkdtempSync(join(runsDir, "two-brokers-"));
  cluster = await startTwoBrokerCluster(await ensureKafkaJars(), runDir);
  kafka = new Kafka({
    clientId: "two-brokers-it",
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
    retry: RETRY,
  });
  const admin = kafka.admin();
  await admin.connect();
  // Leaders alternate: partitions 0, 2, 4 on node 1, and 1, 3, 5 on node 2, each on both.
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: TOPIC,
        replicaAssignment: Array.from({ length: PARTITIONS }, (_, partition) => ({
          partition,
          replicas: partition % 2 === 0 ? [1, 2] : [2, 1],
        })),
      },
    ],
  });
  await admin.disconnect();
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

describe("a broker killed mid-stream on a two-broker cluster", () => {
  it("moves its partitions' leadership, and every record the producer sent is on the topic", async () => {
    const warnings: Record<string, unknown>[] = [];
    const producer = ingestProducer(kafka, {
      retry: RETRY,
      logger: { warn: (_message, attributes) => warnings.push(attributes) },
    });
    await producer.connect();
    const values = Array.from({ length: MESSAGES }, (_, i) => `rsvp-${i}`);
    let failedSends = 0;
    let killing: Promise<void> | undefined;
    for (let start = 0; start < MESSAGES; start += BATCH) {
      const messages = values
        .slice(start, start + BATCH)
        .map((value, i) => ({ key: `city-${(start + i) % 97}`, value }));
      // The kill lands while sends are in flight, a fifth of the way in.
      if (start === MESSAGES / 5) killing = cluster.killNodeTwo();
      for (;;) {
        try {
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic: TOPIC, messages }] });
          break;
        } catch {
          // As the ingest's buffered sender does: the same batch again, after a pause.
          failedSends += 1;
          await sleep(500);
        }
      }
      await sleep(10);
    }
    await killing;
    await producer.disconnect();

    // The fault took place: node 2 is gone and node 1 leads every partition.
    const admin = kafka.admin();
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    const leaders = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]?.partitions;
    await admin.disconnect();
    expect(brokers.map((b) => b.nodeId)).toEqual([1]);
    expect(leaders?.map((p) => p.leader)).toEqual(Array(PARTITIONS).fill(1));

    // Everything sent is there, read back by a consumer group from the start.
    const seen = new Map<string, number>();
    const consumer = kafka.consumer({ groupId: "two-brokers-it-reader" });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = String(message.value);
        seen.set(value, (seen.get(value) ?? 0) + 1);
      },
    });
    const deadline = Date.now() + 60_000;
    while (values.some((value) => !seen.has(value)) && Date.now() < deadline) await sleep(200);
    await consumer.disconnect();
    const missing = values.filter((value) => !seen.has(value));
    const doubled = [...seen.values()].filter((count) => count > 1).length;
    console.info(
      `two brokers: ${MESSAGES} sent, ${failedSends} sends failed and were made again, ${warnings.length} partial sends completed, ${doubled} records on the topic twice, ${missing.length} missing`,
    );
    expect(missing).toEqual([]);
  }, 240_000);
});
