/**
 * The local MSK event source on a real broker feeding the real city-counts handler on moto:
 * Lambda's event shape, whole-batch retry on error, offsets committed only after success.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { MskEvent } from "../../functions/shared/msk-event.js";
import { mskEventSchema } from "../../functions/shared/msk-event.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import {
  LOCAL_FAILURE_HEADER,
  type SetAside,
  setAsideTo,
} from "../../local/pipeline/failed-batches.js";
import { startMskEventSource } from "../../local/pipeline/msk-event-source.js";
import { awsClientConfig, localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import {
  eventSourceControls,
  functionEnvironment,
  readTemplate,
} from "../../local/stack/template-model.js";
import { countsByRule } from "../support/counting-rule.js";
import { createCountsTable, tableCounts } from "../support/counts-table.js";
import { createTestTopics } from "../support/kafka-records.js";

const stack = inject("stack");
const kafka = new Kafka({
  clientId: "msk-event-source-test",
  brokers: [stack.kafkaBootstrapServer],
  logLevel: logLevel.NOTHING,
});
const dynamodb = new DynamoDBClient(
  awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region }),
);
const topic = `city-counts-it-${process.pid}`;
let TableName = "";
const parse = createRsvpParser();

const records: RsvpRecord[] = [];
for (const message of syntheticMessages({ seed: "event-source", malformedShare: 0 })) {
  const result = parse(message.text);
  if (result.ok) records.push(result.record);
  if (records.length === 300) break;
}

let countCityRsvps: typeof import("../../functions/city-counts/handler.js").countCityRsvps;

beforeAll(async () => {
  await createTestTopics(kafka, { [topic]: 3 });
  TableName = await createCountsTable(dynamodb, "city-counts-it");
  // The handler gets the environment template.yaml gives it; only the endpoint is local.
  const environment = functionEnvironment("CityCountsFunction", { CityCountsTable: TableName });
  Object.assign(
    process.env,
    environment,
    localAwsEnvironment({ endpoint: stack.awsEndpoint, region: stack.region }),
    // The poison record's expected warning would only clutter the test output.
    { POWERTOOLS_LOG_LEVEL: "ERROR" },
  );
  ({ countCityRsvps } = await import("../../functions/city-counts/handler.js"));

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = records.map((record) => ({
    key: record.city.key,
    value: JSON.stringify(record),
  }));
  // The first 20 again (a producer retry), and one poison record.
  await producer.send({
    topic,
    messages: [...messages, ...messages.slice(0, 20), { key: "x", value: "not json" }],
  });
  await producer.disconnect();
});

afterAll(() => dynamodb.destroy());

describe("local MSK event source -> city-counts handler", () => {
  it("delivers Lambda-shaped batches, retries a failed one whole, and counts every record once", async () => {
    const events: MskEvent[] = [];
    const failed: MskEvent[] = [];
    let failuresLeft = 2;
    const source = await startMskEventSource({
      kafka,
      topic,
      groupId: `${topic}-city-counts`,
      batchSize: 50,
      batchingWindowMs: 100,
      handler: async (event) => {
        events.push(event);
        if (failuresLeft-- > 0) {
          failed.push(event);
          throw new Error("simulated handler failure");
        }
        return countCityRsvps(event);
      },
    });
    const total = records.length + 21;
    const deadline = Date.now() + 60_000;
    while (source.stats.records < total && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    await source.stop();

    expect(source.stats.records).toBe(total);
    expect(source.stats.failedInvocations).toBe(2);
    for (const event of events) {
      expect(mskEventSchema.safeParse(event).success).toBe(true);
      const batch = Object.values(event.records)[0] ?? [];
      expect(batch.length).toBeLessThanOrEqual(50);
    }
    // Each failed batch came again unchanged (partitions run side by side: not necessarily next).
    expect(failed).toHaveLength(2);
    for (const batch of failed)
      expect(events.filter((event) => JSON.stringify(event) === JSON.stringify(batch)).length).toBe(
        failed.filter((other) => JSON.stringify(other) === JSON.stringify(batch)).length + 1,
      );

    // RSVPs, by the counting rule: the feed re-sends some of them with a newer version. Every
    // counter of the table (each day and all time, every city; rsvps, yes, no and guests) is
    // the rule's, and nothing else is counted.
    expect(new Set(records.map((r) => r.rsvpId)).size).toBeLessThan(records.length);
    const expected = new Map(
      [...countsByRule(records).counts].map(([id, { rsvps, yes, no, guests }]) => [
        id,
        { rsvps, yes, no, guests },
      ]),
    );
    expect(expected.size).toBeGreaterThan(100);
    expect(await tableCounts(dynamodb, TableName)).toEqual(expected);
    // The poison record is a dead letter with its reason, not a failed batch.
    const letters = await dynamodb.send(
      new ScanCommand({
        TableName,
        FilterExpression: "begins_with(pk, :dead)",
        ExpressionAttributeValues: { ":dead": { S: "DEADLETTER#" } },
      }),
    );
    expect(letters.Items?.map((item) => item.reason?.S)).toEqual(["not_json"]);
  });

  /**
   * A topic of its own with 40 records, one of which the handler can never get through, read
   * with the template's error controls until all 40 are done; what the destination was given.
   */
  async function runWithStuckRecord(ownTopic: string, setAside: SetAside) {
    await createTestTopics(kafka, { [ownTopic]: 1 });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: ownTopic,
      messages: Array.from({ length: 40 }, (_, i) => ({
        key: `key-${i}`,
        value: i === 17 ? "stuck" : `ok-${i}`,
        headers: { origin: `producer-${i}` },
      })),
    });
    await producer.disconnect();
    const handled: string[] = [];
    const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
    expect(controls).toMatchObject({ maximumRetryAttempts: 5, bisectOnError: true });
    const written: string[] = [];
    const timeLeft: number[] = [];
    const source = await startMskEventSource({
      kafka,
      topic: ownTopic,
      groupId: `${ownTopic}-group`,
      batchSize: 40,
      batchingWindowMs: 100,
      maximumRetryAttempts: controls.maximumRetryAttempts,
      bisectOnError: controls.bisectOnError,
      functionTimeoutMs: controls.functionTimeoutMs,
      handler: async (event, context) => {
        // As Lambda's: the time left of the function's timeout, counted from this invocation.
        timeLeft.push(context?.getRemainingTimeInMillis() ?? -1);
        const values = Object.values(event.records)
          .flat()
          .map((r) => Buffer.from(r.value ?? "", "base64").toString());
        if (values.includes("stuck")) throw new Error("DynamoDB unreachable for this one");
        handled.push(...values);
      },
      onFailure: async (event, error) => {
        written.push(await setAside(event, error));
      },
    });
    const deadline = Date.now() + 60_000;
    while (source.stats.records < 40 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await source.stop();
    expect(handled.sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `ok-${i}`)
        .filter((v) => v !== "ok-17")
        .sort(),
    );
    expect(source.stats).toMatchObject({ records: 40, failedRecords: 1 });
    expect(timeLeft.length).toBe(source.stats.invocations);
    for (const left of timeLeft) {
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(controls.functionTimeoutMs);
    }
    return written;
  }

  const s3 = () =>
    new S3Client({
      ...awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region }),
      forcePathStyle: true,
    });
  const noProducer = async (): Promise<never> => {
    throw new Error("an S3 destination needs no producer");
  };

  it("with the template's error controls, bisects a failing batch and sets aside only the record that keeps failing, in the bucket by default", async () => {
    const ownTopic = `${topic}-controls`;
    const { onFailure } = eventSourceControls("CityCountsFunction", "RsvpTopic");
    expect(onFailure).toEqual({ kind: "s3", bucketLogicalId: "CountsFailedBatchesBucket" });
    const bucket = stack.resources.buckets.CountsFailedBatchesBucket as string;
    const client = s3();
    const written = await runWithStuckRecord(
      ownTopic,
      setAsideTo(onFailure, { s3: client, buckets: stack.resources.buckets, producer: noProducer }),
    );
    // The one record that kept failing, in the local CountsFailedBatchesBucket, with why.
    expect(written).toEqual([`s3://${bucket}/failed-batches/${ownTopic}-0/17-17.json`]);
    const object = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `failed-batches/${ownTopic}-0/17-17.json` }),
    );
    const failure = JSON.parse(await (object.Body?.transformToString() ?? "{}"));
    client.destroy();
    expect(failure.requestContext).toEqual({
      condition: "RetryAttemptsExhausted",
      errorMessage: "DynamoDB unreachable for this one",
    });
    const [record] = Object.values(failure.payload.records).flat() as { value: string }[];
    expect(Buffer.from(record?.value ?? "", "base64").toString()).toBe("stuck");
  });

  it("with CityCountsFailureDestination kafka, sets that record aside in the failed-records topic, key, value and headers kept", async () => {
    // The template deployed with the parameter at kafka: the destination is kafka://<topic>.
    const template = readTemplate();
    const choice = template.Parameters?.CityCountsFailureDestination;
    if (!choice) throw new Error("template.yaml has no CityCountsFailureDestination");
    choice.Default = "kafka";
    const { onFailure } = eventSourceControls("CityCountsFunction", "RsvpTopic", template);
    const failedTopic = template.Parameters?.CountsFailedTopicName?.Default as string;
    expect(onFailure).toEqual({ kind: "kafka", topic: failedTopic });
    // The deploy makes that topic with this choice (the shared test stack has the default).
    await createTestTopics(kafka, { [failedTopic]: 1 });

    const ownTopic = `${topic}-controls-kafka`;
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const client = s3();
    const written = await runWithStuckRecord(
      ownTopic,
      setAsideTo(onFailure, {
        s3: client,
        buckets: stack.resources.buckets,
        producer: async () => {
          await producer.connect();
          return producer;
        },
      }),
    );
    await producer.disconnect();
    client.destroy();
    expect(written).toEqual([`kafka://${failedTopic} (1 record of ${ownTopic}-0@17-17)`]);

    // Read back from the topic (the local stack's, shared by this file's runs: ours by source).
    const consumer = kafka.consumer({ groupId: `${ownTopic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: failedTopic, fromBeginning: true });
    const found: { key: string; value: string; headers: Record<string, string> }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        );
        const failure = JSON.parse(headers[LOCAL_FAILURE_HEADER] ?? "{}");
        if (failure.topic !== ownTopic) return;
        found.push({
          key: String(message.key),
          value: String(message.value),
          headers,
        });
      },
    });
    const deadline = Date.now() + 30_000;
    while (found.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    // A little longer, so that a second copy would be seen too.
    await new Promise((r) => setTimeout(r, 2000));
    await consumer.disconnect();
    expect(found).toHaveLength(1);
    const [record] = found;
    expect(record).toMatchObject({ key: "key-17", value: "stuck" });
    expect(record?.headers.origin).toBe("producer-17");
    expect(JSON.parse(record?.headers[LOCAL_FAILURE_HEADER] ?? "{}")).toMatchObject({
      condition: "RetryAttemptsExhausted",
      errorMessage: "DynamoDB unreachable for this one",
      topic: ownTopic,
      partition: 0,
      offset: 17,
    });
  });

  it("resumes after the committed offset: a new consumer of the same group reads only what came after", async () => {
    const seen: MskEvent[] = [];
    const source = await startMskEventSource({
      kafka,
      topic,
      groupId: `${topic}-city-counts`,
      handler: async (event) => seen.push(event),
    });
    // A record produced now: the consumer reading it proves it runs; reading anything else
    // would be a record the group had already committed, read again.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: "marker", value: "resume-marker" }] });
    await producer.disconnect();
    const values = () =>
      seen.flatMap((event) =>
        Object.values(event.records).flatMap((batch) =>
          batch.map((record) => Buffer.from(record.value ?? "", "base64").toString("utf8")),
        ),
      );
    const deadline = Date.now() + 30_000;
    while (!values().includes("resume-marker") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await source.stop();
    expect(values()).toEqual(["resume-marker"]);
  });
});
