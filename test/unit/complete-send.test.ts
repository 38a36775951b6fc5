/**
 * Sends that write every partition (tasks/ingest/complete-send.ts), on kafkajs's own send logic
 * (src/producer/sendMessages.js of the pinned 2.2.4) over a two-broker cluster whose second
 * broker loses its partition's leadership to the first in the middle of a send, as an MSK broker
 * being patched does. A single local broker cannot show this: every partition has one leader.
 */
import { createRequire } from "node:module";
import type { Message, ProducerBatch, RecordMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import {
  IncompleteSendError,
  type Placements,
  placingPartitioner,
  sendCompletely,
  unwritten,
} from "../../tasks/ingest/complete-send.js";

const require = createRequire(import.meta.url);
type SendMessages = (batch: ProducerBatch) => Promise<RecordMetadata[]>;
const createSendMessages = require("kafkajs/src/producer/sendMessages.js") as (deps: {
  logger: unknown;
  cluster: unknown;
  partitioner: unknown;
  eosManager: unknown;
  retrier: unknown;
}) => SendMessages;
const createRetry = require("kafkajs/src/retry/index.js") as (options: object) => unknown;
const { KafkaJSProtocolError } = require("kafkajs/src/errors.js") as {
  KafkaJSProtocolError: new (e: unknown) => Error;
};
const { createErrorFromCode } = require("kafkajs/src/protocol/error.js") as {
  createErrorFromCode: (code: number) => unknown;
};
const NOT_LEADER_FOR_PARTITION = 6;
const TOPIC = "meetup";

interface Written {
  broker: number;
  partition: number;
  firstSequence: number;
  keys: string[];
}

/**
 * Partition 0 led by broker 1, partition 1 by broker 2. Broker 2's first request fails with
 * NOT_LEADER_FOR_PARTITION after partition 1's leadership moved to broker 1.
 */
function twoBrokerCluster(placements: Placements) {
  const leaderOf = new Map([
    [0, 1],
    [1, 2],
  ]);
  const written: Written[] = [];
  const sequences = new Map<string, number>();
  let broker2Fails = true;
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({
      topicData,
    }: {
      topicData: {
        topic: string;
        partitions: { partition: number; firstSequence: number; messages: Message[] }[];
      }[];
    }) {
      if (nodeId === 2 && broker2Fails) {
        broker2Fails = false;
        leaderOf.set(1, 1);
        throw new KafkaJSProtocolError(createErrorFromCode(NOT_LEADER_FOR_PARTITION));
      }
      const topics = topicData.map(({ topic, partitions }) => ({
        topicName: topic,
        partitions: partitions.map(({ partition, firstSequence, messages }) => {
          if (leaderOf.get(partition) !== nodeId) throw new Error("sent to a follower");
          written.push({
            broker: nodeId,
            partition,
            firstSequence,
            keys: messages.map((m) => String(m.key)),
          });
          return { partition, errorCode: 0, baseOffset: "0", logAppendTime: "-1" };
        }),
      }));
      return { topics };
    },
  });
  const brokers = new Map([1, 2].map((id) => [id, broker(id)]));
  const cluster = {
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => {},
    addMultipleTargetTopics: async () => {},
    isConnected: () => true,
    removeBroker: () => {},
    findTopicPartitionMetadata: () =>
      [0, 1].map((partitionId) => ({
        partitionId,
        leader: leaderOf.get(partitionId),
        replicas: [1, 2],
        isr: [1, 2],
        partitionErrorCode: 0,
      })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const byLeader: Record<number, number[]> = {};
      for (const partition of partitions.map(Number)) {
        const leader = leaderOf.get(partition) ?? -1;
        byLeader[leader] = [...(byLeader[leader] ?? []), partition];
      }
      return byLeader;
    },
    findBroker: async ({ nodeId }: { nodeId: number | string }) => brokers.get(Number(nodeId)),
  };
  const eosManager = {
    isTransactional: () => false,
    acquireBrokerLock: async () => {},
    releaseBrokerLock: async () => {},
    getProducerId: () => 1000,
    getProducerEpoch: () => 0,
    getSequence: (topic: string, partition: number) => sequences.get(`${topic}-${partition}`) ?? 0,
    updateSequence: (topic: string, partition: number, increment: number) => {
      const key = `${topic}-${partition}`;
      sequences.set(key, (sequences.get(key) ?? 0) + increment);
    },
  };
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const send = createSendMessages({
    logger: quiet,
    cluster,
    partitioner: placingPartitioner(placements)(),
    eosManager,
    retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
  });
  return { send, written };
}

/** Ten cities, keyed as the ingest keys them, spread over both partitions. */
function batch(): ProducerBatch {
  const messages = Array.from({ length: 10 }, (_, i) => ({
    key: `us/ny/city-${i}`,
    value: `{"rsvpId":${i}}`,
  }));
  return { acks: -1, topicMessages: [{ topic: TOPIC, messages }] };
}

const keysOn = (written: Written[], partition: number) =>
  written.filter((w) => w.partition === partition).flatMap((w) => w.keys);

describe("a send over a broker that loses its leadership mid-send", () => {
  it("kafkajs 2.2.4 alone resolves without writing the moved partition (kafkajs#1303)", async () => {
    const placements: Placements = new WeakMap();
    const { send, written } = twoBrokerCluster(placements);
    const sent = batch();
    const answered = await send(sent);
    const messages = sent.topicMessages?.[0]?.messages ?? [];
    const onPartition1 = messages.filter((m) => placements.get(m) === 1).map((m) => m.key);
    expect(onPartition1.length).toBeGreaterThan(0);
    expect(onPartition1.length).toBeLessThan(messages.length);
    expect(answered.map((r) => r.partition)).toEqual([0]);
    expect(keysOn(written, 1)).toEqual([]);
  });

  it("sendCompletely sends the unwritten partition again, with its sequence given back, and writes every message once", async () => {
    const placements: Placements = new WeakMap();
    const { send, written } = twoBrokerCluster(placements);
    const sent = batch();
    const partials: unknown[] = [];
    const answered = await sendCompletely(send, sent, placements, {
      onPartial: (partial) => partials.push(partial),
    });
    expect(answered.map((r) => r.partition).sort()).toEqual([0, 1]);
    const messages = sent.topicMessages?.[0]?.messages ?? [];
    const expectedOn = (p: number) =>
      messages.filter((m) => placements.get(m) === p).map((m) => String(m.key));
    expect(keysOn(written, 0)).toEqual(expectedOn(0));
    expect(keysOn(written, 1)).toEqual(expectedOn(1));
    // Partition 1's records go with the sequence number the failed request had (kafkajs gave it
    // back), so the broker would take a copy it had appended after all as a duplicate.
    expect(written.find((w) => w.partition === 1)).toMatchObject({ broker: 1, firstSequence: 0 });
    expect(partials).toEqual([
      { attempt: 1, messages: expectedOn(1).length, partitions: [`${TOPIC}-1`] },
    ]);
  });
});

describe("sendCompletely and unwritten, by themselves", () => {
  const placements: Placements = new WeakMap();
  const a = { key: "a", value: "1" };
  const b = { key: "b", value: "2" };
  const c = { key: "c", value: "3" };
  placements.set(a, 0);
  placements.set(b, 1);
  placements.set(c, 1);
  const meta = (partition: number, topicName = TOPIC): RecordMetadata => ({
    topicName,
    partition,
    errorCode: 0,
  });

  it("keeps the messages of partitions nobody answered for, and those never placed", () => {
    const d = { key: "d", value: "4" };
    const batchOf = [
      { topic: TOPIC, messages: [a, b, c, d] },
      { topic: "meetup-dlq", messages: [a] },
    ];
    expect(unwritten(batchOf, [meta(0), meta(1, "meetup-dlq")], placements)).toEqual([
      { topic: TOPIC, messages: [b, c, d] },
      { topic: "meetup-dlq", messages: [a] },
    ]);
    expect(unwritten(batchOf, [meta(0), meta(1), meta(0, "meetup-dlq")], placements)).toEqual([
      { topic: TOPIC, messages: [d] },
    ]);
  });

  it("sends no best-effort message again: one to a partition nobody answers for is let go, the rest still sent until answered", async () => {
    // A tick to a partition kafkajs's metadata does not know yet: it sends nothing there.
    const tick = { value: "tick", partition: 7, headers: { "rsvp-atlas-tick": "1" } };
    placements.set(tick, 7);
    const sent: ProducerBatch[] = [];
    let sends = 0;
    const send = async (part: ProducerBatch) => {
      sent.push(part);
      sends += 1;
      return sends === 1 ? [meta(0)] : [meta(1)];
    };
    const batch = { topicMessages: [{ topic: TOPIC, messages: [a, b, tick] }] };
    await sendCompletely(send, batch, placements, {
      bestEffort: (message) => message === tick,
    });
    // b (partition 1, unanswered at first) went again; the tick did not.
    expect(sent.map((part) => part.topicMessages?.[0]?.messages)).toEqual([[a, b, tick], [b]]);
  });

  it("fails, naming what is left, when partitions stay unwritten after its attempts", async () => {
    let sends = 0;
    const send = async () => {
      sends += 1;
      return [meta(0)];
    };
    const failed = sendCompletely(
      send,
      { topicMessages: [{ topic: TOPIC, messages: [a, b, c] }] },
      placements,
      {
        attempts: 3,
      },
    );
    await expect(failed).rejects.toThrow(IncompleteSendError);
    await expect(failed).rejects.toThrow(/2 messages \(partitions meetup-1\) after 3 sends/);
    expect(sends).toBe(3);
  });

  it("sends once when every partition answers", async () => {
    const batches: ProducerBatch[] = [];
    const send = async (part: ProducerBatch) => {
      batches.push(part);
      return [meta(0), meta(1)];
    };
    const all = { acks: -1, topicMessages: [{ topic: TOPIC, messages: [a, b, c] }] };
    await expect(sendCompletely(send, all, placements)).resolves.toHaveLength(2);
    expect(batches).toEqual([all]);
  });
});
