// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's own ${...} (Fn::Sub) in plain strings.
/**
 * What template.yaml asks of Lambda's MSK event source and of the topic behind the counts, pinned
 * to what the services accept, each with its source. cfn-lint knows the properties' shapes;
 * these know the values' meaning and ranges.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { topicKeepsRecordsHours } from "../../functions/shared/topic-retention.js";
import { eventSourceControls, readTemplate } from "../../local/stack/template-model.js";
import { inlineStatements } from "../support/function-policies.js";
import { wholeNumberRange } from "../support/whole-number-range.js";

const template = readTemplate();
type Props = Record<string, unknown>;
const resource = (logicalId: string) => {
  const found = template.Resources[logicalId] as
    | { Type: string; Condition?: string; DependsOn?: string | string[]; Properties?: Props }
    | undefined;
  if (!found) throw new Error(`no ${logicalId} in template.yaml`);
  return found;
};
const parameter = (name: string) => {
  const found = template.Parameters?.[name];
  if (!found) throw new Error(`no parameter ${name}`);
  return found as {
    Type: string;
    Default?: string | number;
    AllowedValues?: string[];
  };
};
const eventSource = () => {
  const fn = resource("CityCountsFunction").Properties as {
    Events: { RsvpTopic: { Type: string; Properties: Props } };
  };
  return fn.Events.RsvpTopic;
};
const statements = () =>
  inlineStatements<{ Sid: string; Action: string[]; Resource: unknown }>(
    resource("CityCountsFunction").Properties,
  );

/** The failed-records topic's ARN, as the template builds it from the cluster's. */
const topicArn = {
  "Fn::Sub": [
    "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/${Name}/${Uuid}/${CountsFailedTopicName}",
    {
      Name: { "Fn::Select": [1, { "Fn::Split": ["/", { Ref: "RsvpKafkaCluster" }] }] },
      Uuid: { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "RsvpKafkaCluster" }] }] },
    },
  ],
};

/** RsvpKafkaCluster's ClusterName, as the city-counts role spells it (not by reference). */
const clusterName = {
  "Fn::Join": [
    "-",
    [
      "rsvp-atlas",
      {
        "Fn::Select": [
          0,
          {
            "Fn::Split": [
              "-",
              { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
            ],
          },
        ],
      },
    ],
  ],
};

/** The failed-records topic as the city-counts role names it: by the cluster's name. */
const topicArnByName = {
  "Fn::Sub": [
    "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/${Name}/*/${CountsFailedTopicName}",
    { Name: clusterName },
  ],
};

describe("the city-counts function's table permissions", () => {
  it("are exactly the DynamoDB calls its store makes (each command is the action of its name)", () => {
    // Service Authorization Reference, "Actions defined by Amazon DynamoDB": each API call is
    // authorized by the action of its name (dynamodb:Query for Query, ...).
    const source = readFileSync(
      new URL("../../functions/city-counts/counts-store.ts", import.meta.url),
      "utf8",
    );
    const commands = [...source.matchAll(/new (\w+)Command\(/g)].map((match) => match[1]);
    const table = statements().find((statement) => statement.Sid === "CountsTable");
    expect(new Set(table?.Action)).toEqual(new Set(commands.map((name) => `dynamodb:${name}`)));
    expect(table?.Resource).toEqual({ "Fn::GetAtt": ["CityCountsTable", "Arn"] });
  });
});

describe("the city-counts event source in template.yaml", () => {
  it("uses provisioned mode, which the error controls need", () => {
    // Lambda Developer Guide, "Configuring error handling controls for Kafka event sources"
    // (kafka-retry-configurations) and "Kafka event source mapping scaling modes"
    // (kafka-scaling-modes): retry limits, bisect and Kafka destinations are provisioned-mode
    // features; MinimumPollers 1-200 (default 1), MaximumPollers 1-2000 (default 200), and
    // MaximumPollers >= MinimumPollers.
    const { Type, Properties } = eventSource();
    expect(Type).toBe("MSK");
    expect(Properties.ProvisionedPollerConfig).toEqual({
      MinimumPollers: { Ref: "CityCountsMinimumPollers" },
      MaximumPollers: { Ref: "CityCountsMaximumPollers" },
    });
    expect(wholeNumberRange("CityCountsMinimumPollers")).toEqual([1, 200]);
    expect(wholeNumberRange("CityCountsMaximumPollers")).toEqual([1, 2000]);
    expect(Number(parameter("CityCountsMaximumPollers").Default)).toBeGreaterThanOrEqual(
      Number(parameter("CityCountsMinimumPollers").Default),
    );
  });

  it("gathers records for a batching window the event source accepts, Lambda's 500 ms by default", () => {
    // Lambda API reference, CreateEventSourceMapping: MaximumBatchingWindowInSeconds "any value
    // from 0 seconds to 300 seconds in increments of seconds"; "For Amazon MSK ... the default
    // batching window is 500 ms" and only a mapping without the property has it. The
    // default -1 leaves the property out: counts within a second of the feed (bench:stream).
    expect(eventSource().Properties.MaximumBatchingWindowInSeconds).toEqual({
      "Fn::If": [
        "CityCountsLambdaDefaultWindow",
        { Ref: "AWS::NoValue" },
        { Ref: "CityCountsBatchingWindowSeconds" },
      ],
    });
    expect(readTemplate().Conditions?.CityCountsLambdaDefaultWindow).toEqual({
      "Fn::Equals": [{ Ref: "CityCountsBatchingWindowSeconds" }, "-1"],
    });
    expect(parameter("CityCountsBatchingWindowSeconds").Default).toBe("-1");
    expect(wholeNumberRange("CityCountsBatchingWindowSeconds")).toEqual([-1, 300]);
    // The local event source then gathers for 500 ms, as the deployed one does.
    expect(eventSourceControls("CityCountsFunction", "RsvpTopic").batchingWindowMs).toBe(500);
  });

  it("retries a failing batch a bounded number of times, halving it, then moves on", () => {
    // Same page: MaximumRetryAttempts -1 (infinite, the default) or 0-10000;
    // BisectBatchOnFunctionError splits the batch. MaximumRecordAgeInSeconds is left out on
    // purpose: "the maximum age of a record that Lambda sends to your function" (Lambda API
    // reference, CreateEventSourceMapping) discards any older record, failing or not, so a
    // backlog would go to the bucket uncounted; the topic's retention bounds the age instead.
    const { Properties } = eventSource();
    expect(Properties).toMatchObject({
      MaximumRetryAttempts: { Ref: "CityCountsMaximumRetryAttempts" },
      BisectBatchOnFunctionError: { "Fn::If": ["CityCountsBisect", true, false] },
    });
    expect(Properties.MaximumRecordAgeInSeconds).toBeUndefined();
    expect(wholeNumberRange("CityCountsMaximumRetryAttempts")).toEqual([0, 10000]);
    // Both are parameters (issue 11), bisect on by default: a boolean the mapping takes, from
    // a string parameter through a condition (CloudFormation parameters have no Boolean type).
    const bisect = parameter("CityCountsBisectBatchOnError");
    expect([bisect.Type, bisect.Default, bisect.AllowedValues]).toEqual([
      "String",
      "true",
      ["true", "false"],
    ]);
    expect(template.Conditions?.CityCountsBisect).toEqual({
      "Fn::Equals": [{ Ref: "CityCountsBisectBatchOnError" }, "true"],
    });
  });

  it("sends what it gives up on to the bucket or, as chosen, a topic of the same cluster", () => {
    // Lambda API reference, OnFailure: Destination is an ARN or kafka://<topic>, the topic
    // matching [^.][a-zA-Z0-9\-_.]{0,248} (the destination at most 350 characters); the
    // CloudFormation reference, AWS::Lambda::EventSourceMapping OnFailure: Destination at
    // least 12 characters (so a topic name of at least 4 after "kafka://"). Lambda
    // Developer Guide, "Using a Kafka topic as an on-failure destination": the topic must be in
    // the same cluster as the source topic and must not be the source topic.
    expect(eventSource().Properties.DestinationConfig).toEqual({
      OnFailure: {
        Destination: {
          "Fn::If": [
            "CityCountsFailuresToKafka",
            { "Fn::Sub": "kafka://${CountsFailedTopicName}" },
            { "Fn::GetAtt": ["CountsFailedBatchesBucket", "Arn"] },
          ],
        },
      },
    });
    const choice = parameter("CityCountsFailureDestination");
    expect([choice.Type, choice.Default, choice.AllowedValues]).toEqual([
      "String",
      "s3",
      ["s3", "kafka"],
    ]);
    expect(template.Conditions?.CityCountsFailuresToKafka).toEqual({
      "Fn::Equals": [{ Ref: "CityCountsFailureDestination" }, "kafka"],
    });
    expect(template.Conditions?.CityCountsFailuresToS3).toEqual({
      "Fn::Equals": [{ Ref: "CityCountsFailureDestination" }, "s3"],
    });
    // CloudFormation matches AllowedPattern against the whole value; Lambda's pattern, anchored
    // the same way, must accept exactly what the parameter accepts.
    const topicName = parameter("CountsFailedTopicName") as {
      Default?: string;
      AllowedPattern?: string;
    };
    const allowed = new RegExp(`^(?:${topicName.AllowedPattern})$`);
    const lambdas = /^kafka:\/\/([^.]([a-zA-Z0-9\-_.]{0,248}))$/;
    const kafkaNames = /^[a-zA-Z0-9._-]{1,249}$/;
    const deployable = (name: string) =>
      lambdas.test(`kafka://${name}`) && `kafka://${name}`.length >= 12 && kafkaNames.test(name);
    for (const name of [
      String(topicName.Default),
      "a",
      "abc",
      "abcd",
      "_x.y",
      "-x-y",
      "x.y.",
      ".hidden",
      "a".repeat(249),
      "a".repeat(250),
      "with space",
      "ü",
      "",
    ]) {
      expect(allowed.test(name), name).toBe(deployable(name));
    }
    expect(allowed.test(String(topicName.Default))).toBe(true);
    expect(topicName.Default).not.toBe(parameter("RsvpTopicName").Default);
  });

  it("reads a topic whose name the event source mapping accepts", () => {
    // CloudFormation resource schema of AWS::Lambda::EventSourceMapping (as cfn-lint ships it):
    // Topics items match ^[^.]([a-zA-Z0-9\-_.]+) with 1-249 characters, so at least two and
    // not starting with "."; Kafka allows [a-zA-Z0-9._-]{1,249}.
    expect(eventSource().Properties.Topics).toEqual([{ Ref: "RsvpTopicName" }]);
    const rsvpTopic = parameter("RsvpTopicName") as { Default?: string; AllowedPattern?: string };
    const allowed = new RegExp(`^(?:${rsvpTopic.AllowedPattern})$`);
    const mapping = /^[^.]([a-zA-Z0-9\-_.]+)/;
    const kafkaNames = /^[a-zA-Z0-9._-]{1,249}$/;
    for (const name of [
      String(rsvpTopic.Default),
      "m",
      "mx",
      ".m",
      "m.",
      "a".repeat(249),
      "a".repeat(250),
      "a b",
    ]) {
      expect(allowed.test(name), name).toBe(mapping.test(name) && kafkaNames.test(name));
    }
  });

  it("lets the function's role write only to the destination chosen", () => {
    // Lambda Developer Guide, "Capturing discarded batches for Amazon MSK and self-managed
    // Apache Kafka event sources" (kafka-on-failure): an S3 destination needs s3:PutObject and
    // s3:ListBucket on the execution role, a Kafka one kafka-cluster:WriteData; MSK Developer
    // Guide, "Semantics of IAM authorization policy actions and resources": WriteData requires
    // Connect (cluster) and DescribeTopic (topic).
    const all = inlineStatements<unknown>(resource("CityCountsFunction").Properties);
    const conditional = (condition: string) =>
      all
        .map((s) => (s as { "Fn::If"?: [string, Record<string, unknown>, unknown] })["Fn::If"])
        .filter((branch) => branch?.[0] === condition)
        .map((branch) => {
          expect(branch?.[2]).toEqual({ Ref: "AWS::NoValue" });
          return branch?.[1] as { Sid: string; Action: string[]; Resource: unknown };
        });
    expect(conditional("CityCountsFailuresToS3")).toEqual([
      {
        Sid: "FailedBatchesDestination",
        Effect: "Allow",
        Action: ["s3:PutObject"],
        Resource: { "Fn::Sub": "${CountsFailedBatchesBucket.Arn}/*" },
      },
      {
        Sid: "FailedBatchesDestinationList",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: { "Fn::GetAtt": ["CountsFailedBatchesBucket", "Arn"] },
      },
    ]);
    // MSK Developer Guide, "Create authorization policies for the IAM role": with Kafka 2.8
    // and later clients idempotent by default, WriteData on a topic alone does not allow an
    // idempotent write; that takes WriteDataIdempotently on the cluster ("Produce data
    // idempotently": Connect, DescribeTopic, WriteData, WriteDataIdempotently).
    expect(conditional("CityCountsFailuresToKafka")).toEqual([
      {
        Sid: "FailedRecordsTopic",
        Effect: "Allow",
        Action: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
        Resource: topicArnByName,
      },
      {
        Sid: "FailedRecordsTopicIdempotent",
        Effect: "Allow",
        Action: ["kafka-cluster:WriteDataIdempotently"],
        Resource: {
          "Fn::Sub": [
            "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:cluster/${Name}/*",
            { Name: clusterName },
          ],
        },
      },
    ]);
    // Connect on the cluster, unconditionally (the event source reads with it).
    expect(new Map(statements().map((s) => [s.Sid, s])).get("ReadRsvpTopic")?.Action).toContain(
      "kafka-cluster:Connect",
    );
    // No S3 grant outside those conditions.
    const unconditional = all.filter((s) => !("Fn::If" in (s as object)));
    expect(JSON.stringify(unconditional)).not.toContain("s3:");
  });

  it("keeps the event source's role until its network interfaces are gone: the role names the cluster by name", () => {
    // The event source's interfaces are made and deleted under the function's role ("If the
    // IAM role is deleted before Lambda can delete the ENI, ENI deletion by Lambda will not be
    // possible", awslabs/aws-support-tools#174). CloudFormation deletes a resource before what
    // it depends on, so the wait for the interfaces depends on SAM's role for the function,
    // and the role must not depend on the cluster, which depends on the wait (a cycle). The
    // role's LogicalId is "<function-LogicalId>Role", to be referenced by it (SAM Developer
    // Guide, "CloudFormation resources generated when AWS::Serverless::Function is specified").
    // A cluster's ARN is cluster/<name>/<uuid>, a topic's topic/<cluster name>/<uuid>/<topic>,
    // a group's group/<cluster name>/<uuid>/<group> (MSK Developer Guide, "Semantics of IAM
    // authorization policy actions and resources"): by name, the uuid is "*".
    const wait = resource("KafkaNetworkInterfacesGone") as { DependsOn?: string | string[] };
    expect([wait.DependsOn ?? []].flat()).toContain("CityCountsFunctionRole");
    const policies = JSON.stringify(resource("CityCountsFunction").Properties?.Policies);
    expect(policies).not.toContain("RsvpKafkaCluster");
    // The name the role uses is the cluster's.
    expect(resource("RsvpKafkaCluster").Properties?.ClusterName).toEqual(clusterName);
    expect(policies.split(JSON.stringify(clusterName)).length - 1).toBe(7);
  });

  it("keeps the cluster lookups SAM's managed policy allows on every cluster to this one", () => {
    // samtranslator's MSK event source attaches service-role/AWSLambdaMSKExecutionRole to the
    // role SAM makes, whose kafka:DescribeCluster(V2) and GetBootstrapBrokers are on "*" (AWS
    // Managed Policy reference, AWSLambdaMSKExecutionRole). A Deny wins over that Allow.
    const deny = inlineStatements<{ Sid?: string }>(resource("CityCountsFunction").Properties).find(
      (statement) => statement.Sid === "NoOtherCluster",
    );
    expect(deny).toEqual({
      Sid: "NoOtherCluster",
      Effect: "Deny",
      Action: ["kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"],
      NotResource: {
        "Fn::Sub": [
          "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:cluster/${Name}/*",
          { Name: clusterName },
        ],
      },
    });
  });

  it("creates the failed-records topic only when it is the destination, kept as long as the RSVP topic", () => {
    const topics = (resource("KafkaTopics").Properties as { Topics: unknown[] }).Topics;
    const failed = topics
      .map((t) => (t as { "Fn::If"?: [string, Record<string, unknown>, unknown] })["Fn::If"])
      .find((branch) => branch !== undefined);
    expect(failed).toEqual([
      "CityCountsFailuresToKafka",
      {
        Name: { Ref: "CountsFailedTopicName" },
        Partitions: { Ref: "TopicPartitions" },
        ReplicationFactor: 2,
        // Under the dedup horizon (KafkaTopics checks it): a replay of what it keeps counts once.
        RetentionHours: { Ref: "RsvpTopicRetentionHours" },
        SegmentHours: 1,
      },
      { Ref: "AWS::NoValue" },
    ]);
    const manage = inlineStatements<{ Sid: string; Resource: unknown[] }>(
      resource("KafkaTopicsFunction").Properties,
    ).find((s) => s.Sid === "ManageTopics");
    expect(manage?.Resource).toContainEqual({
      "Fn::If": ["CityCountsFailuresToKafka", topicArn, { Ref: "AWS::NoValue" }],
    });
    const output = (template as { Outputs?: Record<string, { Condition?: string }> }).Outputs
      ?.CountsFailedTopic;
    expect(output?.Condition).toBe("CityCountsFailuresToKafka");
  });

  it("alarms when the counts fall behind and when anything reaches the failed-batches bucket", () => {
    // Lambda Developer Guide, "Types of metrics for Lambda functions" (monitoring-metrics-types):
    // OffsetLag is a performance metric of the function (AWS Compute Blog, "Offset lag metric
    // for Amazon MSK as an event source for Lambda"), and the function's metrics are kept "By
    // Function Name (FunctionName)", aggregated over its versions and aliases (Lambda Developer
    // Guide, "Working with Lambda function metrics": viewing them on the CloudWatch console,
    // where OffsetLag is listed among them); OnFailureDestinationDeliveredEventCount
    // is an event source mapping metric published with MetricsConfig {Metrics: [EventCount]}.
    expect(eventSource().Properties.MetricsConfig).toEqual({ Metrics: ["EventCount"] });
    expect(resource("CityCountsLagAlarm").Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "OffsetLag",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: "CityCountsFunction" } }],
      Statistic: "Maximum",
      Threshold: { Ref: "CityCountsLagAlarmRecords" },
      AlarmActions: [{ Ref: "AlarmTopic" }],
    });
    // SAM names the mapping it makes from the event <function id><event id> (SAM Developer
    // Guide, "Generated AWS CloudFormation resources for AWS SAM": EventSourceMapping).
    expect(resource("CountsFailedBatchesAlarm").Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "OnFailureDestinationDeliveredEventCount",
      Dimensions: [
        { Name: "EventSourceMappingUUID", Value: { Ref: "CityCountsFunctionRsvpTopic" } },
      ],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [{ Ref: "AlarmTopic" }],
    });
  });

  it("alarms when the on-failure destination refuses records and Lambda drops them", () => {
    // Lambda Developer Guide, "Event source mapping metrics" (monitoring-metrics-types): "If
    // delivery to the destination fails ... Lambda doesn't emit the
    // OnFailureDestinationDeliveredEventCount metric ... For the DroppedEventCount metric,
    // Lambda emits a number equal to the number of events that failed delivery", and
    // DroppedEventCount is in the EventCount group, "Yes" for Amazon MSK.
    expect(eventSource().Properties.MetricsConfig).toEqual({ Metrics: ["EventCount"] });
    const alarm = resource("CountsRecordsDroppedAlarm");
    expect(alarm.Condition).toBeUndefined();
    expect(alarm.Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "DroppedEventCount",
      Dimensions: [
        { Name: "EventSourceMappingUUID", Value: { Ref: "CityCountsFunctionRsvpTopic" } },
      ],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [{ Ref: "AlarmTopic" }],
    });
    // No MaximumRecordAgeInSeconds: the metric's other cause (records too old) cannot happen,
    // so every drop it counts is a refused delivery.
    expect(eventSource().Properties).not.toHaveProperty("MaximumRecordAgeInSeconds");
  });

  it("alarms when failures to the failed-records topic outnumber a batch's retries", () => {
    // Lambda's docs name OnFailureDestinationDeliveredEventCount for destinations without
    // saying a Kafka topic publishes it ("Using a Kafka topic as an on-failure destination"
    // says nothing of metrics), so with that destination the function's own Errors stand in:
    // a batch set aside failed once and then MaximumRetryAttempts times more.
    const alarm = resource("CityCountsRetriesUsedAlarm");
    expect(alarm.Condition).toBe("CityCountsFailuresToKafka");
    expect(alarm.Properties).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: "CityCountsFunction" } }],
      Statistic: "Sum",
      Threshold: { Ref: "CityCountsMaximumRetryAttempts" },
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [{ Ref: "AlarmTopic" }],
    });
    expect(eventSource().Properties.MaximumRetryAttempts).toEqual({
      Ref: "CityCountsMaximumRetryAttempts",
    });
  });

  it("lets the topics function read and set a topic's retention", () => {
    // MSK Developer Guide, "Common use cases for client authorization policy": describing a
    // topic's configuration needs kafka-cluster:DescribeTopicDynamicConfiguration, updating it
    // also kafka-cluster:AlterTopicDynamicConfiguration (with Connect on the cluster).
    const manage = inlineStatements<{ Sid: string; Action: string[] }>(
      resource("KafkaTopicsFunction").Properties,
    ).find((s) => s.Sid === "ManageTopics");
    expect(manage?.Action).toEqual(
      expect.arrayContaining([
        "kafka-cluster:DescribeTopicDynamicConfiguration",
        "kafka-cluster:AlterTopicDynamicConfiguration",
      ]),
    );
  });

  it("keeps the topic's retention explicit and shorter than the dedup horizon", () => {
    // Apache Kafka's own retention.ms default is 7 days (log.retention.hours=168); MSK keeps
    // Kafka's defaults for what its default configuration does not list (MSK Developer Guide,
    // "Default Amazon MSK configuration"). Set here, it is no longer a default to trust.
    const topics = resource("KafkaTopics").Properties as {
      DedupHorizonDays: unknown;
      Topics: { Name: unknown; RetentionHours?: unknown; SegmentHours?: unknown }[];
    };
    expect(topics.DedupHorizonDays).toEqual({ Ref: "DedupHorizonDays" });
    const rsvpTopic = topics.Topics.find(
      (t) => (t.Name as { Ref?: string }).Ref === "RsvpTopicName",
    ) as { RetentionHours: unknown; SegmentHours: unknown };
    expect(rsvpTopic.RetentionHours).toEqual({ Ref: "RsvpTopicRetentionHours" });
    // Kafka deletes whole segments: a record may outlive its retention by a segment's roll.
    expect(rsvpTopic.SegmentHours).toBe(1);
    expect(
      topicKeepsRecordsHours(Number(parameter("RsvpTopicRetentionHours").Default), 1),
    ).toBeLessThan(Number(parameter("DedupHorizonDays").Default) * 24);
    // The function is told the same, to keep a state alive past any redelivery.
    const fn = resource("CityCountsFunction").Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(fn.Environment.Variables).toMatchObject({
      RSVP_STATE_TTL_DAYS: { Ref: "DedupHorizonDays" },
      RSVP_TOPIC_RETENTION_HOURS: { Ref: "RsvpTopicRetentionHours" },
      RSVP_TOPIC_SEGMENT_HOURS: String(rsvpTopic.SegmentHours),
    });
  });

  it("is what the local event source runs with (npm start), parameters at their defaults", () => {
    expect(eventSourceControls("CityCountsFunction", "RsvpTopic")).toEqual({
      batchSize: 100,
      batchingWindowMs: 500,
      maximumRetryAttempts: 5,
      bisectOnError: true,
      onFailure: { kind: "s3", bucketLogicalId: "CountsFailedBatchesBucket" },
      // Globals' Timeout: the handler's context counts down from it (its deadline).
      functionTimeoutMs: 60_000,
    });
    // A Timeout of the function's own is taken before Globals'.
    const ownTimeout = readTemplate();
    const counting = ownTimeout.Resources.CityCountsFunction?.Properties as Record<string, unknown>;
    counting.Timeout = 30;
    expect(
      eventSourceControls("CityCountsFunction", "RsvpTopic", ownTimeout).functionTimeoutMs,
    ).toBe(30_000);
    // Deployed with CityCountsFailureDestination kafka, it writes to that topic instead.
    const withKafka = readTemplate();
    const choice = withKafka.Parameters?.CityCountsFailureDestination;
    if (choice) choice.Default = "kafka";
    expect(eventSourceControls("CityCountsFunction", "RsvpTopic", withKafka).onFailure).toEqual({
      kind: "kafka",
      topic: parameter("CountsFailedTopicName").Default,
    });
  });
});
