/**
 * The daily batch's EMR-managed security groups, emptied of the rules EMR adds (each group
 * referring to the others) and of the service endpoint EMR may make in them, so that they can be
 * deleted with the stack: on moto's EC2.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpcEndpointsCommand,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import {
  applySecurityGroupsEvent,
  EMR_SERVICE_ENDPOINT_NAME,
  revokeAllRules,
} from "../../functions/stack-cleanup/security-group-rules.js";
import { newSecurityGroup, stackEc2 } from "../support/stack-clients.js";

const ec2 = stackEc2();
afterAll(() => ec2.destroy());
/** The cleanup's waits, shortened: moto deletes an endpoint at once. */
const polling = { ec2, pollMs: 10, deadline: Date.now() + 60_000 };

/** Three groups with the rules EMR adds to its managed groups in a private subnet. */
async function emrLikeGroups(vpcId?: string): Promise<[string, string, string]> {
  const Vpc = vpcId
    ? { VpcId: vpcId }
    : (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.42.0.0/16" }))).Vpc;
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
    await applySecurityGroupsEvent(event, polling);
    expect(await Promise.all(groups.map(rulesOf))).toEqual(before);
    const result = await applySecurityGroupsEvent(
      {
        ...event,
        RequestType: "Delete",
        PhysicalResourceId: "emr-security-group-rules",
      } as CloudFormationCustomResourceEvent,
      polling,
    );
    expect(result).toEqual({
      PhysicalResourceId: "emr-security-group-rules",
      Data: { Revoked: "8", EndpointsDeleted: "0" },
    });
    for (const group of groups) expect(await rulesOf(group)).toEqual([]);
  });

  it("deletes the service endpoint EMR made in the groups first, and no other endpoint", async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.43.0.0/16" }));
    const vpcId = Vpc?.VpcId as string;
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.43.1.0/24" }),
    );
    const groups = await emrLikeGroups(vpcId);
    const elsewhere = await newSecurityGroup(ec2, vpcId, "the user's own");
    const endpoint = async (group: string, name?: string) =>
      (
        await ec2.send(
          new CreateVpcEndpointCommand({
            VpcId: vpcId,
            VpcEndpointType: "Interface",
            ServiceName: "com.amazonaws.us-east-1.elasticmapreduce",
            SubnetIds: [Subnet?.SubnetId as string],
            SecurityGroupIds: [group],
            ...(name
              ? {
                  TagSpecifications: [
                    { ResourceType: "vpc-endpoint", Tags: [{ Key: "Name", Value: name }] },
                  ],
                }
              : {}),
          }),
        )
      ).VpcEndpoint?.VpcEndpointId as string;
    // As AmazonEMRServicePolicy_v2 lets EMR make it: named emr-service-vpce, in a tagged group.
    const emrs = await endpoint(groups[2], EMR_SERVICE_ENDPOINT_NAME);
    // Not the stack's: EMR's endpoint of another group, and one of the group EMR did not name.
    const others = [
      await endpoint(elsewhere, EMR_SERVICE_ENDPOINT_NAME),
      await endpoint(groups[0], "someone else's"),
    ];
    const result = await applySecurityGroupsEvent(
      {
        RequestType: "Delete",
        ResourceType: "Custom::EmrSecurityGroupRules",
        PhysicalResourceId: "emr-security-group-rules",
        ResourceProperties: { ServiceToken: "arn", SecurityGroups: groups },
      } as unknown as CloudFormationCustomResourceEvent,
      polling,
    );
    expect(result.Data).toEqual({ Revoked: "8", EndpointsDeleted: "1" });
    const { VpcEndpoints = [] } = await ec2.send(
      new DescribeVpcEndpointsCommand({ VpcEndpointIds: [emrs, ...others] }),
    );
    const stateOf = (id: string) => VpcEndpoints.find((e) => e.VpcEndpointId === id)?.State;
    expect(stateOf(emrs)).toBe("deleted");
    for (const other of others) expect(stateOf(other)).toBe("available");
  });
});
