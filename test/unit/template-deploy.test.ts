// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's own ${...} (Fn::Sub) in plain strings.
/**
 * The deployable whole of template.yaml beyond the data path: the network, the ECS services,
 * the topics made before anything reads them, the alarms and what the stack tells its user.
 * cfn-lint, sam validate and checkov (npm test) check the template's form; these check intent.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localSubstitutions } from "../../local/batch/local-workflow.js";
import { repoRoot } from "../../local/setup/paths.js";
import { type CfnTemplate, readTemplate } from "../../local/stack/template-model.js";
import { ingestConfigSchema } from "../../tasks/ingest/config.js";
import { flatten } from "../../tasks/ingest/counters.js";
import { RESUME_GROUP_PREFIX } from "../../tasks/ingest/resume-point.js";
import { inlineStatements } from "../support/function-policies.js";
import { ingestCounters } from "../support/ingest-counters.js";
import { bareListPicks, evaluateListPick } from "../support/list-intrinsics.js";

const template = readTemplate();
type Props = Record<string, unknown>;
const resource = (logicalId: string) => {
  const found = template.Resources[logicalId] as
    | { Type: string; Condition?: string; DependsOn?: string | string[]; Properties?: Props }
    | undefined;
  if (!found) throw new Error(`no ${logicalId} in template.yaml`);
  return found;
};
const props = (logicalId: string) => resource(logicalId).Properties ?? {};
const ofType = (type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const privateSubnets = {
  "Fn::If": [
    "CreateNetwork",
    [{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }],
    { Ref: "ExistingPrivateSubnetIds" },
  ],
};
const vpc = { "Fn::If": ["CreateNetwork", { Ref: "Vpc" }, { Ref: "ExistingVpcId" }] };

/** The template with other parameter defaults, as a deploy with those values would see it. */
function withDefaults(defaults: Record<string, string>): CfnTemplate {
  const copy = structuredClone(template);
  for (const [name, value] of Object.entries(defaults)) {
    const parameter = copy.Parameters?.[name];
    if (!parameter) throw new Error(`no parameter ${name}`);
    parameter.Default = value;
  }
  return copy;
}

describe("the network in template.yaml", () => {
  it("creates a VPC with private subnets in two zones, tagged for EMR's managed policy", () => {
    expect(resource("Vpc").Condition).toBe("CreateNetwork");
    const emrTag = { Key: "for-use-with-amazon-emr-managed-policies", Value: "true" };
    expect(props("Vpc").Tags).toContainEqual(emrTag);
    const zones = ["PrivateSubnetA", "PrivateSubnetB"].map((subnet) => {
      expect(props(subnet).Tags, subnet).toContainEqual(emrTag);
      expect(props(subnet).MapPublicIpOnLaunch, subnet).toBe(false);
      return props(subnet).AvailabilityZone;
    });
    // By zone ID (the NetworkZones resource), or the zones the user names; never `!GetAZs`
    // order, which can land in a zone MSK refuses (use1-az3) as names map to IDs per account.
    const pick = (attribute: string, given: unknown) => ({
      "Fn::If": ["ChooseZones", { "Fn::GetAtt": ["NetworkZones", attribute] }, given],
    });
    const [zoneA, zoneB] = zones as { "Fn::If": [string, unknown, unknown] }[];
    expect(zoneA).toEqual(pick("ZoneA", { "Fn::Select": [0, { Ref: "AvailabilityZones" }] }));
    expect(zoneB).toEqual(pick("ZoneB", zoneB?.["Fn::If"][2]));
    expect(props("PublicSubnetA").AvailabilityZone).toEqual(zoneA);
    // The zones given, first and second; the second's pick holds with the parameter empty too,
    // when its branch is not taken (list-intrinsics.ts).
    const given = (zone: typeof zoneA, AvailabilityZones: string) =>
      evaluateListPick(zone?.["Fn::If"][2], { AvailabilityZones });
    expect(given(zoneA, "us-east-1b,us-east-1c")).toBe("us-east-1b");
    expect(given(zoneB, "us-east-1b,us-east-1c")).toBe("us-east-1c");
    expect(given(zoneB, "")).toBe("");
    expect(() =>
      evaluateListPick(
        { "Fn::Select": [1, { Ref: "AvailabilityZones" }] },
        { AvailabilityZones: "" },
      ),
    ).toThrow(/nonexistent value at index 1/);
    expect(props("NetworkZones").ExcludedZoneIds).toEqual(["use1-az3"]);
    // The zones or subnets the user names are checked first, in seconds (check-network.ts):
    // Rules cannot count a list. CloudFormation Template Reference, AWS::MSK::Cluster
    // BrokerNodeGroupInfo, ClientSubnets: "The subnets that you specify must be in distinct
    // Availability Zones", and they "can't occupy the Availability Zone with ID use1-az3".
    expect(template.Conditions?.CheckNetwork).toEqual({
      "Fn::Not": [{ Condition: "ChooseZones" }],
    });
    expect(resource("NetworkCheck")).toMatchObject({
      Type: "Custom::NetworkCheck",
      Condition: "CheckNetwork",
    });
    expect(props("NetworkCheck")).toEqual({
      ServiceToken: { "Fn::GetAtt": ["NetworkZonesFunction", "Arn"] },
      ServiceTimeout: 120,
      ExcludedZoneIds: ["use1-az3"],
      AvailabilityZones: {
        "Fn::If": ["CreateNetwork", { Ref: "AvailabilityZones" }, { Ref: "AWS::NoValue" }],
      },
      ExistingVpcId: {
        "Fn::If": ["CreateNetwork", { Ref: "AWS::NoValue" }, { Ref: "ExistingVpcId" }],
      },
      ExistingSubnetIds: {
        "Fn::If": ["CreateNetwork", { Ref: "AWS::NoValue" }, { Ref: "ExistingPrivateSubnetIds" }],
      },
    });
    // Its function serves both resources, so it exists whichever the parameters choose.
    expect(resource("NetworkZonesFunction").Condition).toBeUndefined();
    expect(resource("NetworkZonesLogGroup").Condition).toBeUndefined();
    // What is built on the network waits for the check: the VPC (the root of the stack's own
    // network), the MSK cluster and the topics Lambda (on existing subnets) and NetworkReady
    // (the tasks). DependsOn cannot name a conditional resource, so they refer to it in Metadata.
    for (const id of ["Vpc", "RsvpKafkaCluster", "NetworkReady", "KafkaTopicsFunction"]) {
      expect((resource(id) as { Metadata?: Record<string, unknown> }).Metadata, id).toMatchObject({
        NetworkChecked: { "Fn::If": ["CheckNetwork", { Ref: "NetworkCheck" }, ""] },
      });
    }
    for (const id of ["RsvpKafkaCluster", "IngestService", "KafkaTopicsFunction"])
      expect(dependenciesOf(id), id).toContain("NetworkCheck");
    expect(JSON.stringify(template)).not.toContain("Fn::GetAZs");
    // Out through the NAT gateway; S3 and DynamoDB through gateway endpoints on the same table.
    expect(props("PrivateDefaultRoute")).toMatchObject({
      RouteTableId: { Ref: "PrivateRouteTable" },
      NatGatewayId: { Ref: "NatGateway" },
    });
    for (const endpoint of ["S3GatewayEndpoint", "DynamoDbGatewayEndpoint"]) {
      expect(props(endpoint)).toMatchObject({
        VpcEndpointType: "Gateway",
        RouteTableIds: [{ Ref: "PrivateRouteTable" }],
      });
    }
  });

  it("picks no list parameter's second item in a way an empty parameter would fail", () => {
    const lists = new Set(
      Object.entries(template.Parameters ?? {})
        .filter(([, p]) => /List/.test(String((p as { Type?: string }).Type)))
        .map(([name]) => name),
    );
    expect([...lists].sort()).toEqual(["AvailabilityZones", "ExistingPrivateSubnetIds"]);
    expect(bareListPicks(template.Resources, lists)).toEqual([]);
    expect(bareListPicks((template as { Outputs?: unknown }).Outputs, lists)).toEqual([]);
  });

  it("or uses an existing VPC's subnets, which a rule demands with ExistingVpcId", () => {
    const rules = (template as unknown as { Rules: Record<string, Props> }).Rules;
    expect(rules.ExistingVpcNeedsTwoSubnets?.RuleCondition).toEqual({
      "Fn::Not": [{ "Fn::Equals": [{ Ref: "ExistingVpcId" }, ""] }],
    });
    // Everything made in either case lives in the stack's VPC or the given one.
    let checked = 0;
    for (const [logicalId] of Object.entries(template.Resources)) {
      const r = resource(logicalId);
      if (r.Condition === "CreateNetwork" || !r.Properties || !("VpcId" in r.Properties)) continue;
      expect(r.Properties.VpcId, logicalId).toEqual(vpc);
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(props("FeedNamespace").Vpc).toEqual(vpc);
  });

  it("places the brokers, the tasks and the topics Lambda in the private subnets, without public addresses", () => {
    const brokers = props("RsvpKafkaCluster").BrokerNodeGroupInfo as Props;
    // The first two of yours: MSK takes exactly two for two brokers (service-constraints.test.ts).
    const [, own, yours] = (brokers.ClientSubnets as { "Fn::If": [string, unknown, unknown] })[
      "Fn::If"
    ];
    expect(own).toEqual([{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }]);
    expect(
      evaluateListPick(yours, { ExistingPrivateSubnetIds: "subnet-1,subnet-2,subnet-3" }),
    ).toEqual(["subnet-1", "subnet-2"]);
    // The default, empty: the branch is not taken, and its picks hold all the same.
    expect(evaluateListPick(yours, { ExistingPrivateSubnetIds: "" })).toEqual(["", ""]);
    expect(brokers.SecurityGroups).toEqual([{ Ref: "KafkaBrokerSecurityGroup" }]);
    expect((props("KafkaTopicsFunction").VpcConfig as Props).SubnetIds).toEqual(privateSubnets);
    for (const [logicalId] of ofType("AWS::ECS::Service")) {
      const network = (props(logicalId).NetworkConfiguration as Props).AwsvpcConfiguration;
      expect(network, logicalId).toMatchObject({
        AssignPublicIp: "DISABLED",
        Subnets: privateSubnets,
      });
    }
  });

  it("lets only Kafka clients and the event source's own interfaces reach the brokers, on 9098", () => {
    const ingress = [
      ...((props("KafkaBrokerSecurityGroup").SecurityGroupIngress as Props[]) ?? []),
      ...ofType("AWS::EC2::SecurityGroupIngress")
        .filter(([, r]) => (r.Properties as Props).GroupId !== undefined)
        .map(([, r]) => r.Properties as Props)
        .filter((rule) => JSON.stringify(rule.GroupId) === '{"Ref":"KafkaBrokerSecurityGroup"}'),
    ];
    expect(
      ingress.map((rule) => [rule.FromPort, rule.ToPort, rule.SourceSecurityGroupId]).sort(),
    ).toEqual(
      [
        [9098, 9098, { Ref: "KafkaClientSecurityGroup" }],
        [9098, 9098, { Ref: "KafkaBrokerSecurityGroup" }],
      ].sort(),
    );
    // No security group of the stack accepts connections from an address range.
    for (const [logicalId, r] of ofType("AWS::EC2::SecurityGroup")) {
      for (const rule of ((r.Properties as Props).SecurityGroupIngress as Props[]) ?? []) {
        expect(rule.CidrIp, logicalId).toBeUndefined();
      }
    }
  });

  it("runs the batch cluster in EmrSubnetId, else the first private subnet", () => {
    const subnetOf = (t: CfnTemplate) => localSubstitutions(t, {}).substitutions.SubnetId;
    expect(subnetOf(template)).toBe("rsvp-atlas-private-subnet-a");
    expect(
      subnetOf(
        withDefaults({
          ExistingVpcId: "vpc-0123456789abcdef0",
          ExistingPrivateSubnetIds: "subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb",
        }),
      ),
    ).toBe("subnet-0aaaaaaaaaaaaaaaa");
    expect(subnetOf(withDefaults({ EmrSubnetId: "subnet-0ccccccccccccccc0" }))).toBe(
      "subnet-0ccccccccccccccc0",
    );
  });
});

/** The replay feed container's environment in `t`: each variable's name to its value. */
function replayFeedEnvironment(t: CfnTemplate): Record<string, unknown> {
  const definition = t.Resources.ReplayFeedTaskDefinition?.Properties ?? {};
  const [container] = (definition.ContainerDefinitions ?? []) as Props[];
  return Object.fromEntries(
    ((container?.Environment ?? []) as { Name: string; Value: unknown }[]).map((e) => [
      e.Name,
      e.Value,
    ]),
  );
}

/**
 * The replay feed loops, and each pass is new traffic (LIVE): a replay that is not live re-sends
 * the same RSVPs every pass, which the counts absorb, or count again past the dedup horizon.
 * Both default to what the template must not rely on (tasks/replay-feed/config.ts: LIVE false).
 */
function expectLiveLoops(environment: Record<string, unknown>): void {
  expect(environment.LIVE, "LIVE").toBe("true");
  expect(environment.LOOP, "LOOP").toBe("true");
}

describe("the ingest and replay services in template.yaml", () => {
  it("keeps one ingest task running on Fargate arm64, replaced without a gap", () => {
    const service = resource("IngestService");
    expect(service.Condition).toBe("HasIngestImage");
    expect(service.Properties).toMatchObject({
      DesiredCount: 1,
      LaunchType: "FARGATE",
      TaskDefinition: { Ref: "IngestTaskDefinition" },
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
    });
    expect(props("IngestTaskDefinition").RuntimePlatform).toEqual({
      CpuArchitecture: "ARM64",
      OperatingSystemFamily: "LINUX",
    });
  });

  it("plays the recording from the artifacts bucket with the same image, found by name", () => {
    expect(resource("ReplayFeedService").Condition).toBe("RunReplayFeed");
    const definition = props("ReplayFeedTaskDefinition");
    const [container] = definition.ContainerDefinitions as Props[];
    expect(container?.Image).toEqual({ Ref: "IngestImageUri" });
    expect(container?.Command).toEqual(["node", "--enable-source-maps", "replay-feed.mjs"]);
    const environment = replayFeedEnvironment(template);
    expect(environment.SOURCE_URI).toEqual({
      "Fn::Sub": "s3://${ArtifactsBucket}/${ReplaySourceKey}",
    });
    expect(environment.PORT).toBe("8080");
    expect(environment.PACING).toEqual({ Ref: "ReplayPacing" });
    expectLiveLoops(environment);
    // The ingest's default feed is the replay service's name in the namespace.
    // (Its name's length: service-constraints.test.ts.)
    const [namespace, names] = (props("FeedNamespace").Name as { "Fn::Sub": [string, unknown] })[
      "Fn::Sub"
    ];
    expect(props("ReplayFeedDiscovery").Name).toBe("replay-feed");
    const ingest = (props("IngestTaskDefinition").ContainerDefinitions as Props[])[0];
    const feedUrl = ((ingest?.Environment ?? []) as { Name: string; Value: unknown }[]).find(
      (e) => e.Name === "FEED_URL",
    )?.Value;
    const replayFeedUrl = { "Fn::Sub": [`ws://replay-feed.${namespace}:8080/`, names] };
    expect(feedUrl).toEqual({ "Fn::If": ["HasFeedUrl", { Ref: "FeedUrl" }, replayFeedUrl] });
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> })
      .Outputs;
    expect(outputs.FeedUrl?.Value).toEqual(feedUrl);
    // Only the ingest task may connect to it, on its port.
    expect(props("ReplayFeedSecurityGroup").SecurityGroupIngress).toEqual([
      expect.objectContaining({
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: { Ref: "FeedClientSecurityGroup" },
      }),
    ]);
  });

  it("would catch a replay feed that is not live, or does not loop", () => {
    /** A copy of the template whose replay container's `name` is `value` (undefined: no line). */
    const withReplayVariable = (name: string, value: string | undefined) => {
      const copy = structuredClone(template);
      const [container] = (copy.Resources.ReplayFeedTaskDefinition?.Properties
        ?.ContainerDefinitions ?? []) as { Environment: { Name: string; Value: unknown }[] }[];
      if (!container) throw new Error("no replay feed container");
      container.Environment = container.Environment.flatMap((e) =>
        e.Name !== name ? [e] : value === undefined ? [] : [{ ...e, Value: value }],
      );
      return copy;
    };
    for (const name of ["LIVE", "LOOP"]) {
      for (const value of ["false", undefined]) {
        expect(
          () => expectLiveLoops(replayFeedEnvironment(withReplayVariable(name, value))),
          `${name} ${value ?? "removed"}`,
        ).toThrow(name);
      }
    }
    expect(() => expectLiveLoops(replayFeedEnvironment(template))).not.toThrow();
  });
});

describe("the ingest task's role in template.yaml", () => {
  it("may write the two topics and the delivery stream, and read back only the resume point", () => {
    const statements = (
      (props("IngestTaskRole").Policies as { PolicyDocument: { Statement: Props[] } }[])[0]
        ?.PolicyDocument.Statement ?? []
    ).map((s) => ({
      actions: [s.Action].flat() as string[],
      resource: JSON.stringify(s.Resource),
    }));
    const grant = (action: string) => statements.filter((s) => s.actions.includes(action));
    expect(grant("firehose:PutRecordBatch").map((s) => s.resource)).toEqual([
      JSON.stringify({ "Fn::GetAtt": ["RawDeliveryStream", "Arn"] }),
    ]);
    const writes = grant("kafka-cluster:WriteData").map((s) => s.resource)[0] ?? "";
    expect(writes).toContain("${RsvpTopicName}");
    expect(writes).toContain("${DeadLetterTopicName}");
    // Reading: the RSVP topic only, with groups of the prefix tasks/ingest/resume-point.ts uses.
    const reads = grant("kafka-cluster:ReadData").map((s) => s.resource);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain("${RsvpTopicName}");
    expect(reads[0]).not.toContain("${DeadLetterTopicName}");
    const groups = grant("kafka-cluster:AlterGroup");
    expect(groups).toHaveLength(1);
    expect(groups[0]?.actions.sort()).toEqual([
      "kafka-cluster:AlterGroup",
      "kafka-cluster:DescribeGroup",
    ]);
    expect(groups[0]?.resource).toContain(`:group/\${Name}/\${Uuid}/${RESUME_GROUP_PREFIX}*`);
  });
});

describe("the Kafka topics in template.yaml", () => {
  it("are created by a custom resource before the event source mapping and the ingest start", () => {
    expect(props("KafkaTopics")).toMatchObject({
      ServiceToken: { "Fn::GetAtt": ["KafkaTopicsFunction", "Arn"] },
      Topics: [
        { Name: { Ref: "RsvpTopicName" }, Partitions: { Ref: "TopicPartitions" } },
        { Name: { Ref: "DeadLetterTopicName" }, Partitions: { Ref: "TopicPartitions" } },
        // The failed-records topic, when it is the counts' on-failure destination
        // (template-city-counts.test.ts).
        {
          "Fn::If": [
            "CityCountsFailuresToKafka",
            { Name: { Ref: "CountsFailedTopicName" } },
            { Ref: "AWS::NoValue" },
          ],
        },
      ],
    });
    // SAM makes the event source mapping from CityCountsFunction's events; it references the
    // function, so it waits for whatever the function waits for.
    expect(resource("CityCountsFunction").DependsOn).toContain("KafkaTopics");
    expect(resource("IngestService").DependsOn).toContain("KafkaTopics");
  });

  it("wait, with the services, for the private subnets' way out when the stack makes it", () => {
    for (const waiting of ["KafkaTopics", "IngestService", "ReplayFeedService"]) {
      expect([resource(waiting).DependsOn].flat(), waiting).toContain("NetworkReady");
    }
    const handle = template.Resources.NetworkReady as unknown as { Metadata: Props };
    expect(handle.Metadata).toEqual({
      NetworkChecked: { "Fn::If": ["CheckNetwork", { Ref: "NetworkCheck" }, ""] },
      PrivateDefaultRoute: { "Fn::If": ["CreateNetwork", { Ref: "PrivateDefaultRoute" }, ""] },
      S3GatewayEndpoint: { "Fn::If": ["CreateNetwork", { Ref: "S3GatewayEndpoint" }, ""] },
      PrivateSubnetARouteTable: {
        "Fn::If": ["CreateNetwork", { Ref: "PrivateSubnetARouteTable" }, ""],
      },
      PrivateSubnetBRouteTable: {
        "Fn::If": ["CreateNetwork", { Ref: "PrivateSubnetBRouteTable" }, ""],
      },
    });
    // Every private subnet's association is waited for (the issue was one forgotten).
    for (const [id, association] of ofType("AWS::EC2::SubnetRouteTableAssociation"))
      if (JSON.stringify(association.Properties).includes("PrivateRouteTable"))
        expect(Object.keys(handle.Metadata), id).toContain(id);
    expect(props("PrivateDefaultRoute").NatGatewayId).toEqual({ Ref: "NatGateway" });
  });
});

/** A namespace as written in the template: a plain string, or the text of its !Sub. */
const namespaceOf = (value: unknown): string =>
  typeof value === "string" ? value : String((value as { "Fn::Sub"?: unknown })?.["Fn::Sub"]);

describe("the alarms in template.yaml", () => {
  const alarms = ofType("AWS::CloudWatch::Alarm");

  it("notify one encrypted SNS topic, and an email address when one is given", () => {
    expect(alarms.map(([id]) => id).sort()).toEqual([
      "CityCountsErrorsAlarm",
      "CityCountsLagAlarm",
      "CityCountsRetriesUsedAlarm",
      "CountsFailedBatchesAlarm",
      "CountsRecordsDroppedAlarm",
      "DailyBatchFailedAlarm",
      "DeadLetterGrowthAlarm",
      "EmrClusterTooOldAlarm",
      "IngestNotRunningAlarm",
      "IngestOversizedFramesAlarm",
      "IngestSilentAlarm",
      "RawDeliveryStaleAlarm",
    ]);
    for (const [logicalId, alarm] of alarms) {
      expect((alarm.Properties as Props).AlarmActions, logicalId).toEqual([{ Ref: "AlarmTopic" }]);
    }
    expect(props("AlarmTopic").KmsMasterKeyId).toEqual({ Ref: "AlarmTopicKey" });
    expect(resource("AlarmEmailSubscription").Condition).toBe("HasAlarmEmail");
  });

  it("watch the ingest task, dead letters, the batch's executions and its EMR cluster", () => {
    const metricsOf = (logicalId: string): string[] => {
      const p = props(logicalId);
      if (p.MetricName) return [`${namespaceOf(p.Namespace)}/${p.MetricName}`];
      return (p.Metrics as { MetricStat?: { Metric: Props } }[])
        .filter((m) => m.MetricStat)
        .map(
          (m) =>
            `${namespaceOf(m.MetricStat?.Metric.Namespace)}/${m.MetricStat?.Metric.MetricName}`,
        );
    };
    expect(metricsOf("IngestNotRunningAlarm")).toEqual(["ECS/ContainerInsights/RunningTaskCount"]);
    expect(props("IngestCluster").ClusterSettings).toContainEqual({
      Name: "containerInsights",
      Value: "enabled",
    });
    // CloudWatch User Guide, "Metrics concepts": a metric is its namespace, name and
    // dimensions; the stack's name in the namespace keeps two stacks' alarms apart.
    expect(metricsOf("DeadLetterGrowthAlarm").sort()).toEqual([
      "RsvpAtlas/${AWS::StackName}/CityCounts/deadLettered",
      "RsvpAtlas/${AWS::StackName}/Ingest/deadLettered",
    ]);
    expect(props("CityCountsDeadLetterMetric")).toMatchObject({
      LogGroupName: { Ref: "CityCountsLogGroup" },
      MetricTransformations: [
        {
          MetricNamespace: { "Fn::Sub": "RsvpAtlas/${AWS::StackName}/CityCounts" },
          MetricName: "deadLettered",
        },
      ],
    });
    // The ingest task writes its metrics where its alarms read them.
    const ingestEnvironment = (
      props("IngestTaskDefinition").ContainerDefinitions as {
        Environment: { Name: string; Value: unknown }[];
      }[]
    )[0]?.Environment;
    const ingestNamespace = ingestEnvironment?.find((e) => e.Name === "METRICS_NAMESPACE")?.Value;
    expect(ingestNamespace).toEqual({ "Fn::Sub": "RsvpAtlas/${AWS::StackName}/Ingest" });
    expect(
      ingestConfigSchema.shape.METRICS_NAMESPACE.safeParse(`RsvpAtlas/${"s".repeat(128)}/Ingest`)
        .success,
    ).toBe(true);
    expect(metricsOf("IngestSilentAlarm")).toEqual(["RsvpAtlas/${AWS::StackName}/Ingest/received"]);
    expect(metricsOf("DailyBatchFailedAlarm").sort()).toEqual([
      "AWS/States/ExecutionsAborted",
      "AWS/States/ExecutionsFailed",
      "AWS/States/ExecutionsTimedOut",
    ]);
    // The ingest's EMF metrics are its counters' names (tasks/ingest/counters.ts, flatten).
    expect(metricsOf("IngestOversizedFramesAlarm")).toEqual([
      "RsvpAtlas/${AWS::StackName}/Ingest/oversizedFrames",
    ]);
    expect(Object.keys(flatten(ingestCounters()))).toContain("oversizedFrames");
    expect(metricsOf("EmrClusterTooOldAlarm")).toEqual(["RsvpAtlas/Batch/OldestClusterAgeSeconds"]);
    expect(props("EmrClusterTooOldAlarm").Threshold).toEqual({ Ref: "EmrClusterMaxAgeMinutes" });
    // The cluster watch looks for the name the workflow gives its clusters.
    const machine = props("DailyBatchStateMachine").DefinitionSubstitutions as Props;
    const watch = (props("ClusterWatchFunction").Environment as { Variables: Props }).Variables;
    expect(watch.CLUSTER_NAME).toEqual(machine.ClusterName);
  });
});

describe("what the stack tells its user", () => {
  it("outputs the website, the counts API, the state machine, how to start it, and the alarms' topic", () => {
    const outputs = (template as unknown as { Outputs: Record<string, Props> }).Outputs;
    for (const name of [
      "SiteUrl",
      "CountsApiUrl",
      "DailyBatchStateMachineArn",
      "StartDailyBatchCommand",
      "AlarmTopicArn",
      "IngestRepositoryUri",
      "FeedUrl",
    ]) {
      expect(outputs[name]?.Description, name).toEqual(expect.any(String));
    }
  });
});

describe("sam delete in template.yaml", () => {
  it("keeps nothing on purpose: no resource is retained, and the counts table leaves a free 35-day backup", () => {
    // CloudFormation User Guide, "DeletionPolicy attribute": Retain (and RetainExceptOnCreate,
    // Snapshot) keep a resource past the stack's delete. None may: sam delete leaves nothing.
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const kept = resource as { DeletionPolicy?: string; UpdateReplacePolicy?: string };
      expect(kept.DeletionPolicy ?? "Delete", logicalId).toBe("Delete");
      expect(kept.UpdateReplacePolicy ?? "Delete", logicalId).toBe("Delete");
    }
    // DynamoDB Developer Guide, "Delete a table with PITR enabled": a system backup of the
    // deleted table is kept 35 days at no additional cost.
    expect(props("CityCountsTable").PointInTimeRecoverySpecification).toMatchObject({
      PointInTimeRecoveryEnabled: true,
    });
  });

  it("empties every bucket of the stack once their writers are gone", () => {
    // CloudFormation User Guide, AWS::S3::Bucket: "You can only delete empty buckets";
    // CloudFormation deletes a resource only after whatever depends on it is deleted.
    const buckets = ofType("AWS::S3::Bucket").map(([id]) => ({ Ref: id }));
    const cleanup = props("BucketsEmptiedOnDelete") as {
      Buckets: unknown[];
      ServiceToken: unknown;
    };
    expect(cleanup.ServiceToken).toEqual({ "Fn::GetAtt": ["BucketCleanupFunction", "Arn"] });
    expect(cleanup.Buckets).toEqual(expect.arrayContaining(buckets));
    expect(cleanup.Buckets).toHaveLength(buckets.length);
    // It waits for nothing but the buckets and its own function, so it exists before the
    // deploy's own uploads, which depend on it: the rollback of a first deploy that fails
    // after them empties the buckets too (else ROLLBACK_FAILED on a bucket not empty). The
    // Deny every function's role carries (FunctionsCreateNoLogGroup) itself needs nothing.
    const before = [...dependenciesOf("BucketsEmptiedOnDelete")];
    expect(dependenciesOf("FunctionsCreateNoLogGroup")).toEqual(new Set());
    expect(
      before.filter(
        (id) =>
          !buckets.some((bucket) => bucket.Ref === id) &&
          ![
            "BucketCleanupFunction",
            "BucketCleanupFunctionRole",
            "BucketCleanupLogGroup",
            "FunctionsCreateNoLogGroup",
          ].includes(id) &&
          !id.startsWith("AWS::"),
      ),
    ).toEqual([]);
    for (const upload of ["SparkJobScript", "SiteContent"])
      expect(dependenciesOf(upload), upload).toContain("BucketsEmptiedOnDelete");
    // Everything that writes into them outside a deploy: the feed's services, Firehose, the
    // flow log, the event source's on-failure destination (CityCountsFunction's mapping).
    for (const writer of [
      "IngestService",
      "ReplayFeedService",
      "RawDeliveryStream",
      "VpcFlowLog",
      "CityCountsFunction",
    ])
      expect([resource(writer).DependsOn].flat(), writer).toContain("BucketsEmptiedOnDelete");
    // ECR, AWS::ECR::Repository EmptyOnDelete: the delete removes the images with the repository.
    expect(props("IngestRepository").EmptyOnDelete).toBe(true);
  });

  it("keeps each custom resource's ServiceToken: a changed one fails the update of a deployed stack", () => {
    // CloudFormation refuses "Modifying service token is not allowed" (the ServiceToken of
    // AWS::CloudFormation::CustomResource cannot be updated): give the resource a new logical
    // id instead, and add it here under that id. A replaced resource's Delete runs while the
    // stack stays, and the cleanups skip it (stack-going.ts).
    const tokens = Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type.startsWith("Custom::"))
        .map(([id, r]) => [id, (r.Properties as { ServiceToken?: unknown }).ServiceToken]),
    );
    const by = (fn: string) => ({ "Fn::GetAtt": [fn, "Arn"] });
    expect(tokens).toEqual({
      NetworkZones: by("NetworkZonesFunction"),
      NetworkCheck: by("NetworkZonesFunction"),
      EmrSecurityGroupRules: by("StackCleanupFunction"),
      KafkaNetworkInterfacesGone: by("StackCleanupFunction"),
      KafkaTopics: by("KafkaTopicsFunction"),
      SparkJobScript: by("DeployArtifactsFunction"),
      SiteContent: by("SiteContentFunction"),
      BucketsEmptiedOnDelete: by("BucketCleanupFunction"),
      StopDailyBatchOnDelete: by("StackCleanupFunction"),
      TaskDefinitionsOnDelete: by("StackCleanupFunction"),
      FeedInstancesGone: by("StackCleanupFunction"),
    });
  });

  it("lets the cleanups read their own stack's status, and no other's", () => {
    // stack-going.ts: a Delete cleans up only while the stack itself is deleted.
    for (const cleanup of ["StackCleanupFunction", "BucketCleanupFunction"]) {
      const statements = inlineStatements(props(cleanup));
      const reads = statements.filter((s) =>
        [s.Action].flat().includes("cloudformation:DescribeStacks"),
      );
      expect(reads, cleanup).toEqual([
        {
          Sid: "ReadOwnStackStatus",
          Effect: "Allow",
          Action: "cloudformation:DescribeStacks",
          Resource: { Ref: "AWS::StackId" },
        },
      ]);
    }
  });
});

describe("the ingest task's stop", () => {
  it("gives up its drain in time to say so, before ECS kills it", () => {
    // ECS API Reference, ContainerDefinition stopTimeout: "For tasks that use the Fargate launch
    // type, the max stop timeout value is 120 seconds"; after it the container is killed.
    const [container] = props("IngestTaskDefinition").ContainerDefinitions as {
      StopTimeout: number;
      Environment: { Name: string; Value: unknown }[];
    }[];
    expect(container?.StopTimeout).toBeLessThanOrEqual(120);
    const drain = container?.Environment.find((v) => v.Name === "DRAIN_TIMEOUT_SECONDS");
    expect(Number(drain?.Value)).toBeGreaterThan(0);
    // The rest: the last report, the log line, the exit.
    expect((container?.StopTimeout ?? 0) - Number(drain?.Value)).toBeGreaterThanOrEqual(10);
  });
});

/**
 * What `logicalId` waits for at create, hence what is deleted after it: its DependsOn and the
 * resources its properties name (Ref, Fn::GetAtt, ${...} of Fn::Sub), all the way down.
 */
function dependenciesOf(logicalId: string): Set<string> {
  const found = new Set<string>();
  const visit = (id: string) => {
    const declared = template.Resources[id] as
      | { DependsOn?: string | string[]; Properties?: unknown; Metadata?: unknown }
      | undefined;
    if (!declared) return; // a parameter or a pseudo parameter
    const direct = new Set<string>([declared.DependsOn ?? []].flat());
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object")
        for (const [key, inner] of Object.entries(value)) {
          if (key === "Ref" && typeof inner === "string") direct.add(inner);
          else if (key === "Fn::GetAtt")
            direct.add(
              Array.isArray(inner) ? String(inner[0]) : (String(inner).split(".")[0] ?? ""),
            );
          else if (key === "Fn::Sub") {
            const text = Array.isArray(inner) ? inner[0] : inner;
            for (const [, name] of String(text).matchAll(/\$\{([^}.!]+)/g)) direct.add(name ?? "");
            walk(inner);
          } else walk(inner);
        }
    };
    walk(declared.Properties);
    // A reference in Metadata orders the resources too (NetworkReady's conditional waits).
    walk(declared.Metadata);
    for (const next of direct)
      if (!found.has(next) && template.Resources[next]) {
        found.add(next);
        visit(next);
      }
  };
  visit(logicalId);
  return found;
}

describe("a daily batch running during sam delete", () => {
  it("is stopped, and its clusters ended, before anything they use is deleted", () => {
    // CloudFormation deletes a resource only after whatever depends on it; Step Functions does
    // not terminate a cluster when its execution stops (Step Functions Developer Guide,
    // "Create and manage Amazon EMR clusters with Step Functions").
    expect(resource("StopDailyBatchOnDelete").Type).toBe("Custom::StopDailyBatch");
    expect(props("StopDailyBatchOnDelete")).toMatchObject({
      ServiceToken: { "Fn::GetAtt": ["StackCleanupFunction", "Arn"] },
      StateMachineArn: { Ref: "DailyBatchStateMachine" },
      ClusterName: { "Fn::Sub": "${AWS::StackName}-daily-batch" },
    });
    const after = dependenciesOf("StopDailyBatchOnDelete");
    for (const used of [
      "DailyBatchStateMachine",
      "BucketsEmptiedOnDelete",
      "EmrSecurityGroupRules",
      "EmrPrimarySecurityGroup",
      "EmrCoreSecurityGroup",
      "EmrServiceAccessSecurityGroup",
      "EmrServiceRole",
      "EmrInstanceRole",
      "EmrInstanceProfile",
      "PrivateSubnetA",
      "CuratedBucket",
      "LogsBucket",
      // EMR refuses to delete a security configuration an active cluster uses
      // ("SECURITY_CONFIGURATION_IN_USE", pulumi/pulumi-aws#1469); the key opens their disks.
      "EmrSecurityConfiguration",
      "EmrDiskKey",
    ])
      expect(after, used).toContain(used);
    // The schedule goes first, so it cannot start another batch meanwhile.
    expect(dependenciesOf("DailyBatchDailySchedule")).toContain("StopDailyBatchOnDelete");
    // What its Delete calls, each on the resource type the Service Authorization Reference
    // names for it ("Actions, resources, and condition keys for AWS Step Functions":
    // ListExecutions on stateMachine, StopExecution and DescribeExecution on execution,
    // arn:...:execution:<state machine name>:<execution id>; "... for Amazon Elastic MapReduce":
    // ListClusters on no resource, TerminateJobFlows on cluster, with aws:ResourceTag).
    const statements = inlineStatements(props("StackCleanupFunction"));
    const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
    expect(bySid("StopDailyBatchExecutions")).toMatchObject({
      Action: "states:ListExecutions",
      Resource: { Ref: "DailyBatchStateMachine" },
    });
    expect(bySid("StopDailyBatchExecution")).toMatchObject({
      Action: ["states:StopExecution", "states:DescribeExecution"],
      Resource: {
        "Fn::Sub":
          "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${DailyBatchStateMachine.Name}:*",
      },
    });
    expect(bySid("FindDailyBatchClusters")).toMatchObject({
      Action: "elasticmapreduce:ListClusters",
      Resource: "*",
    });
    expect(bySid("TerminateDailyBatchClusters")).toMatchObject({
      Action: "elasticmapreduce:TerminateJobFlows",
      Condition: {
        StringEquals: { "aws:ResourceTag/rsvp-atlas-stack": { Ref: "AWS::StackName" } },
      },
    });
    // The state machine's cluster name is the one the resource ends.
    expect((props("DailyBatchStateMachine").DefinitionSubstitutions as Props).ClusterName).toEqual(
      props("StopDailyBatchOnDelete").ClusterName,
    );
  });
});

describe("the daily batch's security groups in template.yaml", () => {
  it("are the stack's own, given to EMR, tagged for its policy, and emptied of EMR's rules on delete", () => {
    // EMR Management Guide, "Working with Amazon EMR-managed security groups": a cluster in a
    // private subnet takes EmrManagedMasterSecurityGroup, EmrManagedSlaveSecurityGroup and
    // ServiceAccessSecurityGroup; without them EMR creates its own, which outlive the stack.
    // "AmazonEMRServicePolicy_v2": it acts only on groups tagged
    // for-use-with-amazon-emr-managed-policies=true.
    const groups = [
      "EmrPrimarySecurityGroup",
      "EmrCoreSecurityGroup",
      "EmrServiceAccessSecurityGroup",
    ];
    for (const id of groups) {
      expect(resource(id).Type).toBe("AWS::EC2::SecurityGroup");
      expect(props(id).VpcId).toEqual(vpc);
      expect(props(id).Tags).toContainEqual({
        Key: "for-use-with-amazon-emr-managed-policies",
        Value: "true",
      });
    }
    const machine = props("DailyBatchStateMachine") as {
      DefinitionSubstitutions: Record<string, unknown>;
    };
    for (const id of groups) expect(machine.DefinitionSubstitutions[id]).toEqual({ Ref: id });
    const asl = JSON.parse(
      readFileSync(join(repoRoot, "statemachines", "daily-batch.asl.json"), "utf8"),
    ) as { States: { CreateCluster: { Parameters: { Instances: Record<string, unknown> } } } };
    expect(asl.States.CreateCluster.Parameters.Instances).toMatchObject({
      EmrManagedMasterSecurityGroup: "${EmrPrimarySecurityGroup}",
      EmrManagedSlaveSecurityGroup: "${EmrCoreSecurityGroup}",
      ServiceAccessSecurityGroup: "${EmrServiceAccessSecurityGroup}",
    });
    // The cleanup refers to the groups and the stack's own subnets, so CloudFormation deletes it
    // (revoking, and deleting the service endpoint EMR may make in them) before them.
    expect(props("EmrSecurityGroupRules")).toEqual({
      ServiceToken: { "Fn::GetAtt": ["StackCleanupFunction", "Arn"] },
      ServiceTimeout: 900,
      SecurityGroups: groups.map((id) => ({ Ref: id })),
      Subnets: {
        "Fn::If": [
          "CreateNetwork",
          [{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }],
          { Ref: "AWS::NoValue" },
        ],
      },
    });
    // "Service role for Amazon EMR" (AmazonEMRServicePolicy_v2): EMR may create an endpoint
    // only with the tag Name=emr-service-vpce and grants itself no DeleteVpcEndpoints; the
    // cleanup may delete only an endpoint so tagged.
    const deletion = inlineStatements(props("StackCleanupFunction")).find(
      (statement) => statement.Sid === "DeleteEmrServiceEndpoints",
    );
    expect(deletion?.Action).toBe("ec2:DeleteVpcEndpoints");
    expect(deletion?.Condition).toEqual({
      StringEquals: {
        "aws:ResourceTag/Name": "emr-service-vpce",
        "aws:ResourceTag/for-use-with-amazon-emr-managed-policies": "true",
      },
    });
  });

  it("deletes the task definitions' revisions, which CloudFormation only deregisters, once they are deregistered", () => {
    // ECS Developer Guide, "Deregistering an Amazon ECS task definition revision": INACTIVE
    // revisions "remain discoverable in your account indefinitely"; only DeleteTaskDefinitions
    // removes them, and only once deregistered (ECS API Reference). The task definitions depend
    // on the cleanup, so CloudFormation deregisters them before its Delete.
    expect(resource("TaskDefinitionsOnDelete").Type).toBe("Custom::DeleteTaskDefinitions");
    const families = [
      { "Fn::Sub": "${AWS::StackName}-ingest" },
      { "Fn::Sub": "${AWS::StackName}-replay-feed" },
    ];
    expect(props("TaskDefinitionsOnDelete")).toEqual({
      ServiceToken: { "Fn::GetAtt": ["StackCleanupFunction", "Arn"] },
      ServiceTimeout: 300,
      Families: families,
    });
    const definitions = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === "AWS::ECS::TaskDefinition")
      .map(([id]) => id);
    expect(definitions.sort()).toEqual(["IngestTaskDefinition", "ReplayFeedTaskDefinition"]);
    expect(definitions.map((id) => props(id).Family)).toEqual(expect.arrayContaining(families));
    for (const id of definitions)
      expect(dependenciesOf(id), id).toContain("TaskDefinitionsOnDelete");
    // Service Authorization Reference, "Actions, resources, and condition keys for Amazon
    // Elastic Container Service": ListTaskDefinitions on no resource, DeleteTaskDefinitions on
    // task-definition, arn:...:task-definition/<family>:<revision>.
    const statements = inlineStatements(props("StackCleanupFunction"));
    const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
    expect(bySid("FindTaskDefinitionRevisions")).toMatchObject({
      Action: "ecs:ListTaskDefinitions",
      Resource: "*",
    });
    expect(bySid("DeleteTaskDefinitionRevisions")).toMatchObject({
      Action: "ecs:DeleteTaskDefinitions",
      Resource: families.map((family) => ({
        "Fn::Sub": `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:task-definition/${family["Fn::Sub"]}:*`,
      })),
    });
  });

  it("clears the replay feed's Cloud Map service after its ECS service and before it goes", () => {
    // Cloud Map API Reference, ResourceInUse: "you can't delete a service that contains any
    // instances". The ECS service registers its tasks there (ServiceRegistries); the cleanup
    // names the Cloud Map service (deleted after it) and the ECS service depends on it (deleted
    // before it), so its Delete runs once no task is left to own an instance.
    expect(resource("FeedInstancesGone")).toMatchObject({
      Type: "Custom::FeedInstancesGone",
      Condition: "RunReplayFeed",
    });
    expect(props("FeedInstancesGone")).toEqual({
      ServiceToken: { "Fn::GetAtt": ["StackCleanupFunction", "Arn"] },
      ServiceTimeout: 960,
      ServiceId: { "Fn::GetAtt": ["ReplayFeedDiscovery", "Id"] },
    });
    expect(props("ReplayFeedService").ServiceRegistries).toEqual([
      { RegistryArn: { "Fn::GetAtt": ["ReplayFeedDiscovery", "Arn"] } },
    ]);
    expect(dependenciesOf("ReplayFeedService")).toContain("FeedInstancesGone");
    expect(dependenciesOf("FeedInstancesGone")).toContain("ReplayFeedDiscovery");
    // Service Authorization Reference, "Actions, resources, and condition keys for AWS Cloud
    // Map": ListInstances and DeregisterInstance on the service resource; Cloud Map Developer
    // Guide, "AWS Cloud Map API permissions reference": DeregisterInstance also needs
    // route53:GetHealthCheck, DeleteHealthCheck and UpdateHealthCheck (on healthcheck/*).
    // A policy of its own, with the replay feed only, which the cleanup depends on (deleted
    // after it): in the function's Policies, the Cloud Map service would hold up the function,
    // and the MSK cluster behind it, until the namespace exists.
    expect(resource("FeedInstancesGrant")).toMatchObject({
      Type: "AWS::IAM::RolePolicy",
      Condition: "RunReplayFeed",
    });
    expect(resource("FeedInstancesGone").DependsOn).toBe("FeedInstancesGrant");
    expect(props("FeedInstancesGrant")).toEqual({
      RoleName: { Ref: "StackCleanupFunctionRole" },
      PolicyName: "feed-instances-gone",
      PolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DeregisterFeedInstances",
            Effect: "Allow",
            Action: ["servicediscovery:ListInstances", "servicediscovery:DeregisterInstance"],
            Resource: { "Fn::GetAtt": ["ReplayFeedDiscovery", "Arn"] },
          },
          {
            Sid: "FeedInstanceHealthChecks",
            Effect: "Allow",
            Action: [
              "route53:GetHealthCheck",
              "route53:DeleteHealthCheck",
              "route53:UpdateHealthCheck",
            ],
            Resource: { "Fn::Sub": "arn:${AWS::Partition}:route53:::healthcheck/*" },
          },
        ],
      },
    });
    expect(dependenciesOf("StackCleanupFunction")).not.toContain("ReplayFeedDiscovery");
  });

  it("waits, after the MSK event source and the cluster are gone, for their network interfaces to leave the brokers' group, before the group and subnets go", () => {
    // Lambda Developer Guide, "Creating a Lambda event source mapping for an Amazon MSK event
    // source": its network interfaces use the cluster's subnets and security group. While one
    // is left, EC2 refuses to delete the group or a subnet (DependencyViolation).
    expect(resource("KafkaNetworkInterfacesGone").Type).toBe("Custom::KafkaNetworkInterfacesGone");
    expect(props("KafkaNetworkInterfacesGone")).toEqual({
      ServiceToken: { "Fn::GetAtt": ["StackCleanupFunction", "Arn"] },
      ServiceTimeout: 900,
      SecurityGroups: [{ Ref: "KafkaBrokerSecurityGroup" }],
      Subnets: {
        "Fn::If": [
          "CreateNetwork",
          [{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }],
          { Ref: "AWS::NoValue" },
        ],
      },
    });
    // The cluster's own group is the one the wait watches, and its deletion comes first, as
    // the function's (and with it its event source's, which names the function).
    expect(props("RsvpKafkaCluster").BrokerNodeGroupInfo).toMatchObject({
      SecurityGroups: [{ Ref: "KafkaBrokerSecurityGroup" }],
    });
    expect(dependenciesOf("RsvpKafkaCluster")).toContain("KafkaNetworkInterfacesGone");
    expect(dependenciesOf("CityCountsFunction")).toContain("KafkaNetworkInterfacesGone");
    expect(dependenciesOf("KafkaNetworkInterfacesGone")).not.toContain("RsvpKafkaCluster");
    expect(dependenciesOf("KafkaNetworkInterfacesGone")).not.toContain("CityCountsFunction");
    const statements = inlineStatements(props("StackCleanupFunction"));
    expect(statements.find((statement) => statement.Sid === "WatchKafkaNetworkInterfaces")).toEqual(
      {
        Sid: "WatchKafkaNetworkInterfaces",
        Effect: "Allow",
        Action: "ec2:DescribeNetworkInterfaces",
        Resource: "*",
      },
    );
  });
});

describe("the raw stream's bucket and delivery role in template.yaml", () => {
  it("grants Firehose the documented S3 actions, each on its own resource type", () => {
    // Firehose Developer Guide, "Grant Firehose access to an Amazon S3 destination": these
    // actions on the bucket and its objects. AbortMultipartUpload, GetObject and PutObject act on
    // an object (Service Authorization Reference, Amazon S3), the other three on the bucket.
    const statements = (
      props("RawDeliveryStreamRole").Policies as {
        PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] };
      }[]
    ).flatMap((policy) => policy.PolicyDocument.Statement);
    const actionsOn = (resource: unknown) =>
      statements
        .filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(resource))
        .flatMap((statement) => statement.Action)
        .sort();
    expect(actionsOn({ "Fn::GetAtt": ["RawBucket", "Arn"] })).toEqual([
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
    ]);
    expect(actionsOn({ "Fn::Sub": "${RawBucket.Arn}/*" })).toEqual([
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]);
  });

  it("logs its delivery errors to a stream of its own, which its role alone may write", () => {
    // Firehose Developer Guide, "Monitor Amazon Data Firehose using CloudWatch Logs": with
    // CloudWatchLoggingOptions naming a group and a stream, Firehose logs delivery errors there;
    // "Grant Firehose access to an Amazon S3 destination": logs:PutLogEvents on that stream.
    const destination = props("RawDeliveryStream").ExtendedS3DestinationConfiguration as Props;
    expect(destination.CloudWatchLoggingOptions).toEqual({
      Enabled: true,
      LogGroupName: { Ref: "RawDeliveryLogGroup" },
      LogStreamName: { Ref: "RawDeliveryErrorsLogStream" },
    });
    expect(props("RawDeliveryErrorsLogStream").LogGroupName).toEqual({
      Ref: "RawDeliveryLogGroup",
    });
    const logging = (
      props("RawDeliveryStreamRole").Policies as {
        PolicyName: string;
        PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] };
      }[]
    ).find((policy) => policy.PolicyName === "write-delivery-errors");
    expect(logging?.PolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Action: "logs:PutLogEvents",
        Resource: {
          "Fn::Sub":
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${RawDeliveryLogGroup}:log-stream:${RawDeliveryErrorsLogStream}",
        },
      },
    ]);
  });

  it("alarms well within the 24 hours Firehose keeps a record it cannot deliver", () => {
    // Firehose Developer Guide, "Troubleshoot errors in Amazon Data Firehose", Direct PUT:
    // "Firehose retains the records for 24 hours". "Monitor Amazon Data Firehose with
    // CloudWatch metrics": DeliveryToS3.DataFreshness, the age of the oldest record not yet
    // delivered, in AWS/Firehose by DeliveryStreamName (Ref of a delivery stream: its name).
    const alarm = props("RawDeliveryStaleAlarm");
    expect(alarm).toMatchObject({
      Namespace: "AWS/Firehose",
      MetricName: "DeliveryToS3.DataFreshness",
      Dimensions: [{ Name: "DeliveryStreamName", Value: { Ref: "RawDeliveryStream" } }],
      Statistic: "Maximum",
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [{ Ref: "AlarmTopic" }],
    });
    // Above the buffer's interval (a record waits that long in a quiet stream), and the whole
    // alarm well inside a day.
    const interval = (
      (props("RawDeliveryStream").ExtendedS3DestinationConfiguration as Props).BufferingHints as {
        IntervalInSeconds: number;
      }
    ).IntervalInSeconds;
    expect(alarm.Threshold as number).toBeGreaterThan(2 * interval);
    expect(
      (alarm.Threshold as number) + (alarm.Period as number) * (alarm.EvaluationPeriods as number),
    ).toBeLessThan(3 * 3600);
  });

  it("lets every bucket drop the parts of an upload left unfinished", () => {
    // Firehose, Spark and the cleanups upload in parts; parts of an upload never completed are
    // stored and billed until a lifecycle rule aborts it (S3 User Guide, "Configuring a bucket
    // lifecycle configuration to delete incomplete multipart uploads").
    const buckets = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === "AWS::S3::Bucket",
    );
    expect(buckets.length).toBeGreaterThan(4);
    for (const [id, bucket] of buckets) {
      const rules =
        (bucket.Properties?.LifecycleConfiguration as { Rules?: Record<string, unknown>[] })
          ?.Rules ?? [];
      expect(
        rules.some((rule) => rule.Status === "Enabled" && rule.AbortIncompleteMultipartUpload),
        id,
      ).toBe(true);
    }
  });
});
