/**
 * kafka-topics Lambda, the service token of the Custom::KafkaTopics resource in template.yaml.
 * The MSK cluster does not create topics on first use, and the city-counts Lambda's MSK event
 * source needs its topic to exist when it starts, so the deploy creates the topics (and grows
 * their partitions when the template asks for more) before anything reads or writes them. See
 * ./topics-resource.ts for what each request does, ./topics.ts for what is done to each topic.
 */
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
  Context,
} from "aws-lambda";
import { Kafka } from "kafkajs";
import { z } from "zod";
import { readConfig } from "../shared/config.js";
import {
  answerCustomResource,
  type CustomResourceAnswerDependencies,
  type LambdaContextLike,
  logCustomResourceExchange,
} from "../shared/custom-resource.js";
import { kafkaClientConfig } from "../shared/kafka-client.js";
import { createLogger } from "../shared/logger.js";
import {
  applyEvent,
  type KafkaTopicsAdmin,
  type TopicsResourceDependencies,
} from "./topics-resource.js";

// For the test of the sample event (events/kafka-topics-create.json).
export { readProperties } from "./topics-resource.js";

export const logger = createLogger("kafka-topics");

export interface KafkaTopicsDependencies
  extends TopicsResourceDependencies,
    CustomResourceAnswerDependencies {}

/** The whole exchange: apply the event, answer CloudFormation exactly once. */
export async function handleKafkaTopics(
  event: CloudFormationCustomResourceEvent,
  context: LambdaContextLike,
  deps: KafkaTopicsDependencies,
): Promise<CloudFormationCustomResourceResponse> {
  return answerCustomResource(event, context, () => applyEvent(event, deps), deps);
}

/**
 * The admin for the environment's cluster. The environment is read here, per request, and not
 * at import as other handlers do: an import error sends CloudFormation no answer at all and the
 * stack would wait for one, while an error here is answered FAILED with its reason.
 */
export async function adminFromEnvironment(): Promise<KafkaTopicsAdmin> {
  const config = readConfig(
    z.object({
      /** The MSK cluster, asked for its IAM bootstrap brokers; or give KAFKA_BROKERS. */
      KAFKA_CLUSTER_ARN: z
        .string()
        .regex(/^(arn:[\w-]+:kafka:[\w-]+:\d{12}:cluster\/.+)?$/, "must be an MSK cluster ARN")
        .default(""),
      /** Comma-separated host:port (locally); wins over KAFKA_CLUSTER_ARN. */
      KAFKA_BROKERS: z.string().default(""),
      /** "iam" on MSK (TLS + SASL/OAUTHBEARER signed with the function's role), "none" locally. */
      KAFKA_AUTH: z.enum(["iam", "none"]).default("iam"),
      AWS_REGION: z.string().min(1).default("us-east-1"),
    }),
  );
  const kafkaConfig = await kafkaClientConfig({
    brokers: config.KAFKA_BROKERS,
    clusterArn: config.KAFKA_CLUSTER_ARN,
    auth: config.KAFKA_AUTH,
    region: config.AWS_REGION,
    clientId: "rsvp-atlas-kafka-topics",
    logger,
  });
  return new Kafka(kafkaConfig).admin();
}

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    handleKafkaTopics(event, context, { createAdmin: adminFromEnvironment, fetch, log }),
  );
