/**
 * The kafka-topics custom resource on the real local broker: the handler as Lambda runs it
 * (configuration from the environment, the shared Kafka client, kafkajs's admin), with the
 * fixture event (events/kafka-topics-create.json, topic names made unique per test) and a local
 * HTTP server standing in for CloudFormation's presigned response URL.
 */
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
} from "aws-lambda";
import { ConfigResourceTypes, ConfigSource, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { adminFromEnvironment, handleKafkaTopics } from "../../functions/kafka-topics/handler.js";
import {
  lambdaContext,
  type RequestType,
  requestOfType,
  startResponseServer,
} from "../support/custom-resource-events.js";
import { sampleEvent } from "../support/sample-events.js";
import { stackKafka } from "../support/stack-clients.js";

const stack = inject("stack");
const kafka = stackKafka("kafka-topics-test");
const admin = kafka.admin();

const fixture = sampleEvent<CloudFormationCustomResourceCreateEvent>("kafka-topics-create.json");

/** CloudFormation's side: every PUT on the response URL, as received. */
let cloudFormation: Awaited<ReturnType<typeof startResponseServer>>;

beforeAll(async () => {
  // What template.yaml would give the function on AWS, pointed at the local broker instead.
  vi.stubEnv("KAFKA_BROKERS", stack.kafkaBootstrapServer);
  vi.stubEnv("KAFKA_AUTH", "none");
  vi.stubEnv("KAFKA_CLUSTER_ARN", "");
  cloudFormation = await startResponseServer();
  await admin.connect();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await admin.disconnect();
  await cloudFormation?.close();
});

let run = 0;
/** Topic names no other test (or earlier run on a kept stack) uses. */
function uniqueNames(count: number): string[] {
  run += 1;
  const stem = `kafka-topics-it-${process.pid}-${Date.now().toString(36)}-${run}`;
  return Array.from({ length: count }, (_, i) => `${stem}-${i}`);
}

type Wanted = { name: string; partitions: number; retentionHours?: number }[];

/** Topics asked for by name and partition count, as {@link partitionCounts} answers. */
const topicsOf = (counts: Record<string, number>): Wanted =>
  Object.entries(counts).map(([name, partitions]) => ({ name, partitions }));

function request(
  type: RequestType,
  topics: Wanted,
  physicalResourceId = "",
): CloudFormationCustomResourceEvent {
  const ResourceProperties = {
    ...fixture.ResourceProperties,
    // As CloudFormation sends them: strings; one broker locally, hence replication factor 1.
    Topics: topics.map(({ name, partitions, retentionHours }) => ({
      Name: name,
      Partitions: String(partitions),
      ReplicationFactor: "1",
      ...(retentionHours === undefined
        ? {}
        : { RetentionHours: String(retentionHours), SegmentHours: "1" }),
    })),
  };
  return requestOfType(
    type,
    { ...fixture, ResponseURL: cloudFormation.url, ResourceProperties },
    { physicalResourceId, oldProperties: fixture.ResourceProperties },
  );
}

const context = { ...lambdaContext, logStreamName: "2026/05/15/[$LATEST]kafka-topics-it" };

/** Runs the handler as Lambda would and returns what CloudFormation received. */
async function send(event: CloudFormationCustomResourceEvent) {
  const { received } = cloudFormation;
  const before = received.length;
  const returned = await handleKafkaTopics(event, context, {
    createAdmin: adminFromEnvironment,
    fetch,
  });
  expect(received.length).toBe(before + 1);
  const put = received[before];
  expect(put?.method).toBe("PUT");
  expect(put?.contentType ?? "").toBe("");
  expect(put?.body).toEqual(returned);
  return put?.body as CloudFormationCustomResourceResponse;
}

/** Creates the topics `before`, then asks for `after` in an Update of the same resource. */
async function createThenUpdate(before: Wanted, after: Wanted) {
  const created = await send(request("Create", before));
  const updated = await send(request("Update", after, created.PhysicalResourceId));
  return { created, updated };
}

async function partitionCounts(names: string[]): Promise<Record<string, number>> {
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  return Object.fromEntries(topics.map((topic) => [topic.name, topic.partitions.length]));
}

describe("Custom::KafkaTopics on the local Kafka broker", () => {
  it("Create makes the topics with the partitions asked for", async () => {
    const [a = "", b = ""] = uniqueNames(2);
    const body = await send(request("Create", topicsOf({ [a]: 3, [b]: 2 })));
    expect(body).toEqual({
      Status: "SUCCESS",
      PhysicalResourceId: `kafka-topics:${a},${b}`,
      StackId: fixture.StackId,
      RequestId: fixture.RequestId,
      LogicalResourceId: fixture.LogicalResourceId,
      Data: { TopicNames: `${a},${b}` },
    });
    expect(await partitionCounts([a, b])).toEqual({ [a]: 3, [b]: 2 });
  });

  it("Create twice is SUCCESS both times and changes nothing (the data stays)", async () => {
    const [name = ""] = uniqueNames(1);
    const first = await send(request("Create", [{ name, partitions: 2 }]));
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: name, messages: [{ partition: 1, value: "kept" }] });
    await producer.disconnect();

    const second = await send(request("Create", [{ name, partitions: 2 }]));
    expect(second).toEqual(first);
    expect(second.Status).toBe("SUCCESS");
    expect(await partitionCounts([name])).toEqual({ [name]: 2 });
    const offsets = await admin.fetchTopicOffsets(name);
    expect(offsets.find((o) => o.partition === 1)?.high).toBe("1");
  });

  it("sets the topic's retention on Create and brings it to a new value on Update", async () => {
    const [name = ""] = uniqueNames(1);
    const retention = async () => {
      const { resources } = await admin.describeConfigs({
        resources: [
          { type: ConfigResourceTypes.TOPIC, name, configNames: ["retention.ms", "segment.ms"] },
        ],
        includeSynonyms: false,
      });
      const entries = resources[0]?.configEntries ?? [];
      const value = (name: string) => entries.find((e) => e.configName === name)?.configValue;
      return `${value("retention.ms")} ${value("segment.ms")}`;
    };
    const created = await send(request("Create", [{ name, partitions: 1, retentionHours: 168 }]));
    expect(created.Status).toBe("SUCCESS");
    expect(await retention()).toBe(`${168 * 3_600_000} ${3_600_000}`);
    const updated = await send(
      request("Update", [{ name, partitions: 1, retentionHours: 48 }], created.PhysicalResourceId),
    );
    expect(updated.Status).toBe("SUCCESS");
    expect(await retention()).toBe(`${48 * 3_600_000} ${3_600_000}`);
  });

  it("turns unclean leader election off on every topic, also on one that existed without it", async () => {
    // A topic override, not the broker's default: MSK's default configuration has it on.
    const [made = "", existing = ""] = uniqueNames(2);
    await admin.createTopics({ topics: [{ topic: existing, numPartitions: 1 }] });
    const unclean = async (name: string) => {
      const { resources } = await admin.describeConfigs({
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ["unclean.leader.election.enable"],
          },
        ],
        includeSynonyms: false,
      });
      const entry = resources[0]?.configEntries[0];
      return { value: entry?.configValue, source: entry?.configSource };
    };
    expect((await unclean(existing)).source).not.toBe(ConfigSource.TOPIC_CONFIG);
    const body = await send(request("Create", topicsOf({ [made]: 1, [existing]: 1 })));
    expect(body.Status).toBe("SUCCESS");
    for (const name of [made, existing]) {
      expect(await unclean(name), name).toEqual({
        value: "false",
        source: ConfigSource.TOPIC_CONFIG,
      });
    }
  });

  it("Update with more partitions grows the topics, keeping the physical id", async () => {
    const [grown = "", same = ""] = uniqueNames(2);
    const { created, updated } = await createThenUpdate(
      topicsOf({ [grown]: 2, [same]: 1 }),
      topicsOf({ [grown]: 5, [same]: 1 }),
    );
    expect(updated).toMatchObject({
      Status: "SUCCESS",
      PhysicalResourceId: created.PhysicalResourceId,
    });
    expect(await partitionCounts([grown, same])).toEqual({ [grown]: 5, [same]: 1 });
  });

  it("Update with fewer partitions answers FAILED with the reason and changes no topic", async () => {
    const [shrunk = "", other = ""] = uniqueNames(2);
    const { created, updated } = await createThenUpdate(
      topicsOf({ [shrunk]: 4, [other]: 1 }),
      // `other` asked to grow in the same request: refused with it, since nothing may change.
      topicsOf({ [shrunk]: 2, [other]: 3 }),
    );
    expect(updated).toMatchObject({
      Status: "FAILED",
      PhysicalResourceId: created.PhysicalResourceId,
    });
    expect(updated.Status === "FAILED" ? updated.Reason : "").toBe(
      `TopicPartitionsCannotShrinkError: topic ${shrunk} has 4 partitions, 2 wanted: Kafka cannot remove partitions (keep the count, or move to a new topic); no topic was changed`,
    );
    expect(await partitionCounts([shrunk, other])).toEqual({ [shrunk]: 4, [other]: 1 });
  });

  it("Delete answers SUCCESS and leaves the topics", async () => {
    const [name = ""] = uniqueNames(1);
    const created = await send(request("Create", [{ name, partitions: 1 }]));
    const deleted = await send(
      request("Delete", [{ name, partitions: 1 }], created.PhysicalResourceId),
    );
    expect(deleted).toMatchObject({
      Status: "SUCCESS",
      PhysicalResourceId: created.PhysicalResourceId,
    });
    expect(await admin.listTopics()).toContain(name);
  });
});
