/**
 * The custom resource that creates the Kafka topics during the deploy (functions/kafka-topics/):
 * the properties checked before Kafka is touched, Delete leaving the topics, a shrink refused
 * with nothing changed, Kafka's errors answered FAILED, and the shared Kafka client
 * configuration it (and the ingest task) connect with. Kafka is an in-memory fake admin here
 * (test/integration/kafka-topics.test.ts runs the same on the real broker); the presigned
 * response URL is a recording fetch; MSK is aws-sdk-client-mock.
 */
import { readFileSync } from "node:fs";
import { GetBootstrapBrokersCommand, KafkaClient } from "@aws-sdk/client-kafka";
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceEvent,
} from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { ConfigResourceTypes, ConfigSource } from "kafkajs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminFromEnvironment, handleKafkaTopics } from "../../functions/kafka-topics/handler.js";
import {
  ensureTopics,
  TopicPartitionsCannotShrinkError,
} from "../../functions/kafka-topics/topics.js";
import {
  type KafkaTopicsAdmin,
  physicalIdOf,
  readProperties,
} from "../../functions/kafka-topics/topics-resource.js";
import { ConfigError } from "../../functions/shared/config.js";
import { InvalidPropertiesError } from "../../functions/shared/custom-resource.js";
import { kafkaClientConfig } from "../../functions/shared/kafka-client.js";
import { createLogger } from "../../functions/shared/logger.js";

const mskMock = mockClient(KafkaClient);
afterEach(() => {
  mskMock.reset();
  vi.unstubAllEnvs();
});

const createEvent: CloudFormationCustomResourceCreateEvent = JSON.parse(
  readFileSync(new URL("../../events/kafka-topics-create.json", import.meta.url), "utf8"),
);
const PHYSICAL_ID = "kafka-topics:meetup,meetup-dlq";

type Topics = { Name: string; Partitions: string | number; ReplicationFactor: string | number }[];

function event(
  requestType: "Create" | "Update" | "Delete",
  topics?: Topics | unknown,
): CloudFormationCustomResourceEvent {
  const properties = {
    ...createEvent.ResourceProperties,
    ...(topics === undefined ? {} : { Topics: topics }),
  };
  if (requestType === "Create") return { ...createEvent, ResourceProperties: properties };
  const { RequestType: _type, ...common } = createEvent;
  return requestType === "Update"
    ? {
        ...common,
        RequestType: "Update",
        PhysicalResourceId: PHYSICAL_ID,
        ResourceProperties: properties,
        OldResourceProperties: createEvent.ResourceProperties,
      }
    : { ...common, RequestType: "Delete", PhysicalResourceId: PHYSICAL_ID };
}

function recordingFetch() {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(null, { status: 200 });
  }) as unknown as typeof fetch;
  return { calls, fetchFn, bodies: () => calls.map((c) => JSON.parse(String(c.init.body))) };
}

/** A broker in memory: topic name -> partition count; every call recorded. */
function fakeAdmin(
  topics: Record<string, number> = {},
  fail: Partial<Record<keyof KafkaTopicsAdmin, Error>> = {},
) {
  const state = new Map(Object.entries(topics));
  /** Topic name -> its config overrides (what `kafka-configs --describe` calls dynamic). */
  const overrides = new Map<string, Map<string, string>>();
  const calls: string[] = [];
  const step = (name: keyof KafkaTopicsAdmin) => {
    calls.push(name);
    const error = fail[name];
    if (error) throw error;
  };
  const admin: KafkaTopicsAdmin = {
    connect: async () => step("connect"),
    disconnect: async () => step("disconnect"),
    listTopics: async () => {
      step("listTopics");
      return [...state.keys()];
    },
    fetchTopicMetadata: async (options) => {
      step("fetchTopicMetadata");
      return {
        topics: (options?.topics ?? []).map((name) => ({
          name,
          partitions: Array.from({ length: state.get(name) ?? 0 }, (_, partitionId) => ({
            partitionErrorCode: 0,
            partitionId,
            leader: 1,
            replicas: [1],
            isr: [1],
          })),
        })),
      };
    },
    createTopics: async ({ topics: wanted }) => {
      step("createTopics");
      if (wanted.every(({ topic }) => state.has(topic))) return false;
      for (const { topic, numPartitions, configEntries } of wanted) {
        state.set(topic, numPartitions ?? 1);
        overrides.set(topic, new Map((configEntries ?? []).map((e) => [e.name, e.value])));
      }
      return true;
    },
    describeConfigs: async ({ resources }) => {
      step("describeConfigs");
      return {
        throttleTime: 0,
        resources: resources.map(({ name = "" }) => {
          const own = overrides.get(name) ?? new Map<string, string>();
          const entry = (configName: string, configValue: string, configSource: ConfigSource) => ({
            configName,
            configValue,
            configSource,
            isDefault: configSource === ConfigSource.DEFAULT_CONFIG,
            isSensitive: false,
            readOnly: false,
            configSynonyms: [],
          });
          const configEntries = [...own].map(([n, v]) => entry(n, v, ConfigSource.TOPIC_CONFIG));
          if (!own.has("retention.ms"))
            configEntries.push(entry("retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG));
          return {
            configEntries,
            errorCode: 0,
            errorMessage: "",
            resourceName: name,
            resourceType: ConfigResourceTypes.TOPIC,
          };
        }),
      };
    },
    alterConfigs: async ({ resources }) => {
      step("alterConfigs");
      // Kafka's AlterConfigs: the entries sent become the topic's whole set of overrides.
      for (const { name, configEntries } of resources)
        overrides.set(name, new Map(configEntries.map((e) => [e.name, e.value])));
      return {};
    },
    createPartitions: async ({ topicPartitions }) => {
      step("createPartitions");
      for (const { topic, count } of topicPartitions) state.set(topic, count);
      return true;
    },
  };
  return { admin, state, overrides, calls };
}

const context = {
  logStreamName: "2026/05/15/[$LATEST]0123456789abcdef",
  getRemainingTimeInMillis: () => 60_000,
};

async function answer(
  request: CloudFormationCustomResourceEvent,
  createAdmin: () => Promise<KafkaTopicsAdmin>,
) {
  const recorder = recordingFetch();
  const response = await handleKafkaTopics(request, context, {
    createAdmin,
    fetch: recorder.fetchFn,
    sleep: async () => {},
  });
  expect(recorder.calls).toHaveLength(1);
  expect(recorder.calls[0]?.url).toBe(createEvent.ResponseURL);
  expect(recorder.calls[0]?.init.method).toBe("PUT");
  const [body] = recorder.bodies();
  expect(body).toEqual(response);
  return body;
}

describe("the fixture (events/kafka-topics-create.json)", () => {
  it("is a Create of the template's two topics, as CloudFormation sends them (strings)", () => {
    expect(readProperties(createEvent.ResourceProperties)).toEqual([
      {
        name: "meetup",
        partitions: 6,
        replicationFactor: 2,
        configs: {
          "retention.ms": String(168 * 3_600_000),
          "segment.ms": String(3_600_000),
          "unclean.leader.election.enable": "false",
        },
      },
      {
        name: "meetup-dlq",
        partitions: 6,
        replicationFactor: 2,
        // Every topic: MSK's default configuration enables unclean leader election (MSK
        // Developer Guide, "Default Amazon MSK configuration"), which can truncate acked records.
        configs: { "unclean.leader.election.enable": "false" },
      },
    ]);
  });
});

describe("readProperties", () => {
  it.each([
    ["no Topics", undefined, /✖ Invalid input: .*\n {2}→ at Topics$/],
    ["an empty list", [], /✖ Too small: .*\n {2}→ at Topics$/],
    [
      "partitions that are not a number",
      [{ Name: "meetup", Partitions: "six", ReplicationFactor: "2" }],
      /✖ .*NaN\n {2}→ at Topics\[0\]\.Partitions$/,
    ],
    [
      "zero partitions",
      [{ Name: "meetup", Partitions: "0", ReplicationFactor: "2" }],
      /✖ Too small: expected number to be >=1\n {2}→ at Topics\[0\]\.Partitions$/,
    ],
    [
      "a fractional replication factor",
      [{ Name: "meetup", Partitions: 6, ReplicationFactor: "1.5" }],
      /✖ Invalid input: expected int.*\n {2}→ at Topics\[0\]\.ReplicationFactor$/,
    ],
    [
      "a name Kafka refuses",
      [{ Name: "meet up", Partitions: 6, ReplicationFactor: 2 }],
      /✖ must be 1 to 249 of .*\n {2}→ at Topics\[0\]\.Name$/,
    ],
    [
      "a misspelt key",
      [{ Name: "meetup", Partition: 6, Partitions: 6, ReplicationFactor: 2 }],
      /✖ Unrecognized key: "Partition"\n {2}→ at Topics\[0\]$/,
    ],
    [
      "a topic named twice",
      [
        { Name: "meetup", Partitions: 6, ReplicationFactor: 2 },
        { Name: "meetup", Partitions: 3, ReplicationFactor: 2 },
      ],
      /✖ must not name a topic twice\n {2}→ at Topics$/,
    ],
    [
      "two topics Kafka takes as one (Kafka: a name with '.' collides with the same with '_')",
      [
        { Name: "meetup.dlq", Partitions: 6, ReplicationFactor: 2 },
        { Name: "meetup_dlq", Partitions: 6, ReplicationFactor: 2 },
      ],
      /✖ must not name two topics that differ only in "." and "_" \(Kafka takes them as one\)\n {2}→ at Topics$/,
    ],
  ])("refuses %s, naming the property", (_what, topics, reason) => {
    const properties = {
      ServiceToken: "token",
      ...(topics === undefined ? {} : { Topics: topics }),
    };
    expect(() => readProperties(properties)).toThrow(InvalidPropertiesError);
    expect(() => readProperties(properties)).toThrow(reason);
  });

  it("refuses a retention that, with its segment roll, reaches the dedup horizon, naming both", () => {
    const topic = {
      Name: "meetup",
      Partitions: "6",
      ReplicationFactor: "2",
      RetentionHours: "160",
    };
    const properties = {
      ServiceToken: "token",
      DedupHorizonDays: "7",
      Topics: [{ ...topic, SegmentHours: "8" }],
    };
    expect(() => readProperties(properties)).toThrow(
      "✖ 160 h (+ 8 h of segment roll + 1 h for the broker's retention check) must be shorter than DedupHorizonDays (7 days = 168 h), or a redelivery could be counted twice\n  → at Topics[0].RetentionHours",
    );
    // The hour of the broker's retention check counts too, as the counting's own check has it.
    expect(() =>
      readProperties({ ...properties, Topics: [{ ...topic, SegmentHours: "7" }] }),
    ).toThrow(/160 h \(\+ 7 h of segment roll \+ 1 h/);
    expect(
      readProperties({ ...properties, Topics: [{ ...topic, SegmentHours: "6" }] })[0]?.configs,
    ).toEqual({
      "retention.ms": String(160 * 3_600_000),
      "segment.ms": String(6 * 3_600_000),
      "unclean.leader.election.enable": "false",
    });
    // Without a segment roll of its own, Kafka's default of a week counts.
    expect(() =>
      readProperties({ ...properties, DedupHorizonDays: "13", Topics: [topic] }),
    ).toThrow(/160 h \(\+ 168 h of segment roll \+ 1 h/);
  });

  it("names every problem at once", () => {
    expect(() =>
      readProperties({
        ServiceToken: "token",
        Topics: [{ Name: "", Partitions: "0", ReplicationFactor: "x" }],
      }),
    ).toThrow(
      /at Topics\[0\]\.Name\n.*\n.*at Topics\[0\]\.Partitions\n.*\n.*at Topics\[0\]\.ReplicationFactor$/,
    );
  });
});

describe("physicalIdOf", () => {
  it("names the topics, or hashes them when they would make too long an id", () => {
    expect(physicalIdOf(readProperties(createEvent.ResourceProperties))).toBe(PHYSICAL_ID);
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: `topic-with-a-long-name-${i}`,
      partitions: 1,
      replicationFactor: 1,
    }));
    expect(physicalIdOf(many)).toMatch(/^kafka-topics:sha256-[0-9a-f]{16}$/);
  });
});

describe("ensureTopics", () => {
  it("creates the missing, grows the short, leaves the equal, in the order asked", async () => {
    const { admin, state } = fakeAdmin({ grown: 2, same: 3 });
    const outcomes = await ensureTopics(admin, [
      { name: "new", partitions: 4, replicationFactor: 1 },
      { name: "grown", partitions: 5, replicationFactor: 1 },
      { name: "same", partitions: 3, replicationFactor: 1 },
    ]);
    expect(outcomes).toEqual([
      { topic: "new", action: "created", partitions: 4 },
      { topic: "grown", action: "grown", from: 2, partitions: 5 },
      { topic: "same", action: "unchanged", partitions: 3 },
    ]);
    expect(Object.fromEntries(state)).toEqual({ new: 4, grown: 5, same: 3 });
  });

  it("passes the replication factor and configs to the new topic", async () => {
    const { admin } = fakeAdmin();
    const createTopics = vi.spyOn(admin, "createTopics");
    await ensureTopics(admin, [
      { name: "t", partitions: 2, replicationFactor: 3, configs: { "retention.ms": "86400000" } },
    ]);
    expect(createTopics).toHaveBeenCalledWith({
      waitForLeaders: true,
      topics: [
        {
          topic: "t",
          numPartitions: 2,
          replicationFactor: 3,
          configEntries: [{ name: "retention.ms", value: "86400000" }],
        },
      ],
    });
  });

  it("brings an existing topic's retention to the asked value, keeping its other overrides", async () => {
    const { admin, overrides, calls } = fakeAdmin({ meetup: 6 });
    overrides.set("meetup", new Map([["cleanup.policy", "delete"]]));
    const outcomes = await ensureTopics(admin, [
      {
        name: "meetup",
        partitions: 6,
        replicationFactor: 2,
        configs: { "retention.ms": "3600000" },
      },
    ]);
    expect(outcomes).toEqual([
      {
        topic: "meetup",
        action: "unchanged",
        partitions: 6,
        reconfigured: { "retention.ms": ["604800000", "3600000"] },
      },
    ]);
    expect(Object.fromEntries(overrides.get("meetup") ?? [])).toEqual({
      "cleanup.policy": "delete",
      "retention.ms": "3600000",
    });
    // Asked again: nothing to change, no AlterConfigs.
    calls.length = 0;
    const again = await ensureTopics(admin, [
      {
        name: "meetup",
        partitions: 6,
        replicationFactor: 2,
        configs: { "retention.ms": "3600000" },
      },
    ]);
    expect(again[0]?.reconfigured).toBeUndefined();
    expect(calls).not.toContain("alterConfigs");
  });

  it("refuses to shrink before changing anything, naming topic, current and wanted counts", async () => {
    const { admin, state, calls } = fakeAdmin({ short: 1, long: 6 });
    const wanted = [
      { name: "missing", partitions: 2, replicationFactor: 1 },
      { name: "short", partitions: 2, replicationFactor: 1 },
      { name: "long", partitions: 3, replicationFactor: 1 },
    ];
    const error = await ensureTopics(admin, wanted).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopicPartitionsCannotShrinkError);
    expect((error as TopicPartitionsCannotShrinkError).shrinks).toEqual([
      { topic: "long", current: 6, desired: 3 },
    ]);
    expect((error as Error).message).toMatch(/topic long has 6 partitions, 3 wanted/);
    expect(calls).not.toContain("createTopics");
    expect(calls).not.toContain("createPartitions");
    expect(calls).not.toContain("alterConfigs");
    expect(Object.fromEntries(state)).toEqual({ short: 1, long: 6 });
  });

  it("plans again once when another client created the topics since the listing", async () => {
    const { admin, state } = fakeAdmin();
    const listTopics = vi.spyOn(admin, "listTopics").mockResolvedValueOnce([]);
    state.set("raced", 4);
    const outcomes = await ensureTopics(admin, [
      { name: "raced", partitions: 4, replicationFactor: 1 },
    ]);
    expect(outcomes).toEqual([{ topic: "raced", action: "unchanged", partitions: 4 }]);
    expect(listTopics).toHaveBeenCalledTimes(2);
  });

  it("says DescribeTopic may be missing when existing topics never show in the listing", async () => {
    const { admin, state } = fakeAdmin();
    vi.spyOn(admin, "listTopics").mockResolvedValue([]);
    state.set("hidden", 1);
    await expect(
      ensureTopics(admin, [{ name: "hidden", partitions: 1, replicationFactor: 1 }]),
    ).rejects.toThrow(/hidden already exist but are not listed: is kafka-cluster:DescribeTopic/);
  });
});

describe("handleKafkaTopics (the custom resource exchange)", () => {
  it("creates the fixture's topics and answers SUCCESS with a stable id", async () => {
    const { admin, state, calls } = fakeAdmin();
    const body = await answer(event("Create"), async () => admin);
    expect(body).toEqual({
      Status: "SUCCESS",
      PhysicalResourceId: PHYSICAL_ID,
      StackId: createEvent.StackId,
      RequestId: createEvent.RequestId,
      LogicalResourceId: "KafkaTopics",
      Data: { TopicNames: "meetup,meetup-dlq" },
    });
    expect(Object.fromEntries(state)).toEqual({ meetup: 6, "meetup-dlq": 6 });
    expect(calls[0]).toBe("connect");
    expect(calls.at(-1)).toBe("disconnect");
  });

  it("keeps the physical id on Update, even when the topics change", async () => {
    const { admin, state } = fakeAdmin({ meetup: 6, "meetup-dlq": 6 });
    const body = await answer(
      event("Update", [
        { Name: "meetup", Partitions: "12", ReplicationFactor: "2" },
        { Name: "meetup-dlq", Partitions: "6", ReplicationFactor: "2" },
        { Name: "meetup-audit", Partitions: "1", ReplicationFactor: "2" },
      ]),
      async () => admin,
    );
    expect(body).toMatchObject({ Status: "SUCCESS", PhysicalResourceId: PHYSICAL_ID });
    expect(Object.fromEntries(state)).toEqual({ meetup: 12, "meetup-dlq": 6, "meetup-audit": 1 });
  });

  it.each([
    [
      "Partitions",
      [{ Name: "meetup", Partitions: "many", ReplicationFactor: "2" }],
      "invalid ResourceProperties:\n✖ Invalid input: expected number, received NaN\n  → at Topics[0].Partitions",
    ],
    [
      "Topics",
      "meetup,meetup-dlq",
      "invalid ResourceProperties:\n✖ Invalid input: expected array, received string\n  → at Topics",
    ],
  ])(
    "answers invalid properties (%s) FAILED with the reason, without connecting",
    async (_property, topics, reason) => {
      const createAdmin = vi.fn(async () => fakeAdmin().admin);
      const body = await answer(event("Create", topics), createAdmin);
      expect(body).toMatchObject({
        Status: "FAILED",
        // A failed Create has no resource: CloudFormation's Delete of it must come back here.
        PhysicalResourceId: context.logStreamName,
      });
      expect(body.Reason).toBe(`InvalidPropertiesError: ${reason}`);
      expect(createAdmin).not.toHaveBeenCalled();
    },
  );

  it("answers Delete SUCCESS without touching Kafka, whatever the properties", async () => {
    const createAdmin = vi.fn(async () => fakeAdmin().admin);
    const request = event("Delete");
    request.ResourceProperties = { ServiceToken: "token", Topics: "not even a list" };
    const body = await answer(request, createAdmin);
    expect(body).toMatchObject({ Status: "SUCCESS", PhysicalResourceId: PHYSICAL_ID });
    expect(createAdmin).not.toHaveBeenCalled();
  });

  it("answers a shrink FAILED naming the topic and counts, changing nothing", async () => {
    const { admin, state, calls } = fakeAdmin({ meetup: 6, "meetup-dlq": 6 });
    const body = await answer(
      event("Update", [
        { Name: "meetup", Partitions: "3", ReplicationFactor: "2" },
        { Name: "meetup-dlq", Partitions: "12", ReplicationFactor: "2" },
      ]),
      async () => admin,
    );
    expect(body).toMatchObject({ Status: "FAILED", PhysicalResourceId: PHYSICAL_ID });
    expect(body.Reason).toMatch(
      /^TopicPartitionsCannotShrinkError: topic meetup has 6 partitions, 3 wanted: Kafka cannot remove partitions/,
    );
    expect(Object.fromEntries(state)).toEqual({ meetup: 6, "meetup-dlq": 6 });
    expect(calls).not.toContain("createPartitions");
    expect(calls.at(-1)).toBe("disconnect");
  });

  it("answers an error of Kafka FAILED with its name and message, and disconnects", async () => {
    const refused = Object.assign(new Error("Topic authorization failed"), {
      name: "KafkaJSProtocolError",
    });
    const { admin, calls } = fakeAdmin({}, { createTopics: refused });
    const body = await answer(event("Create"), async () => admin);
    expect(body).toMatchObject({ Status: "FAILED", PhysicalResourceId: context.logStreamName });
    expect(body.Reason).toBe("KafkaJSProtocolError: Topic authorization failed");
    expect(calls.at(-1)).toBe("disconnect");
  });

  it("answers a failed connection FAILED, and a failed disconnect does not hide the answer", async () => {
    const { admin } = fakeAdmin(
      {},
      {
        connect: Object.assign(new Error("Connection error: connect ECONNREFUSED 10.0.1.5:9098"), {
          name: "KafkaJSConnectionError",
        }),
        disconnect: new Error("already closed"),
      },
    );
    const body = await answer(event("Create"), async () => admin);
    expect(body.Status).toBe("FAILED");
    expect(body.Reason).toMatch(/^KafkaJSConnectionError: Connection error/);
  });

  it("answers a bad environment FAILED with the variable's name instead of never answering", async () => {
    vi.stubEnv("KAFKA_BROKERS", "");
    vi.stubEnv("KAFKA_CLUSTER_ARN", "");
    let body = await answer(event("Create"), adminFromEnvironment);
    expect(body.Status).toBe("FAILED");
    expect(body.Reason).toBe(
      "ConfigError: invalid configuration: KAFKA_BROKERS or KAFKA_CLUSTER_ARN must be set",
    );
    vi.stubEnv("KAFKA_CLUSTER_ARN", "rsvp-atlas-rsvps");
    body = await answer(event("Create"), adminFromEnvironment);
    expect(body.Reason).toMatch(/^ConfigError: .*KAFKA_CLUSTER_ARN: must be an MSK cluster ARN/);
  });
});

describe("kafkaClientConfig (shared with the ingest task)", () => {
  const logger = createLogger("kafka-client-test");
  const CLUSTER_ARN =
    "arn:aws:kafka:us-east-1:123456789012:cluster/rsvp-atlas-rsvps/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-2";

  it("takes the given brokers, without TLS or SASL when auth is none", async () => {
    const config = await kafkaClientConfig({
      brokers: "127.0.0.1:9092,127.0.0.1:9093",
      clusterArn: CLUSTER_ARN,
      auth: "none",
      region: "us-east-1",
      clientId: "test",
      logger,
    });
    expect(config).toMatchObject({
      clientId: "test",
      brokers: ["127.0.0.1:9092", "127.0.0.1:9093"],
    });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
    expect(mskMock.calls()).toHaveLength(0);
  });

  it("asks MSK for the IAM brokers and signs with IAM over TLS", async () => {
    mskMock.on(GetBootstrapBrokersCommand, { ClusterArn: CLUSTER_ARN }).resolves({
      BootstrapBrokerString: "b-1.plain:9092",
      BootstrapBrokerStringSaslIam: "b-1.rsvps:9098,b-2.rsvps:9098",
    });
    const config = await kafkaClientConfig({
      clusterArn: CLUSTER_ARN,
      auth: "iam",
      region: "us-east-1",
      clientId: "test",
      logger,
    });
    expect(config.brokers).toEqual(["b-1.rsvps:9098", "b-2.rsvps:9098"]);
    expect(config.ssl).toBe(true);
    expect(config.sasl).toMatchObject({ mechanism: "oauthbearer" });
  });

  it("takes MSK's plaintext brokers for auth none, and says when there are none", async () => {
    mskMock
      .on(GetBootstrapBrokersCommand)
      .resolvesOnce({ BootstrapBrokerString: "b-1.plain:9092" })
      .resolvesOnce({ BootstrapBrokerStringSaslIam: "b-1.rsvps:9098" });
    const options = { clusterArn: CLUSTER_ARN, region: "us-east-1", clientId: "t", logger };
    expect((await kafkaClientConfig({ ...options, auth: "none" })).brokers).toEqual([
      "b-1.plain:9092",
    ]);
    await expect(kafkaClientConfig({ ...options, auth: "none" })).rejects.toThrow(
      new ConfigError(`MSK cluster ${CLUSTER_ARN} has no plaintext brokers`),
    );
  });
});
