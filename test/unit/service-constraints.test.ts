// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's own ${...} (Fn::Sub) in plain strings.
/**
 * What the AWS services themselves accept or need, which no linter knows: each constraint the
 * template relies on, with the document it comes from. A change to the template that breaks
 * one fails here, before a first `sam deploy` in a fresh account would.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FALLBACK_PAGE_CSS } from "../../functions/render-map/site-files.js";
import { pythonRequirementsPath, repoRoot } from "../../local/setup/paths.js";
import { readTemplate } from "../../local/stack/template-model.js";
import { evaluateListPick } from "../support/list-intrinsics.js";
import { resolvedResource } from "../support/template-conditions.js";
import { wholeNumberRange } from "../support/whole-number-range.js";

const template = readTemplate();

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(logicalId: string): Statement[] {
  const policies = (template.Resources[logicalId]?.Properties as { Policies?: unknown[] })
    ?.Policies;
  return (policies ?? []).flatMap((policy) =>
    typeof policy === "object" && policy !== null && "Statement" in policy
      ? ((policy as { Statement: Statement[] }).Statement ?? [])
      : [],
  );
}

type RolePolicy = { PolicyName: string; PolicyDocument: { Statement: Statement[] } };
/** The statements of an AWS::IAM::Role's inline policies. */
const roleStatements = (role: string) =>
  (
    ((template.Resources[role]?.Properties ?? {}) as { Policies?: RolePolicy[] }).Policies ?? []
  ).flatMap((policy) => policy.PolicyDocument.Statement);

describe("EMR in an account that never ran it", () => {
  it("lets the workflow create EMR's cleanup service-linked role, and only that one", () => {
    // EMR Management Guide, "Using the service-linked role for Amazon EMR": "Amazon EMR creates
    // the role automatically during cluster creation if it does not already exist"
    // (AWSServiceRoleForEMRCleanup, trusted by elasticmapreduce.amazonaws.com); the creator
    // needs iam:CreateServiceLinkedRole. IAM User Guide, "Service-linked role permissions":
    // iam:AWSServiceName is the condition key that names the service.
    const statement = statementsOf("DailyBatchStateMachine").find(
      (s) => s.Sid === "CreateEmrCleanupRole",
    );
    expect(statement?.Action).toBe("iam:CreateServiceLinkedRole");
    expect(JSON.stringify(statement?.Resource)).toContain(
      "role/aws-service-role/elasticmapreduce.amazonaws.com*/AWSServiceRoleForEMRCleanup*",
    );
    expect(statement?.Condition).toEqual({
      StringLike: { "iam:AWSServiceName": "elasticmapreduce.amazonaws.com*" },
    });
    // No other statement of any role may create service-linked roles.
    const others = Object.keys(template.Resources).flatMap((id) =>
      statementsOf(id).filter(
        (s) =>
          s !== statement &&
          [s.Action].flat().some((action) => /^iam:(CreateServiceLinkedRole|\*)$/.test(action)),
      ),
    );
    expect(others).toEqual([]);
  });
});

/** Fn::Join / Fn::Select / Fn::Split / Fn::Sub / Ref over pseudo parameters, enough for names. */
function evaluate(value: unknown, pseudo: Record<string, string>): unknown {
  if (typeof value === "string" || typeof value === "number") return value;
  const node = value as Record<string, unknown>;
  if ("Ref" in node) return pseudo[node.Ref as string] ?? `<${node.Ref}>`;
  if ("Fn::Sub" in node) {
    const sub = node["Fn::Sub"];
    const [text, variables] = (Array.isArray(sub) ? sub : [sub, {}]) as [
      string,
      Record<string, unknown>,
    ];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
      String(name in variables ? evaluate(variables[name], pseudo) : (pseudo[name] ?? `<${name}>`)),
    );
  }
  if ("Fn::Join" in node) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map((part) => evaluate(part, pseudo)).join(separator);
  }
  if ("Fn::Split" in node) {
    const [separator, text] = node["Fn::Split"] as [string, unknown];
    return String(evaluate(text, pseudo)).split(separator);
  }
  if ("Fn::Select" in node) {
    const [index, list] = node["Fn::Select"] as [number, unknown];
    return (evaluate(list, pseudo) as unknown[])[Number(index)];
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

describe("names the services limit", () => {
  it("keeps the MSK cluster's name within 64 characters whatever the stack is called", () => {
    // CloudFormation reference, AWS::MSK::Cluster ClusterName: "Minimum: 1. Maximum: 64";
    // stack names may have 128 characters (CloudFormation User Guide, quotas).
    const stackName = "s".repeat(128);
    const name = evaluate(template.Resources.RsvpKafkaCluster?.Properties?.ClusterName, {
      "AWS::StackName": stackName,
      "AWS::StackId": `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10`,
    });
    expect(name).toBe("rsvp-atlas-8d1e2f30");
    expect(String(name).length).toBeLessThanOrEqual(64);
    expect(String(name)).toMatch(/^[a-zA-Z0-9-]+$/);
  });

  it("keeps every label of the replay feed's DNS name within 63 characters", () => {
    // RFC 1035 section 2.3.4: "labels 63 octets or less"; Cloud Map's private DNS namespace is a
    // Route 53 hosted zone of that name (AWS Cloud Map Developer Guide, "Creating namespaces").
    const stackName = "s".repeat(128);
    const pseudo = {
      "AWS::StackName": stackName,
      "AWS::StackId": `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10`,
    };
    const namespace = String(evaluate(template.Resources.FeedNamespace?.Properties?.Name, pseudo));
    expect(namespace).toBe("feeds-8d1e2f30.internal");
    const host = `replay-feed.${namespace}`;
    for (const label of host.split(".")) {
      expect(label).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    }
  });

  it("keeps every CloudWatch namespace the stack's metrics use within CloudWatch's limits", () => {
    // CloudWatch API Reference, "Metric": Namespace 1-255 characters, pattern [^:].*; PutMetricData:
    // a namespace may not begin with "AWS/" (reserved for AWS services' own metrics). The stack's
    // name goes into its namespaces, so the longest name (128) is what must fit.
    const stackName = "s".repeat(128);
    const pseudo = { "AWS::StackName": stackName, "AWS::StackId": "arn:aws:cloudformation:x" };
    const found: string[] = [];
    const walk = (value: unknown, key?: string): void => {
      if (Array.isArray(value)) for (const item of value) walk(item);
      else if (value && typeof value === "object") {
        if (
          (key === "Namespace" || key === "MetricNamespace" || key === "Value") &&
          "Fn::Sub" in value
        ) {
          const text = evaluate(value, pseudo);
          if (typeof text === "string" && text.startsWith("RsvpAtlas/")) found.push(text);
        }
        for (const [inner, item] of Object.entries(value)) walk(item, inner);
      } else if (typeof value === "string" && (key === "Namespace" || key === "MetricNamespace"))
        found.push(value);
    };
    walk(template.Resources);
    const own = found.filter((namespace) => namespace.startsWith("RsvpAtlas/"));
    // The ingest's (task environment, alarms) and city-counts' (metric filter, alarm), per stack.
    expect(new Set(own)).toEqual(
      new Set([
        `RsvpAtlas/${stackName}/Ingest`,
        `RsvpAtlas/${stackName}/CityCounts`,
        "RsvpAtlas/Batch",
      ]),
    );
    for (const namespace of own) {
      expect(namespace.length, namespace).toBeLessThanOrEqual(255);
      expect(namespace).toMatch(/^[^:]/);
      expect(namespace.startsWith("AWS/")).toBe(false);
    }
  });

  it("keeps the other names a stack name goes into within their services' limits", () => {
    // Lambda API Reference, PublishLayerVersion LayerName: 1-140 characters of [a-zA-Z0-9-_];
    // CreateEventSourceMapping ConsumerGroupId (AmazonManagedKafkaEventSourceConfig): 1-200;
    // EMR RunJobFlow Name: up to 256; Athena CreateWorkGroup Name: [a-zA-Z0-9._-]{1,128}. A
    // stack name is [A-Za-z][-A-Za-z0-9]*, up to 128 characters (CloudFormation User Guide).
    const stackName = `S${"s-".repeat(63)}s`;
    expect(stackName).toHaveLength(128);
    const pseudo = { "AWS::StackName": stackName };
    const properties = (id: string) => template.Resources[id]?.Properties ?? {};
    const layer = String(evaluate(properties("AtlasDataLayer").LayerName, pseudo));
    expect(layer).toMatch(/^[a-zA-Z0-9_-]{1,140}$/);
    // SAM's MSK event: ConsumerGroupId becomes the mapping's AmazonManagedKafkaEventSourceConfig.
    const events = properties("CityCountsFunction").Events as Record<
      string,
      { Type: string; Properties: { ConsumerGroupId?: unknown } }
    >;
    const group = Object.values(events).find((event) => event.Type === "MSK")?.Properties
      .ConsumerGroupId;
    expect(String(evaluate(group, pseudo)).length).toBeLessThanOrEqual(200);
    const substitutions = properties("DailyBatchStateMachine").DefinitionSubstitutions as Record<
      string,
      unknown
    >;
    expect(String(evaluate(substitutions.ClusterName, pseudo)).length).toBeLessThanOrEqual(256);
    const workgroup = String(evaluate(properties("AtlasAthenaWorkGroup").Name, pseudo));
    expect(workgroup).toMatch(/^[a-zA-Z0-9._-]{1,128}$/);
  });
});

describe("EC2 security group descriptions", () => {
  // EC2 API Reference, CreateSecurityGroup Description (GroupDescription in CloudFormation):
  // "Up to 255 characters in length. Valid characters: a-z, A-Z, 0-9, spaces, and
  // ._-:/()#,@[]+=&;{}!$*". A rule's Description: IpRange allows the same set, while
  // UserIdGroupPair (a rule naming a security group) and CloudFormation's
  // AWS::EC2::SecurityGroupEgress Description list it without "&": "Up to 255 characters in
  // length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=;{}!$*". cfn-lint
  // checks GroupDescription only; a rule EC2 refuses fails the stack's first deploy.
  const GROUP = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
  const RULE = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=;{}!$*]{0,255}$/;
  /** Every value a property may take: both branches of an Fn::If, none for AWS::NoValue. */
  const branches = (value: unknown): unknown[] => {
    if (value === undefined) return [];
    const node = value as { Ref?: string; "Fn::If"?: [string, unknown, unknown] };
    if (node?.Ref === "AWS::NoValue") return [];
    const branch = node?.["Fn::If"];
    return branch ? [...branches(branch[1]), ...branches(branch[2])] : [value];
  };
  /** A description's text: a literal (an Fn::Sub's text would need evaluating first). */
  const text = (where: string, value: unknown): string => {
    if (typeof value !== "string") throw new Error(`${where}: not a literal, check it by hand`);
    return value;
  };

  it("keeps every group's and every rule's description to what EC2 accepts", () => {
    const checked: string[] = [];
    for (const [id, resource] of Object.entries(template.Resources)) {
      const properties = (resource.Properties ?? {}) as Record<string, unknown>;
      if (resource.Type === "AWS::EC2::SecurityGroup") {
        for (const value of branches(properties.GroupDescription)) {
          expect(text(id, value), `${id} GroupDescription`).toMatch(GROUP);
          checked.push(`${id} GroupDescription`);
        }
        for (const list of ["SecurityGroupIngress", "SecurityGroupEgress"]) {
          const rules = branches(properties[list]).flatMap((l) => (Array.isArray(l) ? l : []));
          rules.flatMap(branches).forEach((rule, i) => {
            for (const value of branches((rule as { Description?: unknown }).Description)) {
              expect(text(`${id} ${list}[${i}]`, value), `${id} ${list}[${i}]`).toMatch(RULE);
              checked.push(`${id} ${list}[${i}]`);
            }
          });
        }
      }
      if (
        resource.Type === "AWS::EC2::SecurityGroupIngress" ||
        resource.Type === "AWS::EC2::SecurityGroupEgress"
      ) {
        for (const value of branches(properties.Description)) {
          expect(text(id, value), `${id} Description`).toMatch(RULE);
          checked.push(`${id} Description`);
        }
      }
    }
    // The walk found the groups and their rules, inline and standalone.
    expect(checked).toEqual(
      expect.arrayContaining([
        "KafkaBrokerSecurityGroup GroupDescription",
        "KafkaBrokerSecurityGroup SecurityGroupIngress[0]",
        "KafkaBrokerSecurityGroup SecurityGroupEgress[0]",
        "KafkaBrokerSelfIngress Description",
        "KafkaBrokerSelfEgress Description",
      ]),
    );
  });
});

describe("KMS keys", () => {
  it("are deleted 7 days after the stack, the least KMS allows", () => {
    // CloudFormation reference, AWS::KMS::Key PendingWindowInDays: "the number of days in the
    // waiting period before KMS deletes a KMS key that has been removed from a CloudFormation
    // stack. Enter a value between 7 and 30 days. The default value is 30 days" (Minimum 7,
    // Maximum 30). AWS KMS pricing: "There is no charge for customer managed KMS keys that are
    // scheduled for deletion."
    const keys = Object.entries(template.Resources).filter(([, r]) => r.Type === "AWS::KMS::Key");
    expect(keys.map(([id]) => id)).toContain("AlarmTopicKey");
    for (const [id, key] of keys) expect(key.Properties?.PendingWindowInDays, id).toBe(7);
  });
});

describe("log groups the services write to", () => {
  const stackName = "s".repeat(128);
  const pseudo = {
    "AWS::StackName": stackName,
    "AWS::StackId": `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10`,
  };
  const resource = (id: string) =>
    template.Resources[id] as {
      Type: string;
      DeletionPolicy?: string;
      DependsOn?: string | string[];
      Properties: Record<string, unknown>;
    };

  it("names the groups of vended logs under /aws/vendedlogs/, within CloudWatch Logs' limits", () => {
    // CloudWatch Logs User Guide, "Enabling logging from AWS services": Amazon API Gateway
    // access logs, Amazon MSK broker logs and Step Functions logs sent to CloudWatch Logs are
    // listed in the account's resource policy, "limited to 5120 characters"; near that limit
    // CloudWatch Logs "automatically enables /aws/vendedlogs/* in the resource policy for that
    // service". Step Functions Developer Guide, "Avoiding Amazon CloudWatch Logs resource
    // policy size restrictions": "prefix your CloudWatch Logs log group names with
    // /aws/vendedlogs/". CloudFormation reference, AWS::Logs::LogGroup LogGroupName: 1-512
    // characters of [.\-_/#A-Za-z0-9].
    const msk = (
      resource("RsvpKafkaCluster").Properties.LoggingInfo as {
        BrokerLogs: { CloudWatchLogs: { LogGroup: { Ref: string } } };
      }
    ).BrokerLogs.CloudWatchLogs.LogGroup.Ref;
    const api = (
      resource("CountsHttpApi").Properties.AccessLogSettings as {
        DestinationArn: { "Fn::GetAtt": [string, string] };
      }
    ).DestinationArn["Fn::GetAtt"][0];
    const machine = (
      resource("DailyBatchStateMachine").Properties.Logging as {
        Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [string] } } }[];
      }
    ).Destinations.map((d) => d.CloudWatchLogsLogGroup.LogGroupArn["Fn::GetAtt"][0]);
    const groups = { msk: [msk], apigateway: [api], states: machine };
    for (const [service, ids] of Object.entries(groups)) {
      for (const id of ids) {
        const name = String(evaluate(resource(id).Properties.LogGroupName, pseudo));
        expect(name, id).toMatch(new RegExp(`^/aws/vendedlogs/${service}/${stackName}-`));
        expect(name, id).toContain("8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10");
        expect(name, id).toMatch(/^[.\-_/#A-Za-z0-9]{1,512}$/);
      }
    }
  });

  it("declares Container Insights' log group of the ECS cluster, so it expires and goes with the stack", () => {
    // CloudWatch User Guide, "Container Insights performance log events for Amazon ECS": the
    // events are "in a log group named /aws/ecs/containerinsights/CLUSTER_NAME/performance",
    // which Container Insights creates itself when none exists ("Container Insights
    // performance log reference"); undeclared, it never expires and outlives the stack.
    expect(resource("IngestCluster").Properties.ClusterSettings).toContainEqual({
      Name: "containerInsights",
      Value: "enabled",
    });
    const group = resource("IngestClusterPerformanceLogGroup");
    expect(group.Type).toBe("AWS::Logs::LogGroup");
    // The cluster's name, as the group's, from the stack's name and id (ECS CreateCluster:
    // "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens"; a stack
    // name has at most 128 of letters, numbers and hyphens, the id's UUID 36).
    const stackUuid = {
      StackUuid: { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
    };
    const clusterName = "${AWS::StackName}-ingest-${StackUuid}";
    expect(resource("IngestCluster").Properties.ClusterName).toEqual({
      "Fn::Sub": [clusterName, stackUuid],
    });
    expect(`${"s".repeat(128)}-ingest-${"0".repeat(36)}`.length).toBeLessThanOrEqual(255);
    expect(group.Properties.LogGroupName).toEqual({
      "Fn::Sub": [`/aws/ecs/containerinsights/${clusterName}/performance`, stackUuid],
    });
    expect(group.Properties.RetentionInDays).toEqual({ Ref: "LogRetentionDays" });
    expect(group.DeletionPolicy).toBe("Delete");
    // The cluster waits for it, so it exists before the cluster and any task (Container
    // Insights then writes to it rather than making its own), and is deleted after the cluster:
    // nothing can write it back in between.
    expect([resource("IngestCluster").DependsOn].flat()).toContain(
      "IngestClusterPerformanceLogGroup",
    );
  });
});

describe("the MSK cluster", () => {
  // MSK Developer Guide, "Supported Apache Kafka versions", and the strings CreateCluster takes
  // (`aws kafka list-kafka-versions`; AWS CDK's KafkaVersion.V3_9_X, V3_9_X_KRAFT, V4_0_X_KRAFT,
  // V4_1_X_KRAFT): Kafka 4.x is KRaft-only and a bare "4.0.x" is refused.
  const ACCEPTED_VERSIONS = ["3.8.x", "3.9.x", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft"];
  // MSK Developer Guide, "Broker types" (Standard brokers): t3.small is offered for Kafka up to
  // 3.x only ("Unsupported InstanceType" for 4.x); M5 and M7g sizes for all.
  const STANDARD_BROKERS = ["kafka.t3.small", "kafka.m5.large", "kafka.m7g.large"];
  const settings = Object.entries(template.Mappings?.KafkaSettings ?? {}) as [
    string,
    { Version: string; BrokerType: string },
  ][];

  it("offers a lean and a standard setting, each a version and broker type MSK accepts together", () => {
    expect(settings.map(([name]) => name).sort()).toEqual(["lean", "standard"]);
    for (const [name, { Version, BrokerType }] of settings) {
      expect(ACCEPTED_VERSIONS, name).toContain(Version);
      expect(STANDARD_BROKERS, name).toContain(BrokerType);
      if (Number(Version.split(".")[0]) >= 4) {
        expect(Version, name).toMatch(/\.kraft$/);
        expect(BrokerType, name).not.toBe("kafka.t3.small");
      }
    }
    const cluster = template.Resources.RsvpKafkaCluster?.Properties as {
      KafkaVersion: unknown;
      BrokerNodeGroupInfo: { InstanceType: unknown };
    };
    expect(cluster.KafkaVersion).toEqual({
      "Fn::FindInMap": ["KafkaSettings", { Ref: "KafkaSetting" }, "Version"],
    });
    expect(cluster.BrokerNodeGroupInfo.InstanceType).toEqual({
      "Fn::FindInMap": ["KafkaSettings", { Ref: "KafkaSetting" }, "BrokerType"],
    });
    const parameter = template.Parameters?.KafkaSetting as { AllowedValues?: string[] };
    expect(parameter.AllowedValues?.sort()).toEqual(["lean", "standard"]);
  });

  it("says the setting is chosen at the first deploy, since MSK moves a cluster between them in neither direction", () => {
    // MSK Developer Guide, "Upgrade the Apache Kafka version": "You can't upgrade an existing
    // MSK cluster from a ZooKeeper-based Apache Kafka version to a newer version that uses or
    // requires KRaft mode" and "You can't downgrade an existing MSK cluster to an older version";
    // "Migrate from ZooKeeper to KRaft mode": "For Standard brokers, the cluster must be deployed
    // across 3 Availability Zones"; "Update the broker size": "You can't migrate from a larger
    // broker size to a smaller broker size".
    const byName = Object.fromEntries(settings);
    const lean = byName.lean as { Version: string; BrokerType: string };
    const standard = byName.standard as { Version: string; BrokerType: string };
    expect(lean.Version.endsWith(".kraft")).toBe(false);
    expect(standard.Version).toMatch(/\.kraft$/);
    expect(Number(standard.Version.split(".")[0])).toBeGreaterThan(
      Number(lean.Version.split(".")[0]),
    );
    expect(template.Resources.RsvpKafkaCluster?.Properties?.NumberOfBrokerNodes).toBe(2);
    const description = String(
      (template.Parameters?.KafkaSetting as { Description?: unknown } | undefined)?.Description,
    );
    expect(description).toMatch(/Chosen at the first deploy, for good/);
    expect(readFileSync(`${repoRoot}/docs/deploying.md`, "utf8")).toMatch(
      /Choose it at the first deploy: a later change fails the update\./,
    );
  });

  it("gives the brokers exactly two subnets, the stack's own or the first two of yours", () => {
    // CloudFormation reference, AWS::MSK::Cluster BrokerNodeGroupInfo, ClientSubnets: "If you
    // use the US West (N. California) Region, specify exactly two subnets. For other Regions
    // ... you can specify either two or three subnets. The subnets that you specify must be in
    // distinct Availability Zones. When you create a cluster, Amazon MSK distributes the broker
    // nodes evenly across the subnets that you specify." Two brokers, so two subnets.
    const subnetsWith = (parameters: Record<string, string>) => {
      const cluster = resolvedResource("RsvpKafkaCluster", template, parameters);
      return (cluster?.Properties.BrokerNodeGroupInfo as { ClientSubnets: unknown } | undefined)
        ?.ClientSubnets;
    };
    expect(template.Resources.RsvpKafkaCluster?.Properties?.NumberOfBrokerNodes).toBe(2);
    expect(subnetsWith({})).toEqual([{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }]);
    const yours = { ExistingVpcId: "vpc-0123456789abcdef0", ExistingPrivateSubnetIds: "a,b,c" };
    expect(evaluateListPick(subnetsWith(yours), yours)).toEqual(["a", "b"]);
  });
});

describe("CloudFront in front of the site (SiteHosting cloudfront, the default)", () => {
  const site = { SiteHosting: "cloudfront" };
  const distribution = resolvedResource("SiteDistribution", template, site)?.Properties
    .DistributionConfig as {
    Origins: {
      Id: string;
      DomainName: unknown;
      OriginAccessControlId?: unknown;
      S3OriginConfig?: { OriginAccessIdentity: string };
      CustomOriginConfig?: { OriginProtocolPolicy: string; OriginSSLProtocols: string[] };
    }[];
    DefaultCacheBehavior: Behavior;
    CacheBehaviors: (Behavior & { PathPattern: string })[];
    DefaultRootObject: string;
    PriceClass: string;
    HttpVersion: string;
    CustomErrorResponses?: { ErrorCode: number; ErrorCachingMinTTL?: number }[];
  };
  interface Behavior {
    TargetOriginId: string;
    ViewerProtocolPolicy: string;
    CachePolicyId: unknown;
    OriginRequestPolicyId?: unknown;
    ResponseHeadersPolicyId: unknown;
  }
  const origin = (id: string) => distribution.Origins.find((o) => o.Id === id);

  it("is the default, and absent with s3-website", () => {
    expect(template.Parameters?.SiteHosting?.Default).toBe("cloudfront");
    expect(distribution).toBeDefined();
    expect(resolvedResource("SiteDistribution", template, { SiteHosting: "s3-website" })).toBe(
      undefined,
    );
  });

  it("keeps a server error at the edge for a second, not the 10 s that no-store cannot shorten", () => {
    // CloudFront Developer Guide, "Control how long CloudFront caches errors": "CloudFront
    // caches error responses for a default duration of 10 seconds"; no-store, no-cache or
    // private stop it only "for error codes 404, 410, 414, or 501. For all other error codes,
    // CloudFront ignores" them "and caches error responses in accordance with the value of the
    // Error Caching Minimum TTL". The counts API answers a passing failure with 503, no-store
    // and Retry-After: 2 (functions/counts-api/handler.ts), which the page follows.
    const errors = new Map(
      (distribution.CustomErrorResponses ?? []).map((r) => [r.ErrorCode, r.ErrorCachingMinTTL]),
    );
    for (const code of [500, 502, 503, 504]) expect(errors.get(code), `${code}`).toBe(1);
    // A custom error page would turn the API's JSON into the page's HTML: none is set.
    for (const response of distribution.CustomErrorResponses ?? [])
      expect(Object.keys(response).sort()).toEqual(["ErrorCachingMinTTL", "ErrorCode"]);
  });

  it("reads the private bucket through its REST endpoint, with origin access control", () => {
    // CloudFront API Reference, OriginAccessControlConfig: OriginAccessControlOriginType one of
    // s3 | mediastore | mediapackagev2 | lambda; SigningBehavior always | never | no-override
    // ("always" for the most common use case); SigningProtocol "The only valid value is sigv4".
    const oac = resolvedResource("SiteOriginAccessControl", template, site)?.Properties
      .OriginAccessControlConfig as Record<string, unknown>;
    expect(oac.OriginAccessControlOriginType).toBe("s3");
    expect(oac.SigningBehavior).toBe("always");
    expect(oac.SigningProtocol).toBe("sigv4");
    // CloudFormation reference, AWS::CloudFront::Distribution S3OriginConfig: "If you're using
    // origin access control (OAC) instead of origin access identity, specify an empty
    // OriginAccessIdentity element", and a bucket configured as a website endpoint would need
    // CustomOriginConfig instead: the origin is the bucket's REST (regional) endpoint.
    const bucket = origin("site-bucket");
    expect(bucket?.DomainName).toEqual({ "Fn::GetAtt": ["SiteBucket", "RegionalDomainName"] });
    expect(bucket?.S3OriginConfig).toEqual({ OriginAccessIdentity: "" });
    expect(bucket?.OriginAccessControlId).toEqual({
      "Fn::GetAtt": ["SiteOriginAccessControl", "Id"],
    });
    expect(distribution.DefaultCacheBehavior.TargetOriginId).toBe("site-bucket");
    expect(distribution.DefaultRootObject).toBe("index.html");
  });

  it("answers viewers over HTTPS only, so the bucket may refuse every plain request", () => {
    // CloudFront Developer Guide, "How CloudFront processes HTTP and HTTPS requests": for S3
    // origins CloudFront "forwards the requests to your Amazon S3 bucket using the same protocol
    // in which the requests were made". With every viewer on HTTPS the bucket policy's blanket
    // deny of aws:SecureTransport false (template.test.ts) never meets CloudFront's reads.
    const behaviors = [distribution.DefaultCacheBehavior, ...distribution.CacheBehaviors];
    for (const behavior of behaviors) {
      expect(["redirect-to-https", "https-only"]).toContain(behavior.ViewerProtocolPolicy);
    }
    // CloudFormation reference, DistributionConfig: PriceClass PriceClass_100 | _200 | _All;
    // HttpVersion http1.1 | http2 | http3 | http2and3.
    expect(["PriceClass_100", "PriceClass_200", "PriceClass_All"]).toContain(
      distribution.PriceClass,
    );
    expect(["http1.1", "http2", "http3", "http2and3"]).toContain(distribution.HttpVersion);
  });

  it("serves the counts API under /api/* without the viewer's Host, keyed by the API's own parameters", async () => {
    const api = origin("counts-api");
    expect(api?.DomainName).toEqual({
      "Fn::Sub": "${CountsHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}",
    });
    expect(api?.CustomOriginConfig?.OriginProtocolPolicy).toBe("https-only");
    const behavior = distribution.CacheBehaviors.find((b) => b.TargetOriginId === "counts-api");
    expect(behavior?.PathPattern).toBe("/api/*");
    // The HTTP API answers the path CloudFront forwards as it is.
    const events = (
      (resolvedResource("CountsApiFunction", template, site)?.Properties ?? {}) as {
        Events: Record<string, { Type: string; Properties: { Path: string; Method: string } }>;
      }
    ).Events;
    expect(
      Object.values(events).map((e) => `${e.Type} ${e.Properties.Method} ${e.Properties.Path}`),
    ).toEqual(["HttpApi GET /counts", "HttpApi GET /api/counts"]);
    // AWS Knowledge Center, "configure CloudFront to forward headers": for API Gateway origins
    // without a custom domain, do not forward the Host header, or API Gateway answers 403. No
    // origin request policy, and a cache policy with no headers: CloudFront then sends the
    // origin's own domain as Host.
    expect(behavior?.OriginRequestPolicyId).toBeUndefined();
    expect(behavior?.CachePolicyId).toEqual({ Ref: "CountsApiCachePolicy" });
    const policy = resolvedResource("CountsApiCachePolicy", template, site)?.Properties
      .CachePolicyConfig as {
      Name: unknown;
      MinTTL: unknown;
      DefaultTTL: unknown;
      MaxTTL: unknown;
      ParametersInCacheKeyAndForwardedToOrigin: {
        HeadersConfig: { HeaderBehavior: string };
        CookiesConfig: { CookieBehavior: string };
        QueryStringsConfig: { QueryStringBehavior: string; QueryStrings: string[] };
      };
    };
    const key = policy.ParametersInCacheKeyAndForwardedToOrigin;
    expect(key.HeadersConfig).toEqual({ HeaderBehavior: "none" });
    expect(key.CookiesConfig).toEqual({ CookieBehavior: "none" });
    // Exactly the parameters the handler's schema reads: nothing else splits the cache.
    process.env.TABLE_NAME ??= "unused";
    const { countsQuerySchema } = await import("../../functions/counts-api/handler.js");
    expect(key.QueryStringsConfig.QueryStringBehavior).toBe("whitelist");
    expect([...key.QueryStringsConfig.QueryStrings].sort()).toEqual(
      Object.keys(countsQuerySchema.shape).sort(),
    );
    // AWS CLI reference, create-cache-policy: with a minimum TTL above 0 CloudFront caches for at
    // least that long whatever the origin's Cache-Control says: every edge keeps an answer
    // exactly CountsApiEdgeCacheSeconds.
    const seconds = { Ref: "CountsApiEdgeCacheSeconds" };
    expect([policy.MinTTL, policy.DefaultTTL, policy.MaxTTL]).toEqual([seconds, seconds, seconds]);
    const [least] = wholeNumberRange("CountsApiEdgeCacheSeconds");
    expect(least).toBeGreaterThanOrEqual(1);
    expect(Number(template.Parameters?.CountsApiEdgeCacheSeconds?.Default)).toBeLessThanOrEqual(10);
  });

  it("follows each site object's Cache-Control with the managed CachingOptimized policy", () => {
    // CloudFront Developer Guide, "Use managed cache policies": CachingOptimized, ID
    // 658327ea-f89d-4fab-a63d-7e88639e58f6 (minimum TTL 1 s, so the deploy's no-cache
    // index.html and config.json are at most a second old at an edge).
    expect(distribution.DefaultCacheBehavior.CachePolicyId).toBe(
      "658327ea-f89d-4fab-a63d-7e88639e58f6",
    );
  });

  it("adds the page's Content-Security-Policy with frame-ancestors, and the API is the page's own origin", () => {
    // CSP Level 3 (W3C), and MDN "frame-ancestors": not supported in a <meta> element, so only
    // a response header can forbid framing. The header's policy is the page's meta policy with
    // connect-src narrowed to 'self' (the API now shares the origin) and frame-ancestors added.
    const html = readFileSync(`${repoRoot}/site/index.html`, "utf8");
    const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1];
    if (!meta) throw new Error("site/index.html has no CSP meta element");
    const headers = resolvedResource("SiteResponseHeadersPolicy", template, site)?.Properties
      .ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: {
        ContentSecurityPolicy: { ContentSecurityPolicy: string; Override: boolean };
        FrameOptions: { FrameOption: string };
      };
    };
    const csp = headers.SecurityHeadersConfig.ContentSecurityPolicy;
    expect(csp.Override).toBe(true);
    // The one inline style the header allows: the render-map Lambda's fallback page's, by its
    // hash (CSP Level 3, "hash-source": base64 of the SHA-256 of the style element's text).
    const fallbackStyle = `'sha256-${createHash("sha256").update(FALLBACK_PAGE_CSS, "utf8").digest("base64")}'`;
    expect(csp.ContentSecurityPolicy).toBe(
      `${meta
        .replace("connect-src 'self' https:", "connect-src 'self'")
        .replace("style-src 'self'", `style-src 'self' ${fallbackStyle}`)}; frame-ancestors 'none'`,
    );
    expect(headers.SecurityHeadersConfig.FrameOptions.FrameOption).toBe("DENY");
    for (const behavior of [distribution.DefaultCacheBehavior, ...distribution.CacheBehaviors]) {
      expect(behavior.ResponseHeadersPolicyId).toEqual({ Ref: "SiteResponseHeadersPolicy" });
    }
    const content = resolvedResource("SiteContent", template, site)?.Properties;
    expect(content?.CountsApiUrl).toBe("/api");
  });

  it("names its policies within CloudFront's limits whatever the stack is called", () => {
    // CloudFront API Reference, OriginAccessControlConfig Name: "up to 64 characters"; cache
    // and response headers policy names: '-', '_' and alphanumerics only (AWS CDK
    // CachePolicyProps). CloudFront is global: the names carry the stack's id, unique per
    // account and Region, where a stack name alone could repeat in another Region.
    const stackName = "s".repeat(128);
    const pseudo = {
      "AWS::StackName": stackName,
      "AWS::StackId": `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10`,
    };
    const nameOf = (id: string, config: string) =>
      String(
        evaluate(
          (template.Resources[id]?.Properties?.[config] as { Name: unknown } | undefined)?.Name,
          pseudo,
        ),
      );
    const oac = nameOf("SiteOriginAccessControl", "OriginAccessControlConfig");
    expect(oac).toBe("rsvp-atlas-site-8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10");
    expect(oac.length).toBeLessThanOrEqual(64);
    for (const [id, config] of [
      ["CountsApiCachePolicy", "CachePolicyConfig"],
      ["SiteResponseHeadersPolicy", "ResponseHeadersPolicyConfig"],
    ] as const) {
      expect(nameOf(id, config), id).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
      expect(nameOf(id, config), id).toContain("8d1e2f30-9a4b-11f0-b6c7-0e2d4f6a8b10");
    }
  });
});

describe("what the EMR release ships", () => {
  // Amazon EMR Release Guide, "Application versions in Amazon EMR 7.x releases" and "Spark
  // release history": emr-7.12.0 ships Spark 3.5.6-amzn-1 and Python 3.9 and 3.11; emr-7.13.0
  // Spark 3.5.6-amzn-2, the same Pythons.
  const RELEASES: Record<string, { spark: string; pythons: string[] }> = {
    "emr-7.12.0": { spark: "3.5.6", pythons: ["3.9", "3.11"] },
    "emr-7.13.0": { spark: "3.5.6", pythons: ["3.9", "3.11"] },
  };
  const label = String(template.Parameters?.EmrReleaseLabel?.Default);
  const release = RELEASES[label];

  it("runs the Spark job on the Spark the tests pin, with a Python the release has and the venv uses", () => {
    if (!release) throw new Error(`${label}: add what it ships (EMR Release Guide) to this test`);
    const requirements = readFileSync(pythonRequirementsPath, "utf8");
    expect(/^pyspark==(\S+)$/m.exec(requirements)?.[1]).toBe(release.spark);
    // The step's interpreter (spark-env PYSPARK_PYTHON in the workflow's createCluster).
    const asl = readFileSync(`${repoRoot}/statemachines/daily-batch.asl.json`, "utf8");
    const python = /"PYSPARK_PYTHON":\s*"\/usr\/bin\/python(\d+\.\d+)"/.exec(asl)?.[1];
    expect(release.pythons).toContain(python);
    // The local venv (Spark tests, npm start's batch) is made with the first Python found, in
    // this order: the same minor version comes first.
    const bootstrap = readFileSync(`${repoRoot}/local/bootstrap.mjs`, "utf8");
    const candidates = /for \(const candidate of \[([^\]]+)\]/.exec(bootstrap)?.[1] ?? "";
    expect(candidates.split(",")[0]?.trim()).toBe(`"python${python}"`);
  });
});

describe("Lambda function descriptions", () => {
  it("keep every function's description within the 256 characters Lambda accepts", () => {
    // Lambda API Reference, CreateFunction and UpdateFunctionConfiguration: Description,
    // "Length Constraints: Minimum length of 0. Maximum length of 256." (the service model's
    // Description shape, botocore data/lambda/2015-03-31: max 256). A longer one fails the
    // function's create, or the update of a deployed stack.
    const described = Object.entries(template.Resources).filter(
      ([, resource]) =>
        resource.Type === "AWS::Serverless::Function" || resource.Type === "AWS::Lambda::Function",
    );
    expect(described.length).toBeGreaterThan(10);
    for (const [id, resource] of described) {
      const description = (resource.Properties as { Description?: unknown }).Description;
      expect(typeof description, id).toBe("string");
      expect((description as string).length, id).toBeLessThanOrEqual(256);
    }
  });
});

describe("the Lambda runtime", () => {
  // Lambda Developer Guide, "Lambda runtimes" (supported runtimes table): nodejs22.x deprecated
  // 2027-04-30, nodejs24.x 2028-04-30 (nodejs20.x was deprecated 2026-04-30). After deprecation
  // a function can no longer be created, so a first deploy then fails: move to the next one.
  const SUPPORTED: Record<string, { node: number; deprecation: string }> = {
    "nodejs22.x": { node: 22, deprecation: "2027-04-30" },
    "nodejs24.x": { node: 24, deprecation: "2028-04-30" },
  };

  it("is a supported Node.js runtime, the same for functions, the layer and every bundle's target", () => {
    const globals = (template as unknown as { Globals: { Function: { Runtime: string } } }).Globals;
    const runtime = globals.Function.Runtime;
    const supported = SUPPORTED[runtime];
    if (!supported) throw new Error(`${runtime} is not in Lambda's supported runtimes table`);
    for (const [id, resource] of Object.entries(template.Resources)) {
      const own = (resource.Properties as { Runtime?: string } | undefined)?.Runtime;
      if (resource.Type === "AWS::Serverless::Function" && own) expect(own, id).toBe(runtime);
    }
    // The layer: CompatibleRuntimes takes runtime identifiers, nodejs24.x among them (Lambda API
    // Reference, PublishLayerVersion / LayerVersionsListItem, "Valid Values"); SAM builds a layer
    // with the runtime named as its BuildMethod (SAM Developer Guide, "Building Lambda layers").
    const layer = template.Resources.AtlasDataLayer as {
      Metadata?: { BuildMethod?: string };
      Properties?: { CompatibleRuntimes?: string[] };
    };
    expect(layer.Properties?.CompatibleRuntimes).toEqual([runtime]);
    expect(layer.Metadata?.BuildMethod).toBe(runtime);
    // The Fargate tasks run the same Node.js major (their image and their bundles' target).
    const dockerfile = readFileSync(`${repoRoot}/tasks/Dockerfile`, "utf8");
    for (const [, major] of dockerfile.matchAll(/^FROM node:(\d+)-/gm)) {
      expect(Number(major)).toBe(supported.node);
    }
    // Every esbuild target for Node: the npm scripts, the image's bundles, the site-content make.
    for (const file of ["package.json", "tasks/Dockerfile", "functions/site-content/Makefile"]) {
      const text = readFileSync(`${repoRoot}/${file}`, "utf8");
      const majors = [...text.matchAll(/--target=node(\d+)/g)].map(([, major]) => Number(major));
      expect(majors.length, file).toBeGreaterThan(0);
      for (const major of majors) expect(major, file).toBe(supported.node);
    }
  });
});

describe("the IAM actions of each Step Functions integration the workflow uses", () => {
  // Step Functions Developer Guide, "IAM policies for Amazon EMR" (createCluster: RunJobFlow,
  // DescribeCluster, TerminateJobFlows and iam:PassRole of its roles; addStep: AddJobFlowSteps,
  // DescribeStep, CancelSteps; terminateCluster: TerminateJobFlows, DescribeCluster) and "IAM
  // policies for AWS Lambda" (lambda:InvokeFunction on the function). For .sync, "How Step
  // Functions generates IAM policies for integrated services": the service's managed EventBridge
  // rule StepFunctionsGetEventFor<service><API>Rule needs events:PutTargets, PutRule and
  // DescribeRule. A cluster created with tags also needs elasticmapreduce:AddTags (EMR Management
  // Guide, "IAM policies for tag-based access to clusters and EMR notebooks").
  const NEEDS: Record<string, { actions: string[]; rule?: string; withTags?: string[] }> = {
    "elasticmapreduce:createCluster": {
      actions: [
        "elasticmapreduce:RunJobFlow",
        "elasticmapreduce:DescribeCluster",
        "elasticmapreduce:TerminateJobFlows",
      ],
      withTags: ["elasticmapreduce:AddTags"],
    },
    "elasticmapreduce:addStep.sync": {
      actions: [
        "elasticmapreduce:AddJobFlowSteps",
        "elasticmapreduce:DescribeStep",
        "elasticmapreduce:CancelSteps",
      ],
      rule: "StepFunctionsGetEventForEMRAddJobFlowStepsRule",
    },
    "elasticmapreduce:terminateCluster.sync": {
      actions: ["elasticmapreduce:TerminateJobFlows", "elasticmapreduce:DescribeCluster"],
      rule: "StepFunctionsGetEventForEMRTerminateJobFlowsRule",
    },
    "lambda:invoke": { actions: ["lambda:InvokeFunction"] },
    // An AWS SDK integration calls the API itself, as the execution role ("Integrating services
    // with Step Functions", AWS SDK integrations): DescribeCluster's own action.
    "aws-sdk:emr:describeCluster": { actions: ["elasticmapreduce:DescribeCluster"] },
  };
  interface TaskState {
    Type: string;
    Resource?: string;
    Parameters?: Record<string, unknown>;
    Branches?: { States: Record<string, TaskState> }[];
  }
  const asl = JSON.parse(
    readFileSync(`${repoRoot}/statemachines/daily-batch.asl.json`, "utf8"),
  ) as { States: Record<string, TaskState> };
  const tasks = (states: Record<string, TaskState>): TaskState[] =>
    Object.values(states).flatMap((state) => [
      ...(state.Type === "Task" ? [state] : []),
      ...(state.Branches ?? []).flatMap((branch) => tasks(branch.States)),
    ]);
  const granted = statementsOf("DailyBatchStateMachine");
  const grants = (action: string) =>
    granted.filter((s) => [s.Action].flat().includes(action) || [s.Action].flat().includes("*"));
  /** IAM's * wildcard on a resource pattern, ${...} of Fn::Sub standing for anything. */
  const matches = (pattern: unknown, arn: string) => {
    const text = JSON.stringify(pattern).replace(/^"|"$/g, "");
    const sub = /"Fn::Sub":"([^"]+)"/.exec(text)?.[1] ?? text;
    const regex = sub
      .split(/(\$\{[^}]+\}|\*)/)
      .map((part) =>
        part === "*" || part.startsWith("${") ? ".*" : part.replace(/[.+?^$()|[\]\\{}]/g, "\\$&"),
      )
      .join("");
    return new RegExp(`^${regex}$`).test(arn);
  };

  it("grants every task's integration what the documentation lists, and knows every integration", () => {
    const used = tasks(asl.States);
    expect(used.length).toBeGreaterThan(0);
    for (const task of used) {
      const integration = task.Resource?.replace(/^arn:aws:states:::/, "") ?? "";
      const needs = NEEDS[integration];
      if (!needs) throw new Error(`${integration}: add its IAM needs (Step Functions guide) here`);
      const tagged = task.Parameters?.Tags !== undefined;
      for (const action of [...needs.actions, ...(tagged ? (needs.withTags ?? []) : [])]) {
        expect(grants(action).length, `${integration} needs ${action}`).toBeGreaterThan(0);
      }
      if (needs.rule) {
        const rule = `arn:aws:events:us-east-1:123456789012:rule/${needs.rule}`;
        for (const action of ["events:PutTargets", "events:PutRule", "events:DescribeRule"]) {
          const covering = grants(action).filter((s) =>
            [s.Resource].flat().some((resource) => matches(resource, rule)),
          );
          expect(covering.length, `${integration} needs ${action} on ${needs.rule}`).toBe(1);
        }
      }
    }
  });

  it("passes EMR exactly the two roles createCluster names, and invokes exactly the functions the tasks call", () => {
    const substitutions = (
      (template.Resources.DailyBatchStateMachine?.Properties ?? {}) as {
        DefinitionSubstitutions: Record<string, unknown>;
      }
    ).DefinitionSubstitutions;
    const create = tasks(asl.States).find((t) => t.Resource?.endsWith(":createCluster"));
    expect(create?.Parameters?.ServiceRole).toBe("${EmrServiceRole}");
    expect(create?.Parameters?.JobFlowRole).toBe("${EmrInstanceProfile}");
    expect(substitutions.EmrServiceRole).toEqual({ Ref: "EmrServiceRole" });
    expect(substitutions.EmrInstanceProfile).toEqual({ Ref: "EmrInstanceProfile" });
    const passed = grants("iam:PassRole").map((s) => s.Resource);
    expect(passed).toEqual([
      { "Fn::GetAtt": ["EmrServiceRole", "Arn"] },
      { "Fn::GetAtt": ["EmrInstanceRole", "Arn"] },
    ]);
    const invoked = tasks(asl.States)
      .filter((t) => t.Resource?.endsWith(":lambda:invoke"))
      .map((t) => String(t.Parameters?.FunctionName).replace(/^\$\{(.+)\}$/, "$1"))
      .map((name) => substitutions[name]);
    const invokable = grants("lambda:InvokeFunction").flatMap((s) => [s.Resource].flat());
    expect(new Set(invokable.map((r) => JSON.stringify(r)))).toEqual(
      new Set(invoked.map((r) => JSON.stringify(r))),
    );
  });
});

describe("Firehose's buffering and EventBridge Scheduler's window", () => {
  const ofType = (type: string) =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

  it("buffers every delivery stream within Firehose's ranges", () => {
    // Firehose API Reference, "BufferingHints": IntervalInSeconds 0-900, SizeInMBs 1-128, and
    // one given needs the other.
    const streams = ofType("AWS::KinesisFirehose::DeliveryStream");
    expect(streams.length).toBeGreaterThan(0);
    for (const [name, stream] of streams) {
      const destination = (stream.Properties ?? {}) as Record<
        string,
        { BufferingHints?: { IntervalInSeconds?: unknown; SizeInMBs?: unknown } } | undefined
      >;
      const hints = destination.ExtendedS3DestinationConfiguration?.BufferingHints;
      expect(hints, name).toBeDefined();
      const interval = Number(hints?.IntervalInSeconds);
      const size = Number(hints?.SizeInMBs);
      expect(Number.isInteger(interval) && interval >= 0 && interval <= 900, name).toBe(true);
      expect(Number.isInteger(size) && size >= 1 && size <= 128, name).toBe(true);
    }
  });

  it("gives every schedule a window mode the Scheduler knows, as a string, not YAML's boolean", () => {
    // EventBridge Scheduler API Reference, "FlexibleTimeWindow": Mode is OFF or FLEXIBLE. Bare
    // OFF is a boolean in YAML 1.1 (what CloudFormation's YAML parser follows), hence quoted.
    const schedules = ofType("AWS::Scheduler::Schedule");
    expect(schedules.length).toBeGreaterThan(0);
    const lines = readFileSync(`${repoRoot}/template.yaml`, "utf8").split("\n");
    const modes = lines.filter((line) => /^\s+Mode:/.test(line)).map((line) => line.trim());
    expect(modes).toHaveLength(schedules.length);
    for (const mode of modes) expect(mode).toMatch(/^Mode: "(OFF|FLEXIBLE)"$/);
    for (const [name, schedule] of schedules) {
      const window = (schedule.Properties as { FlexibleTimeWindow?: { Mode?: unknown } })
        .FlexibleTimeWindow;
      expect(["OFF", "FLEXIBLE"], name).toContain(window?.Mode);
    }
  });
});

describe("the EMR instance profile", () => {
  it("has its role's name, as EMR requires", () => {
    // EMR Management Guide, "Customize IAM roles": instance profiles and roles with different
    // names are "not supported" by EMR, an "invalid instance profile" error at cluster creation.
    const profile = template.Resources.EmrInstanceProfile?.Properties as {
      InstanceProfileName?: unknown;
      Roles?: unknown[];
    };
    expect(profile.Roles).toEqual([{ Ref: "EmrInstanceRole" }]);
    expect(profile.InstanceProfileName).toEqual({ Ref: "EmrInstanceRole" });
    const role = (template.Resources.EmrInstanceRole?.Properties ?? {}) as { RoleName?: unknown };
    expect(role.RoleName).toBeUndefined(); // generated: no physical name of ours
  });
});

describe("the EMR roles, where the local engines check no IAM", () => {
  const inline = roleStatements;

  it("let the instances look the raw folder up as an object before listing it", () => {
    // Hadoop's S3 file systems HEAD the input path itself (`rsvps`; EMRFS also `rsvps_$folder$`)
    // before listing it. Amazon S3 API Reference, "HeadObject": "To use HEAD, you must have the
    // s3:GetObject permission"; without it on that key the answer is 403, and the step fails.
    const raw = inline("EmrInstanceRole").find((s) => s.Sid === "ReadRawStream");
    expect(raw?.Action).toEqual(["s3:GetObject"]);
    expect(raw?.Resource).toEqual([
      { "Fn::Sub": "${RawBucket.Arn}/rsvps/*" },
      { "Fn::Sub": "${RawBucket.Arn}/rsvps" },
      { "Fn::Sub": "${RawBucket.Arn}/rsvps_$folder$" },
    ]);
  });

  it("let EMR create EC2's Spot service-linked role, and no other", () => {
    // EC2 creates AWSServiceRoleForEC2Spot on an account's first Spot launch, as the caller (EC2
    // User Guide, "Service-linked role for Spot Instances"); AmazonEMRServicePolicy_v2 has no
    // iam:CreateServiceLinkedRole.
    const create = inline("EmrServiceRole").filter((s) =>
      [s.Action].flat().includes("iam:CreateServiceLinkedRole"),
    );
    expect(create).toHaveLength(1);
    expect(create[0]?.Resource).toEqual({
      "Fn::Sub":
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot",
    });
    expect(create[0]?.Condition).toEqual({
      StringEquals: { "iam:AWSServiceName": "spot.amazonaws.com" },
    });
  });
});

describe("the EMR cluster's disks, encrypted at rest", () => {
  type KeyStatement = Statement & { Principal?: unknown };
  const inline = roleStatements;
  const resource = (id: string) =>
    template.Resources[id] as { Type: string; DependsOn?: string[]; Properties: unknown };

  it("has a security configuration with local disk and EBS encryption by the stack's key", () => {
    // EMR Management Guide, "Create a security configuration": LocalDiskEncryptionConfiguration
    // with EncryptionKeyProviderType AwsKms and AwsKmsKey; "To use EBS encryption, you must
    // specify AwsKms as your EncryptionKeyProviderType". "Amazon EMR only supports symmetric
    // KMS keys" (AWS::KMS::Key's default KeySpec, SYMMETRIC_DEFAULT).
    const configuration = resource("EmrSecurityConfiguration");
    expect(configuration.Type).toBe("AWS::EMR::SecurityConfiguration");
    const encryption = (
      configuration.Properties as {
        SecurityConfiguration: { EncryptionConfiguration: Record<string, unknown> };
      }
    ).SecurityConfiguration.EncryptionConfiguration;
    expect(encryption).toMatchObject({
      // In transit would need certificates (a PEM zip or a provider class): off.
      EnableInTransitEncryption: false,
      EnableAtRestEncryption: true,
      AtRestEncryptionConfiguration: {
        LocalDiskEncryptionConfiguration: {
          EncryptionKeyProviderType: "AwsKms",
          AwsKmsKey: { "Fn::GetAtt": ["EmrDiskKey", "Arn"] },
          EnableEbsEncryption: true,
        },
      },
    });
    const key = resource("EmrDiskKey").Properties as { KeySpec?: unknown; KeyUsage?: unknown };
    expect(key.KeySpec ?? "SYMMETRIC_DEFAULT").toBe("SYMMETRIC_DEFAULT");
    expect(key.KeyUsage ?? "ENCRYPT_DECRYPT").toBe("ENCRYPT_DECRYPT");
    // The workflow creates every cluster with it.
    const asl = JSON.parse(
      readFileSync(`${repoRoot}/statemachines/daily-batch.asl.json`, "utf8"),
    ) as { States: { CreateCluster: { Parameters: Record<string, unknown> } } };
    expect(asl.States.CreateCluster.Parameters.SecurityConfiguration).toBe(
      "${EmrSecurityConfiguration}",
    );
    const machine = resource("DailyBatchStateMachine").Properties as {
      DefinitionSubstitutions: Record<string, unknown>;
    };
    expect(machine.DefinitionSubstitutions.EmrSecurityConfiguration).toEqual({
      Ref: "EmrSecurityConfiguration",
    });
  });

  it("lets the instances and EMR use the key, each as its docs say, and nothing else", () => {
    // KMS Developer Guide, "How Amazon EMR uses AWS KMS": each node sends GenerateDataKey at
    // launch and Decrypt after a reboot. EMR Management Guide, "Enabling EBS encryption": the
    // EMR service role must be allowed the key; EBS User Guide, "Requirements for Amazon EBS
    // encryption": kms:CreateGrant only with kms:GrantIsForAWSResource.
    const keyArn = { "Fn::GetAtt": ["EmrDiskKey", "Arn"] };
    const kms = (role: string) =>
      inline(role).filter((s) => [s.Action].flat().some((a) => a.startsWith("kms:")));
    const actions = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());
    const instance = kms("EmrInstanceRole");
    expect(actions(instance).sort()).toEqual(
      ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"].sort(),
    );
    for (const s of instance) expect(s.Resource).toEqual(keyArn);
    const service = kms("EmrServiceRole");
    for (const s of service) expect(s.Resource).toEqual(keyArn);
    // EMR's custom AMI page: kms:encrypt, kms:decrypt, kms:ReEncrypt*, kms:CreateGrant,
    // kms:GenerateDataKeyWithoutPlaintext, kms:DescribeKey (ReEncrypt* written out).
    expect(actions(service).sort()).toEqual(
      [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
      ].sort(),
    );
    const grant = service.filter((s) => [s.Action].flat().includes("kms:CreateGrant"));
    expect(grant).toHaveLength(1);
    expect([grant[0]?.Action].flat()).toEqual(["kms:CreateGrant"]);
    expect(grant[0]?.Condition).toEqual({ Bool: { "kms:GrantIsForAWSResource": true } });
  });

  it("lets EC2's Spot role use the key by its ARN, which a fresh account may not have yet", () => {
    // EC2 User Guide, "Service-linked role for Spot Instance requests": with a customer managed
    // key for encrypted EBS volumes, AWSServiceRoleForEC2Spot must be allowed the key. A key
    // policy naming a principal that does not exist is refused (MalformedPolicyDocument), and
    // EC2 makes that role only on an account's first Spot launch.
    const policy = (
      resource("EmrDiskKey").Properties as { KeyPolicy: { Statement: KeyStatement[] } }
    ).KeyPolicy.Statement;
    const spotRole = {
      "aws:PrincipalArn": {
        "Fn::Sub":
          "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot",
      },
    };
    const wildcard = policy.filter((s) => JSON.stringify(s.Principal) === '{"AWS":"*"}');
    expect(wildcard.map((s) => s.Sid).sort()).toEqual([
      "SpotGrantsEncryptedVolumes",
      "SpotLaunchesEncryptedVolumes",
    ]);
    for (const s of wildcard) expect(s.Condition?.StringEquals).toEqual(spotRole);
    // The actions of the EC2 User Guide's create-grant example for that role; CreateGrant only
    // for an AWS resource, as the EBS User Guide asks.
    const use = wildcard.find((s) => s.Sid === "SpotLaunchesEncryptedVolumes");
    expect([use?.Action].flat()).not.toContain("kms:CreateGrant");
    const grants = wildcard.find((s) => s.Sid === "SpotGrantsEncryptedVolumes");
    expect([grants?.Action].flat()).toEqual(["kms:CreateGrant"]);
    expect(grants?.Condition?.Bool).toEqual({ "kms:GrantIsForAWSResource": true });
  });

  it("terminates the clusters before their security configuration and key are deleted", () => {
    // EMR refuses to delete a security configuration an active cluster uses
    // ("SECURITY_CONFIGURATION_IN_USE", pulumi/pulumi-aws#1469): the stack's delete stops the
    // daily batch and waits for its clusters first (StopDailyBatchOnDelete).
    expect(resource("StopDailyBatchOnDelete").DependsOn).toEqual(
      expect.arrayContaining(["EmrSecurityConfiguration", "EmrDiskKey"]),
    );
  });
});
