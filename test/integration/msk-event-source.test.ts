/**
 * The local MSK event source on a real broker feeding the real city-counts handler on moto:
 * Lambda's event shape, whole-batch retry on error, offsets committed only after success.
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { MskEvent } from "../../functions/shared/msk-event.js";
import { mskEventSchema } from "../../functions/shared/msk-event.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { failedBatchesBucket } from "../../local/pipeline/failed-batches.js";
import { startMskEventSource } from "../../local/pipeline/msk-event-source.js";
import { awsClientConfig, localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { eventSourceControls, functionEnvironment } from "../../local/stack/template-model.js";
import { countsByRule } from "../support/counting-rule.js";
import { createCountsTable } from "../support/counts-table.js";

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
const parse = createRsvpParser({ pseudonymKey: "msk-event-source-test-key-012345678" });

const records: RsvpRecord[] = [];
for (const message of syntheticMessages({ seed: "event-source", malformedShare: 0 })) {
  const result = parse(message.text);
  if (result.ok) records.push(result.record);
  if (records.length === 300) break;
}

let countCityRsvps: typeof import("../../functions/city-counts/handler.js").countCityRsvps;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
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

async function allTime(cityKey: string): Promise<number> {
  const item = await dynamodb.send(
    new GetItemCommand({
      TableName,
      Key: { pk: { S: `ALL#${cityKey.split("/")[0]}` }, sk: { S: cityKey } },
    }),
  );
  return Number(item.Item?.rsvps?.N ?? 0);
}

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

    // RSVPs, by the counting rule: the feed re-sends some of them with a newer version.
    const expected = [...countsByRule(records).counts].filter(([key]) => key.startsWith("ALL#"));
    expect(new Set(records.map((r) => r.rsvpId)).size).toBeLessThan(records.length);
    for (const [key, count] of expected.slice(0, 25))
      expect(await allTime(key.slice(key.indexOf(" ") + 1))).toBe(count.rsvps);
  });

  it("with the template's error controls, bisects a failing batch and sets aside only the record that keeps failing", async () => {
    // A topic of its own: 40 records, one of which the handler can never get through.
    const ownTopic = `${topic}-controls`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: ownTopic, numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: ownTopic,
      messages: Array.from({ length: 40 }, (_, i) => ({ value: i === 17 ? "stuck" : `ok-${i}` })),
    });
    await producer.disconnect();
    const handled: string[] = [];
    const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
    expect(controls).toMatchObject({
      maximumRetryAttempts: 5,
      bisectOnError: true,
      onFailureBucket: "CountsFailedBatchesBucket",
    });
    const bucket = stack.resources.buckets.CountsFailedBatchesBucket as string;
    const s3 = new S3Client({
      ...awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region }),
      forcePathStyle: true,
    });
    const setAside = failedBatchesBucket(s3, bucket);
    const written: string[] = [];
    const source = await startMskEventSource({
      kafka,
      topic: ownTopic,
      groupId: `${ownTopic}-group`,
      batchSize: 40,
      batchingWindowMs: 100,
      maximumRetryAttempts: controls.maximumRetryAttempts,
      bisectOnError: controls.bisectOnError,
      handler: async (event) => {
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
    // The one record that kept failing, in the local CountsFailedBatchesBucket, with why.
    expect(written).toEqual([`s3://${bucket}/failed-batches/${ownTopic}-0/17-17.json`]);
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: `failed-batches/${ownTopic}-0/17-17.json` }),
    );
    const failure = JSON.parse(await (object.Body?.transformToString() ?? "{}"));
    s3.destroy();
    expect(failure.requestContext).toEqual({
      condition: "RetryAttemptsExhausted",
      errorMessage: "DynamoDB unreachable for this one",
    });
    const [record] = Object.values(failure.payload.records).flat() as { value: string }[];
    expect(Buffer.from(record?.value ?? "", "base64").toString()).toBe("stuck");
    expect(handled.sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `ok-${i}`)
        .filter((v) => v !== "ok-17")
        .sort(),
    );
    expect(source.stats).toMatchObject({ records: 40, failedRecords: 1 });
  });

  it("resumes after the committed offset: a new consumer of the same group reads nothing again", async () => {
    const seen: MskEvent[] = [];
    const source = await startMskEventSource({
      kafka,
      topic,
      groupId: `${topic}-city-counts`,
      handler: async (event) => seen.push(event),
    });
    await new Promise((r) => setTimeout(r, 3000));
    await source.stop();
    expect(seen).toEqual([]);
  });
});
