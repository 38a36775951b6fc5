/**
 * The daily batch's EMR-managed security groups, emptied of the rules EMR adds (each group
 * referring to the others) so that they can be deleted with the stack: on moto's EC2.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import {
  applySecurityGroupsEvent,
  revokeAllRules,
} from "../../functions/stack-cleanup/security-group-rules.js";
import { newSecurityGroup, stackEc2 } from "../support/stack-clients.js";

const ec2 = stackEc2();
afterAll(() => ec2.destroy());

/** Three groups with the rules EMR adds to its managed groups in a private subnet. */
async function emrLikeGroups(): Promise<[string, string, string]> {
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.42.0.0/16" }));
  const group = (name: string) => newSecurityGroup(ec2, Vpc?.VpcId, name);
  const [primary, core, serviceAccess] = [
    await group("primary"),
    await group("core"),
    await group("service-access"),
  ];
  const allow = (to: string, from: string, port?: number) =>
    ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: to,
        IpPermissions: [
          {
            IpProtocol: port === undefined ? "-1" : "tcp",
            ...(port === undefined ? {} : { FromPort: port, ToPort: port }),
            UserIdGroupPairs: [{ GroupId: from }],
          },
        ],
      }),
    );
  await allow(primary, core);
  await allow(core, primary);
  await allow(primary, serviceAccess, 8443);
  await allow(core, serviceAccess, 8443);
  await allow(serviceAccess, primary, 9443);
  return [primary, core, serviceAccess];
}

const rulesOf = async (groupId: string) =>
  (
    await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
    )
  ).SecurityGroupRules ?? [];

describe("EMR's security groups on stack delete", () => {
  it("revokes every rule of the three, so none refers to another", async () => {
    const groups = await emrLikeGroups();
    // EC2 refuses to delete a group another group's rule refers to (DependencyViolation);
    // moto does not, so what is proven here is that no rule, hence no reference, is left.
    expect((await rulesOf(groups[0])).length).toBeGreaterThan(0);
    const revoked = await revokeAllRules(ec2, groups);
    // 5 ingress rules EMR-like, plus each group's default allow-all egress.
    expect(revoked).toBe(5 + 3);
    for (const group of groups) expect(await rulesOf(group)).toEqual([]);
    for (const group of groups) await ec2.send(new DeleteSecurityGroupCommand({ GroupId: group }));
  });

  it("does it on the custom resource's Delete, and nothing on Create", async () => {
    const groups = await emrLikeGroups();
    const event = {
      RequestType: "Create",
      ResourceType: "Custom::EmrSecurityGroupRules",
      ResourceProperties: { ServiceToken: "arn", SecurityGroups: groups },
    } as unknown as CloudFormationCustomResourceEvent;
    const before = await Promise.all(groups.map(rulesOf));
    expect(before.flat().length).toBe(5 + 3);
    await applySecurityGroupsEvent(event, { ec2 });
    expect(await Promise.all(groups.map(rulesOf))).toEqual(before);
    const result = await applySecurityGroupsEvent(
      {
        ...event,
        RequestType: "Delete",
        PhysicalResourceId: "emr-security-group-rules",
      } as CloudFormationCustomResourceEvent,
      { ec2 },
    );
    expect(result).toEqual({
      PhysicalResourceId: "emr-security-group-rules",
      Data: { Revoked: "8" },
    });
    for (const group of groups) expect(await rulesOf(group)).toEqual([]);
  });
});
