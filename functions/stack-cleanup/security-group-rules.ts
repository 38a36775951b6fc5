/**
 * The EMR-managed security groups of the daily batch's clusters, emptied of their rules on
 * stack delete. EMR adds rules to the groups the workflow names (the primary's, the core's,
 * the service access group), each referring to the others, and never removes them; EC2
 * refuses to delete a group another group's rule refers to (DependencyViolation), so the
 * stack's delete would stop at them and at the VPC behind them. Revoking every rule of the
 * three first lets CloudFormation delete them.
 */
import {
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { CustomResourceLog, CustomResourceResult } from "../shared/custom-resource.js";
import { applyCleanupEvent, readListProperty } from "./cleanup-resource.js";

/** One rule per source or destination of a permission (how EC2 counts rules). */
const rulesIn = (permissions: IpPermission[]) =>
  permissions.reduce(
    (sum, p) =>
      sum +
      (p.IpRanges?.length ?? 0) +
      (p.Ipv6Ranges?.length ?? 0) +
      (p.PrefixListIds?.length ?? 0) +
      (p.UserIdGroupPairs?.length ?? 0),
    0,
  );

/**
 * Revokes every ingress and egress rule of `groupIds`, by the rules' own properties (as
 * DescribeSecurityGroups lists them), so the only resource the calls touch is the group itself
 * (IAM: ec2:Revoke* on the security group's ARN). Returns how many rules it revoked.
 */
export async function revokeAllRules(ec2: EC2Client, groupIds: string[]): Promise<number> {
  const { SecurityGroups = [] } = await ec2.send(
    new DescribeSecurityGroupsCommand({ GroupIds: groupIds }),
  );
  let revoked = 0;
  for (const group of SecurityGroups) {
    const ingress = group.IpPermissions ?? [];
    const egress = group.IpPermissionsEgress ?? [];
    if (ingress.length > 0)
      await ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: ingress }),
      );
    if (egress.length > 0)
      await ec2.send(
        new RevokeSecurityGroupEgressCommand({ GroupId: group.GroupId, IpPermissions: egress }),
      );
    revoked += rulesIn(ingress) + rulesIn(egress);
  }
  return revoked;
}

/** `SecurityGroups` (required): the ids of the groups whose rules to revoke on Delete. */
export const readSecurityGroups = (properties: Record<string, unknown> | undefined): string[] =>
  readListProperty(properties, "SecurityGroups", /^sg-[0-9a-f]{8,17}$/, "security group ids");

/** Create and Update: check the properties; Delete: revoke every rule of the groups. */
export function applySecurityGroupsEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { ec2: EC2Client; log?: CustomResourceLog },
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "emr-security-group-rules",
    readProperties: readSecurityGroups,
    cleanup: async (groups) => {
      const revoked = await revokeAllRules(deps.ec2, groups);
      deps.log?.("security group rules revoked", { groups, revoked });
      return { Revoked: String(revoked) };
    },
  });
}
