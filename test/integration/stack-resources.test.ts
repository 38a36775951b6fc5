/**
 * The local engines hold exactly what template.yaml declares (names aside), and behave as the
 * pipeline needs: Kafka keys map to partitions, DynamoDB has conditional writes, Firehose
 * lands records in the raw bucket.
 */
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
} from "@aws-sdk/client-firehose";
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { loadTemplateModel, readTemplate } from "../../local/stack/template-model.js";

const stack = inject("stack");
const model = loadTemplateModel();
/** The logical ids of a resource type in template.yaml itself, not through the model. */
const templateResourcesOf = (type: string) =>
  Object.entries(readTemplate().Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId)
    .sort();
const aws = awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region });
const dynamodb = new DynamoDBClient(aws);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const firehose = new FirehoseClient(aws);
const kafka = new Kafka({
  clientId: "stack-resources-test",
  brokers: [stack.kafkaBootstrapServer],
  logLevel: logLevel.NOTHING,
});

afterAll(() => {
  dynamodb.destroy();
  s3.destroy();
  firehose.destroy();
});

describe("Kafka topics match template.yaml", () => {
  it("has every template topic with the template's partition count", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({
        topics: model.topics.map((t) => t.name),
      });
      expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(
        model.topics.map((t) => [t.name, t.partitions]).sort(),
      );
      expect(Object.values(stack.resources.topics).sort()).toEqual(
        model.topics.map((t) => t.name).sort(),
      );
    } finally {
      await admin.disconnect();
    }
  });

  it("refuses a topic the template does not declare (no auto-creation)", async () => {
    const producer = kafka.producer({
      allowAutoTopicCreation: true,
      retry: { retries: 1 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Refused as an unknown topic (not a connection failure), and not created by the attempt.
      const sent = producer.send({ topic: "not-in-template", messages: [{ value: "x" }] });
      await expect(sent).rejects.toThrow();
      const error = await sent.catch((failure: Error) => failure);
      expect(String((error as Error & { cause?: unknown }).cause ?? error)).toMatch(
        /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/,
      );
      expect(await admin.listTopics()).not.toContain("not-in-template");
    } finally {
      await admin.disconnect();
      await producer.disconnect();
    }
  });

  it("keeps one key on one partition and delivers what was produced", async () => {
    const topic = stack.resources.topics.RsvpTopicName as string;
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const runId = `roundtrip-${Date.now()}`;
    const sent = ["us/or/portland", "us/me/portland", "co//bogotá"].flatMap((key) =>
      [1, 2, 3].map((n) => ({ key, value: JSON.stringify({ runId, key, n }) })),
    );
    await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: runId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; partition: number; n: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`received ${received.length} of ${sent.length}`)),
        30_000,
      );
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const value = JSON.parse(message.value?.toString() ?? "{}");
          if (value.runId !== runId) return;
          received.push({ key: value.key, partition, n: value.n });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    for (const key of ["us/or/portland", "us/me/portland", "co//bogotá"]) {
      const ofKey = received.filter((r) => r.key === key);
      expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
      expect(ofKey.map((r) => r.n)).toEqual([1, 2, 3]);
    }
  });
});

describe("AWS resources in moto match template.yaml", () => {
  it("creates every table with the template's key schema, attributes and TTL", async () => {
    expect(model.tables.map((table) => table.logicalId).sort()).toEqual(
      templateResourcesOf("AWS::DynamoDB::Table"),
    );
    for (const table of model.tables) {
      const TableName = stack.resources.tables[table.logicalId];
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName }));
      expect(Table?.KeySchema).toEqual(table.keySchema);
      expect(Table?.AttributeDefinitions).toEqual(
        expect.arrayContaining(table.attributeDefinitions),
      );
      expect(Table?.AttributeDefinitions).toHaveLength(table.attributeDefinitions.length);
      const { TimeToLiveDescription } = await dynamodb.send(
        new DescribeTimeToLiveCommand({ TableName }),
      );
      expect(TimeToLiveDescription?.AttributeName).toBe(table.ttlAttribute);
      expect(TimeToLiveDescription?.TimeToLiveStatus).toBe("ENABLED");
    }
  });

  it("supports the conditional single-item writes exactly-once counting relies on", async () => {
    const TableName = stack.resources.tables.CityCountsTable as string;
    // A state: written only where none is (the version condition works the same way).
    const put = () =>
      dynamodb.send(
        new PutItemCommand({
          TableName,
          Item: { pk: { S: "test#state" }, sk: { S: "STATE" } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await put();
    await expect(put()).rejects.toThrow(ConditionalCheckFailedException);
    // A counter: added to only while its fence (an attribute named with a "#") is the one read.
    const add = (read: number | null, fence: number) =>
      dynamodb.send(
        new UpdateItemCommand({
          TableName,
          Key: { pk: { S: "test#count" }, sk: { S: "us/or/portland" } },
          UpdateExpression: "ADD rsvps :n SET #fence = :fence",
          ConditionExpression: read === null ? "attribute_not_exists(#fence)" : "#fence = :read",
          ExpressionAttributeNames: { "#fence": "at#meetup-0" },
          ExpressionAttributeValues: {
            ":n": { N: "3" },
            ":fence": { N: String(fence) },
            ...(read === null ? {} : { ":read": { N: String(read) } }),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
    expect((await add(null, 9)).Attributes?.rsvps?.N).toBe("3");
    await expect(add(null, 12)).rejects.toThrow(ConditionalCheckFailedException);
    expect((await add(9, 12)).Attributes).toMatchObject({
      rsvps: { N: "6" },
      "at#meetup-0": { N: "12" },
    });
  });

  it("creates every bucket", async () => {
    expect(model.buckets.map((bucket) => bucket.logicalId).sort()).toEqual(
      templateResourcesOf("AWS::S3::Bucket"),
    );
    for (const bucket of model.buckets) {
      await expect(
        s3.send(new HeadBucketCommand({ Bucket: stack.resources.buckets[bucket.logicalId] })),
      ).resolves.toBeDefined();
    }
  });

  it("wires every delivery stream to its template bucket, and records land there", async () => {
    for (const stream of model.deliveryStreams) {
      const DeliveryStreamName = stack.resources.deliveryStreams[stream.logicalId];
      const bucket = stack.resources.buckets[stream.bucketLogicalId] as string;
      const { DeliveryStreamDescription } = await firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName }),
      );
      const destination =
        DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription;
      expect(destination?.BucketARN).toBe(`arn:aws:s3:::${bucket}`);
      expect(destination?.Prefix).toBe(stream.prefix);
      expect(destination?.ErrorOutputPrefix).toBe(stream.errorOutputPrefix);

      const lines = ['{"rsvpId":1}\n', '{"rsvpId":2}\n'];
      const result = await firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName,
          Records: lines.map((line) => ({ Data: Buffer.from(line) })),
        }),
      );
      expect(result.FailedPutCount).toBe(0);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const bodies = await Promise.all(
        (listed.Contents ?? []).map(async ({ Key }) =>
          (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString(),
        ),
      );
      expect(bodies.join("")).toContain(lines.join(""));
    }
  });
});
