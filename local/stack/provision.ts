/**
 * Creates, in the local engines, exactly what template.yaml declares: the Kafka topics, the
 * DynamoDB tables (key schema and TTL), the S3 buckets and the Firehose delivery streams into
 * them. Names follow {@link localResourceName}; the returned map is what local runs put in the
 * environment variables that CloudFormation would fill with `!Ref`.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateDeliveryStreamCommand, FirehoseClient } from "@aws-sdk/client-firehose";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { type AwsEndpoint, awsClientConfig } from "./aws-endpoint.js";
import { localResourceName, type TableSpec, type TemplateModel } from "./template-model.js";

export interface LocalResources {
  /** Logical id → local table name. */
  tables: Record<string, string>;
  /** Logical id → local bucket name. */
  buckets: Record<string, string>;
  /** Logical id → local delivery stream name. */
  deliveryStreams: Record<string, string>;
  /** Template parameter (`RsvpTopicName`) → topic name. */
  topics: Record<string, string>;
}

/** Firehose needs a role to write to S3; moto accepts any well-formed ARN. */
const LOCAL_FIREHOSE_ROLE = "arn:aws:iam::123456789012:role/rsvp-atlas-local-firehose";

export function localResourceNames(model: TemplateModel): LocalResources {
  const byLogicalId = (items: { logicalId: string }[]) =>
    Object.fromEntries(items.map(({ logicalId }) => [logicalId, localResourceName(logicalId)]));
  return {
    tables: byLogicalId(model.tables),
    buckets: byLogicalId(model.buckets),
    deliveryStreams: byLogicalId(model.deliveryStreams),
    topics: Object.fromEntries(model.topics.map((topic) => [topic.parameter, topic.name])),
  };
}

export async function provisionKafkaTopics(
  model: TemplateModel,
  bootstrapServer: string,
): Promise<void> {
  const admin = new Kafka({
    clientId: "rsvp-atlas-provision",
    brokers: [bootstrapServer],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: model.topics.map((topic) => ({
        topic: topic.name,
        numPartitions: topic.partitions,
        replicationFactor: 1,
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

export async function provisionAwsResources(
  model: TemplateModel,
  endpoint: AwsEndpoint,
): Promise<void> {
  const names = localResourceNames(model);
  const config = awsClientConfig(endpoint);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const dynamodb = new DynamoDBClient(config);
  const firehose = new FirehoseClient(config);
  try {
    await Promise.all(
      model.buckets.map((bucket) =>
        s3.send(new CreateBucketCommand({ Bucket: names.buckets[bucket.logicalId] })),
      ),
    );
    for (const table of model.tables) {
      await createTable(dynamodb, table, names.tables[table.logicalId] as string);
    }
    for (const stream of model.deliveryStreams) {
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: names.deliveryStreams[stream.logicalId],
          DeliveryStreamType: "DirectPut",
          ExtendedS3DestinationConfiguration: {
            BucketARN: `arn:aws:s3:::${names.buckets[stream.bucketLogicalId]}`,
            RoleARN: LOCAL_FIREHOSE_ROLE,
            Prefix: stream.prefix,
            ErrorOutputPrefix: stream.errorOutputPrefix,
          },
        }),
      );
    }
  } finally {
    s3.destroy();
    dynamodb.destroy();
    firehose.destroy();
  }
}

/** Creates one table as the template declares it (key schema, attributes, TTL), named `TableName`. */
export async function createTable(
  dynamodb: DynamoDBClient,
  table: TableSpec,
  TableName: string,
): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: table.keySchema,
      AttributeDefinitions: table.attributeDefinitions,
    }),
  );
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName });
  if (table.ttlAttribute) {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName,
        TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
      }),
    );
  }
}
