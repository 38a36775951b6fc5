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
