/**
 * How every Kafka client of rsvp-atlas reaches the broker: the ingest task's producer and the
 * kafka-topics custom resource's admin. Locally the brokers are given (KAFKA_BROKERS, no auth);
 * on AWS only the MSK cluster's ARN is, since CloudFormation does not expose the bootstrap
 * brokers, so they are asked of MSK at start, and every connection is TLS with SASL/OAUTHBEARER
 * tokens signed by the caller's IAM role.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { GetBootstrapBrokersCommand, KafkaClient } from "@aws-sdk/client-kafka";
import { generateAuthToken } from "aws-msk-iam-sasl-signer-js";
import { type KafkaConfig, logLevel } from "kafkajs";
import { ConfigError } from "./config.js";
import { kafkaLogCreator } from "./kafka-log.js";

export type KafkaAuth = "iam" | "none";

export interface KafkaClientOptions {
  /** Comma-separated host:port; wins over `clusterArn` when both are given. */
  brokers?: string;
  /** The MSK cluster, asked for its bootstrap brokers when `brokers` is empty. */
  clusterArn?: string;
  /** "iam" on MSK (TLS + SASL/OAUTHBEARER signed with the caller's role), "none" locally. */
  auth: KafkaAuth;
  /** Where the IAM tokens are signed for (the cluster's region). */
  region: string;
  clientId: string;
  /** kafkajs's own warnings and errors go here, as structured JSON. */
  logger: Logger;
}

/** The kafkajs configuration for `options`; asks MSK for the brokers if none are given. */
export async function kafkaClientConfig(options: KafkaClientOptions): Promise<KafkaConfig> {
  if (!options.brokers && !options.clusterArn) {
    throw new ConfigError("invalid configuration: KAFKA_BROKERS or KAFKA_CLUSTER_ARN must be set");
  }
  const brokers = options.brokers
    ? options.brokers.split(",")
    : await mskBootstrapBrokers(options.clusterArn ?? "", options.auth);
  return {
    clientId: options.clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
    ...(options.auth === "iam"
      ? {
          ssl: true,
          sasl: {
            mechanism: "oauthbearer",
            oauthBearerProvider: async () => ({
              value: (await generateAuthToken({ region: options.region })).token,
            }),
          },
        }
      : {}),
  };
}

/** The MSK cluster's bootstrap brokers for the chosen authentication. */
export async function mskBootstrapBrokers(clusterArn: string, auth: KafkaAuth): Promise<string[]> {
  const client = new KafkaClient({});
  try {
    const answer = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
    const list =
      auth === "iam" ? answer.BootstrapBrokerStringSaslIam : answer.BootstrapBrokerString;
    if (!list)
      throw new ConfigError(
        `MSK cluster ${clusterArn} has no ${auth === "iam" ? "IAM" : "plaintext"} brokers`,
      );
    return list.split(",");
  } finally {
    client.destroy();
  }
}
