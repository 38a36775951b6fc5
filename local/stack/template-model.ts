/**
 * Reads template.yaml, the single source of truth for the resources the pipeline uses, into the
 * small model the local stack provisions from: Kafka topics (parameters named `*TopicName`,
 * partitions from `TopicPartitions`), DynamoDB tables, S3 buckets and Firehose delivery streams.
 * Local names are derived from logical ids, because the template itself names nothing.
 */
import { readFileSync } from "node:fs";
import { parse, type Tags } from "yaml";
import { templatePath } from "../setup/paths.js";

/** CloudFormation's short-form intrinsics (`!Ref X`), read as their long form (`{Ref: X}`). */
const INTRINSICS = [
  "Base64",
  "Cidr",
  "Equals",
  "FindInMap",
  "GetAtt",
  "GetAZs",
  "If",
  "ImportValue",
  "Join",
  "Not",
  "And",
  "Or",
  "Ref",
  "Select",
  "Split",
  "Sub",
  "Condition",
  "Transform",
];

const cloudFormationTags: Tags = INTRINSICS.flatMap((name) => {
  const key = name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
  const toIntrinsic = (value: unknown) => ({
    // `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}` in long form.
    [key]: name === "GetAtt" && typeof value === "string" ? value.split(".") : value,
  });
  return (["scalar", "seq", "map"] as const).map((collection) => ({
    tag: `!${name}`,
    collection: collection === "scalar" ? undefined : collection,
    resolve: (value: unknown) => {
      const plain =
        value !== null && typeof value === "object" && "toJSON" in value
          ? (value as { toJSON(): unknown }).toJSON()
          : value;
      return toIntrinsic(plain);
    },
  }));
}) as Tags;

export interface KeyAttribute {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

export interface TableSpec {
  logicalId: string;
  keySchema: KeyAttribute[];
  attributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
  ttlAttribute: string | null;
}

export interface DeliveryStreamSpec {
  logicalId: string;
  bucketLogicalId: string;
  prefix: string;
  errorOutputPrefix: string;
}

export interface TopicSpec {
  /** The template parameter that names it, e.g. `RsvpTopicName`. */
  parameter: string;
  name: string;
  partitions: number;
}

export interface TemplateModel {
  /** The MSK cluster's `KafkaVersion`, e.g. `4.0.x`. */
  kafkaVersion: string;
  topics: TopicSpec[];
  tables: TableSpec[];
  buckets: { logicalId: string }[];
  deliveryStreams: DeliveryStreamSpec[];
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Resources: Record<string, CfnResource>;
}

export function readTemplate(path = templatePath): CfnTemplate {
  return parse(readFileSync(path, "utf8"), { customTags: cloudFormationTags }) as CfnTemplate;
}

export function loadTemplateModel(template: CfnTemplate = readTemplate()): TemplateModel {
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);
  const parameters = template.Parameters ?? {};

  const kafkaClusters = ofType("AWS::MSK::Cluster");
  const kafkaVersion = kafkaClusters[0]?.[1].Properties?.KafkaVersion;
  if (kafkaClusters.length !== 1 || typeof kafkaVersion !== "string") {
    throw new Error("template.yaml must hold exactly one AWS::MSK::Cluster with a KafkaVersion");
  }

  const partitions = Number(parameters.TopicPartitions?.Default);
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error("template.yaml parameter TopicPartitions needs a positive integer Default");
  }
  const topics = Object.entries(parameters)
    .filter(([name]) => name.endsWith("TopicName"))
    .map(([parameter, spec]) => {
      if (typeof spec.Default !== "string") {
        throw new Error(`template.yaml parameter ${parameter} needs a Default topic name`);
      }
      return { parameter, name: spec.Default, partitions };
    });

  const tables = ofType("AWS::DynamoDB::Table").map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const ttl = properties.TimeToLiveSpecification as
      | { AttributeName: string; Enabled: boolean }
      | undefined;
    return {
      logicalId,
      keySchema: properties.KeySchema as KeyAttribute[],
      attributeDefinitions: properties.AttributeDefinitions as TableSpec["attributeDefinitions"],
      ttlAttribute: ttl?.Enabled ? ttl.AttributeName : null,
    };
  });

  const buckets = ofType("AWS::S3::Bucket").map(([logicalId]) => ({ logicalId }));

  const deliveryStreams = ofType("AWS::KinesisFirehose::DeliveryStream").map(
    ([logicalId, resource]) => {
      const destination = resource.Properties?.ExtendedS3DestinationConfiguration as
        | { BucketARN: unknown; Prefix?: string; ErrorOutputPrefix?: string }
        | undefined;
      const bucketLogicalId = getAttTarget(destination?.BucketARN, "Arn");
      if (!destination || !bucketLogicalId) {
        throw new Error(
          `${logicalId}: ExtendedS3DestinationConfiguration.BucketARN must be !GetAtt <Bucket>.Arn`,
        );
      }
      return {
        logicalId,
        bucketLogicalId,
        prefix: destination.Prefix ?? "",
        errorOutputPrefix: destination.ErrorOutputPrefix ?? "",
      };
    },
  );

  return { kafkaVersion, topics, tables, buckets, deliveryStreams };
}

function getAttTarget(value: unknown, attribute: string): string | undefined {
  const getAtt = (value as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
  if (Array.isArray(getAtt) && getAtt[1] === attribute && typeof getAtt[0] === "string") {
    return getAtt[0];
  }
  return undefined;
}

/**
 * The local name of a template resource: `rsvp-atlas-` and its logical id in kebab case
 * (`CityCountsTable` → `rsvp-atlas-city-counts-table`), valid for tables, buckets and streams.
 */
export function localResourceName(logicalId: string): string {
  return `rsvp-atlas-${logicalId.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}`;
}
