import { describe, expect, it } from "vitest";
import { kafkaVersionFromPom } from "../../local/setup/kafka-jars.js";
import { localResourceNames } from "../../local/stack/provision.js";
import {
  functionEnvironment,
  loadTemplateModel,
  localResourceName,
  readTemplate,
} from "../../local/stack/template-model.js";

const template = readTemplate();
const model = loadTemplateModel(template);

describe("template.yaml as the local stack's source of truth", () => {
  it("declares the topics, the counts table, the raw bucket and its delivery stream", () => {
    expect(model.topics).toEqual([
      { parameter: "RsvpTopicName", name: "meetup", partitions: 6 },
      { parameter: "DeadLetterTopicName", name: "meetup-dlq", partitions: 6 },
    ]);
    expect(model.tables).toEqual([
      {
        logicalId: "CityCountsTable",
        keySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        attributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        ttlAttribute: "expiresAt",
      },
    ]);
    expect(model.buckets).toEqual([{ logicalId: "RawBucket" }]);
    expect(model.deliveryStreams).toEqual([
      {
        logicalId: "RawDeliveryStream",
        bucketLogicalId: "RawBucket",
        prefix: "rsvps/dt=!{timestamp:yyyy-MM-dd}/",
        errorOutputPrefix: "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/",
      },
    ]);
  });

  it("runs the local Kafka broker at the MSK cluster's major.minor version", () => {
    const majorMinor = (version: string) => version.split(".").slice(0, 2).join(".");
    expect(model.kafkaVersion).toMatch(/^\d+\.\d+\./);
    expect(majorMinor(kafkaVersionFromPom())).toBe(majorMinor(model.kafkaVersion));
  });

  it("reads CloudFormation short-form intrinsics as their long form", () => {
    const stream = template.Resources.RawDeliveryStream?.Properties as {
      ExtendedS3DestinationConfiguration: { BucketARN: unknown; RoleARN: unknown };
    };
    expect(stream.ExtendedS3DestinationConfiguration.BucketARN).toEqual({
      "Fn::GetAtt": ["RawBucket", "Arn"],
    });
    const policy = template.Resources.RawBucketPolicy?.Properties as { Bucket: unknown };
    expect(policy.Bucket).toEqual({ Ref: "RawBucket" });
  });

  it("derives valid local names from logical ids", () => {
    expect(localResourceName("CityCountsTable")).toBe("rsvp-atlas-city-counts-table");
    for (const name of Object.values(localResourceNames(model).buckets)) {
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    }
  });

  it("gives the city-counts Lambda every setting its handler reads, and the MSK trigger on the RSVP topic", () => {
    const fn = template.Resources.CityCountsFunction?.Properties as {
      Environment: { Variables: Record<string, unknown> };
      Events: { RsvpTopic: { Type: string; Properties: { Topics: unknown[]; Stream: unknown } } };
    };
    expect(Object.keys(fn.Environment.Variables)).toEqual(
      expect.arrayContaining(["TABLE_NAME", "DAY_COUNTS_TTL_DAYS"]),
    );
    expect(fn.Environment.Variables.TABLE_NAME).toEqual({ Ref: "CityCountsTable" });
    expect(fn.Events.RsvpTopic.Type).toBe("MSK");
    expect(fn.Events.RsvpTopic.Properties.Topics).toEqual([{ Ref: "RsvpTopicName" }]);
    expect(fn.Events.RsvpTopic.Properties.Stream).toEqual({ Ref: "RsvpKafkaCluster" });
  });

  it("gives the counts API Lambda its settings and a GET /counts route on a throttled HTTP API", () => {
    expect(functionEnvironment("CountsApiFunction", { CityCountsTable: "t" })).toMatchObject({
      TABLE_NAME: "t",
      ALLOWED_ORIGIN: "*",
    });
    const fn = template.Resources.CountsApiFunction?.Properties as {
      Events: {
        GetCounts: { Type: string; Properties: { Path: string; Method: string; ApiId: unknown } };
      };
    };
    expect(fn.Events.GetCounts).toEqual({
      Type: "HttpApi",
      Properties: { ApiId: { Ref: "CountsHttpApi" }, Path: "/counts", Method: "GET" },
    });
    const api = template.Resources.CountsHttpApi?.Properties as {
      DefaultRouteSettings: Record<string, unknown>;
    };
    expect(api.DefaultRouteSettings.ThrottlingRateLimit).toEqual({ Ref: "CountsApiRateLimit" });
  });

  it("runs the ingest task on Fargate arm64 with every setting it requires, the key as a secret", () => {
    const task = template.Resources.IngestTaskDefinition?.Properties as {
      RuntimePlatform: { CpuArchitecture: string };
      ContainerDefinitions: {
        Environment: { Name: string }[];
        Secrets: { Name: string; ValueFrom: unknown }[];
      }[];
    };
    expect(task.RuntimePlatform.CpuArchitecture).toBe("ARM64");
    const container = task.ContainerDefinitions[0];
    expect(container?.Environment.map((e) => e.Name)).toEqual(
      expect.arrayContaining([
        "FEED_URL",
        "KAFKA_CLUSTER_ARN",
        "KAFKA_AUTH",
        "DELIVERY_STREAM_NAME",
        "RSVP_TOPIC",
        "DEAD_LETTER_TOPIC",
      ]),
    );
    expect(container?.Secrets).toEqual([
      { Name: "MEMBER_PSEUDONYM_KEY", ValueFrom: { Ref: "MemberPseudonymKey" } },
    ]);
  });

  it("resolves a function's environment locally: resources to local names, parameters to defaults", () => {
    expect(functionEnvironment("CityCountsFunction", { CityCountsTable: "local-table" })).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_LOG_LEVEL: "INFO",
      TABLE_NAME: "local-table",
      DAY_COUNTS_TTL_DAYS: "8",
      POWERTOOLS_SERVICE_NAME: "city-counts",
    });
    expect(() => functionEnvironment("CityCountsFunction", {})).toThrow(
      /TABLE_NAME: cannot resolve/,
    );
    expect(() => functionEnvironment("RawBucket", {})).toThrow(/no AWS::Serverless::Function/);
  });

  it("hard-codes no physical names and encrypts every store at rest", () => {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const properties = (resource.Properties ?? {}) as Record<string, unknown>;
      for (const nameProperty of [
        "BucketName",
        "TableName",
        "DeliveryStreamName",
        "RoleName",
        "FunctionName",
        "LogGroupName",
      ]) {
        expect(properties[nameProperty], `${logicalId}.${nameProperty}`).toBeUndefined();
      }
      if (resource.Type === "AWS::S3::Bucket")
        expect(properties.BucketEncryption, logicalId).toBeDefined();
      if (resource.Type === "AWS::DynamoDB::Table")
        expect(properties.SSESpecification, logicalId).toEqual({ SSEEnabled: true });
      if (resource.Type === "AWS::KinesisFirehose::DeliveryStream") {
        expect(properties.DeliveryStreamEncryptionConfigurationInput, logicalId).toBeDefined();
      }
    }
  });
});
