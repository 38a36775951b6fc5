/**
 * What the AWS services themselves accept or need, which no linter knows: each constraint the
 * template relies on, with the document it comes from. A change to the template that breaks
 * one fails here, before a first `sam deploy` in a fresh account would.
 */
import { describe, expect, it } from "vitest";
import { readTemplate } from "../../local/stack/template-model.js";

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

/** Fn::Join / Fn::Select / Fn::Split / Ref over pseudo parameters, enough for names. */
function evaluate(value: unknown, pseudo: Record<string, string>): unknown {
  if (typeof value === "string" || typeof value === "number") return value;
  const node = value as Record<string, unknown>;
  if ("Ref" in node) return pseudo[node.Ref as string] ?? `<${node.Ref}>`;
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
});
