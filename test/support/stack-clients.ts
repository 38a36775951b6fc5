/**
 * Clients of the integration project's shared local stack (test/support/global-stack.ts: one
 * Kafka broker and one moto for every integration file), set up as the stack's own tools set up
 * theirs. Each call makes a new client, which the test destroys or disconnects when done.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { inject } from "vitest";
import { type AwsEndpoint, awsClientConfig } from "../../local/stack/aws-endpoint.js";

/** moto's endpoint and region, as local/stack/aws-endpoint.ts and local/batch take them. */
export function stackAws(): AwsEndpoint {
  const stack = inject("stack");
  return { endpoint: stack.awsEndpoint, region: stack.region };
}

export function stackDynamoDB(): DynamoDBClient {
  return new DynamoDBClient(awsClientConfig(stackAws()));
}

/** Path-style addressing: moto serves buckets under its one host name. */
export function stackS3(): S3Client {
  return new S3Client({ ...awsClientConfig(stackAws()), forcePathStyle: true });
}

/** A kafkajs client of the local broker; its own logs are silenced (a test says what failed). */
export function stackKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [inject("stack").kafkaBootstrapServer],
    logLevel: logLevel.NOTHING,
  });
}
