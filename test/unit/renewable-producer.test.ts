import type { Producer } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaErrorType, renewableProducer } from "../../tasks/ingest/renewable-producer.js";

/** kafkajs's shape: its retrier wraps the broker's error (KafkaJSProtocolError, with a type). */
const wrapped = (type: string) =>
  Object.assign(new Error("wrapped"), { cause: Object.assign(new Error(type), { type }) });

function fakeProducers(plan: { connect?: Error; send?: Error }[]) {
  const made: string[] = [];
  const create = () => {
    const index = made.length;
    const step = plan[index] ?? {};
    made.push(`producer ${index}`);
    let connected = false;
    return {
      connect: async () => {
        if (step.connect && !connected) {
          const error = step.connect;
          step.connect = undefined;
          throw error;
        }
        connected = true;
      },
      disconnect: async () => {
        connected = false;
      },
      sendBatch: async () => {
        if (!connected) throw new Error(`producer ${index} is not connected`);
        if (step.send) throw step.send;
        return [];
      },
    } as unknown as Producer;
  };
  return { made, create };
}

describe("renewableProducer", () => {
  it("finds the Kafka error type through kafkajs's wrapping", () => {
    expect(kafkaErrorType(wrapped("UNKNOWN_PRODUCER_ID"))).toBe("UNKNOWN_PRODUCER_ID");
    expect(kafkaErrorType(new Error("plain"))).toBeUndefined();
  });

  it("keeps its producer through errors that do not end the session", async () => {
    const producers = fakeProducers([{ send: wrapped("NOT_LEADER_OR_FOLLOWER") }]);
    const renewed: string[] = [];
    const producer = renewableProducer(producers.create, (why) => renewed.push(why));
    await producer.connect();
    await expect(producer.sendBatch({ topicMessages: [] })).rejects.toThrow("wrapped");
    expect(producer.renewals).toBe(0);
    expect(producers.made).toHaveLength(1);
  });

  it("connects a new producer whose first connect failed before its first send", async () => {
    const producers = fakeProducers([
      { send: wrapped("UNKNOWN_PRODUCER_ID") },
      { connect: new Error("Kafka is down") },
    ]);
    const renewed: string[] = [];
    const producer = renewableProducer(producers.create, (why) => renewed.push(why));
    await producer.connect();
    await expect(producer.sendBatch({ topicMessages: [] })).rejects.toThrow("wrapped");
    expect(renewed).toEqual(["UNKNOWN_PRODUCER_ID"]);
    expect(producers.made).toHaveLength(2);
    await expect(producer.sendBatch({ topicMessages: [] })).resolves.toEqual([]);
    expect(producer.renewals).toBe(1);
  });

  it("renews once when sends made side by side fail on the same ended session", async () => {
    const producers = fakeProducers([{ send: wrapped("OUT_OF_ORDER_SEQUENCE_NUMBER") }]);
    const producer = renewableProducer(producers.create);
    await producer.connect();
    const results = await Promise.allSettled([
      producer.sendBatch({ topicMessages: [] }),
      producer.sendBatch({ topicMessages: [] }),
    ]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(producer.renewals).toBe(1);
    expect(producers.made).toHaveLength(2);
    await expect(producer.sendBatch({ topicMessages: [] })).resolves.toEqual([]);
  });
});
