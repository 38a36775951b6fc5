/**
 * What a test added to topics of the shared local broker: their end offsets before it ran, and
 * every record from there up to their end once it is done (integration files run one at a time,
 * so nothing else writes in between).
 */
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";

/** Topic → partition → offset. */
export type TopicOffsets = Map<string, Map<number, bigint>>;

export interface TopicRecord {
  topic: string;
  partition: number;
  key: string | null;
  value: string;
  /** Header names and their (first) values as text. */
  headers: Record<string, string>;
}

/** The end offset of every partition of `topics`: where the next record of each will go. */
export async function endOffsets(kafka: Kafka, topics: string[]): Promise<TopicOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends: TopicOffsets = new Map();
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends.set(topic, new Map(offsets.map((o) => [o.partition, BigInt(o.high)])));
    }
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every record of the topics of `from`, from its offsets up to the topics' end offsets now:
 * each exactly once, in no particular order across partitions. Fails after `timeoutMs` saying
 * how many of them were read.
 */
export async function recordsSince(
  kafka: Kafka,
  from: TopicOffsets,
  timeoutMs = 60_000,
): Promise<TopicRecord[]> {
  const topics = [...from.keys()];
  const to = await endOffsets(kafka, topics);
  let expected = 0n;
  for (const [topic, ends] of to) {
    for (const [partition, end] of ends) expected += end - (from.get(topic)?.get(partition) ?? 0n);
  }
  const records: TopicRecord[] = [];
  if (expected === 0n) return records;
  const seen = new Set<string>(); // a rebalance may deliver a record again

  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`read ${records.length} of ${expected} records of ${topics.join(", ")}`),
          ),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const offset = BigInt(message.offset);
          const start = from.get(topic)?.get(partition) ?? 0n;
          const end = to.get(topic)?.get(partition) ?? 0n;
          const id = `${topic}/${partition}@${offset}`;
          if (offset < start || offset >= end || seen.has(id)) return;
          seen.add(id);
          records.push({
            topic,
            partition,
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? "",
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([name, value]) => [
                name,
                (Array.isArray(value) ? value[0] : value)?.toString() ?? "",
              ]),
            ),
          });
          if (BigInt(records.length) === expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Makes `topics` (name → partitions) on the broker of `kafka` and waits for their leaders. */
export async function createTestTopics(
  kafka: Kafka,
  topics: Record<string, number>,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: Object.entries(topics).map(([topic, numPartitions]) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}
