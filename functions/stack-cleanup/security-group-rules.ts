/**
 * The EMR-managed security groups of the daily batch's clusters, made deletable on stack delete.
 * - EMR adds rules to the groups the workflow names (the primary's, the core's, the service
 *   access group), each referring to the others, and never removes them; EC2 refuses to delete a
 *   group another group's rule refers to (DependencyViolation), so the stack's delete would stop
 *   at them and at the VPC behind them. Every rule of the three is revoked.
 * - From release 7.5.0, AmazonEMRServicePolicy_v2 lets EMR create an interface endpoint to its
 *   service, tagged `Name=emr-service-vpce`, in subnets and groups tagged
 *   `for-use-with-amazon-emr-managed-policies=true` (EMR Management Guide, "Service role for
 *   Amazon EMR": its CreateEmrServiceVPCEndpoint statement), which the stack's are; the policy
 *   grants no DeleteVpcEndpoints, so EMR never removes it, and its network interfaces would hold
 *   the groups and the subnets. Such an endpoint in one of the groups is deleted first, and
 *   waited for until it is gone.
 */
import {
  DeleteVpcEndpointsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type VpcEndpoint,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { CustomResourceResult } from "../shared/custom-resource.js";
import {
  applyCleanupEvent,
  type PollingDeps,
  pollUntilGone,
  readSecurityGroupIds,
} from "./cleanup-resource.js";

/** The Name tag EMR's service role may give the endpoint it creates, and no other. */
export const EMR_SERVICE_ENDPOINT_NAME = "emr-service-vpce";

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
export async function revokeAllRules(
  ec2: Pick<EC2Client, "send">,
  groupIds: string[],
): Promise<number> {
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

/**
 * EMR's service endpoints (tagged `Name=emr-service-vpce`) with a network interface in any of
 * `groupIds`, page after page, but those already deleted. Another such endpoint of the VPC (the
 * user's own clusters', in an existing VPC) is not the stack's to delete.
 */
export async function emrServiceEndpointsIn(
  ec2: Pick<EC2Client, "send">,
  groupIds: string[],
): Promise<VpcEndpoint[]> {
  const found: VpcEndpoint[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [{ Name: "tag:Name", Values: [EMR_SERVICE_ENDPOINT_NAME] }],
        NextToken,
      }),
    );
    found.push(
      ...(page.VpcEndpoints ?? []).filter(
        (endpoint) =>
          endpoint.State?.toLowerCase() !== "deleted" &&
          (endpoint.Groups ?? []).some((group) => groupIds.includes(group.GroupId ?? "")),
      ),
    );
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** `pollMs` between looks while an endpoint is being deleted, `deadline` for it to be gone. */
export interface EmrSecurityGroupsDeps extends PollingDeps {
  ec2: Pick<EC2Client, "send">;
}

/**
 * Deletes EMR's service endpoints in `groupIds` and waits until they are gone (their network
 * interfaces go with them). Returns the ids it deleted.
 */
export async function deleteEmrServiceEndpoints(
  groupIds: string[],
  deps: EmrSecurityGroupsDeps,
): Promise<string[]> {
  const endpoints = await emrServiceEndpointsIn(deps.ec2, groupIds);
  const ids = endpoints.flatMap((endpoint) => endpoint.VpcEndpointId ?? []);
  if (ids.length === 0) return [];
  // One already being deleted (an earlier delete of the stack that ran out of time) is only
  // waited for.
  const toDelete = endpoints
    .filter((endpoint) => endpoint.State?.toLowerCase() !== "deleting")
    .flatMap((endpoint) => endpoint.VpcEndpointId ?? []);
  const { Unsuccessful = [] } =
    toDelete.length > 0
      ? await deps.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: toDelete }))
      : {};
  const refused = Unsuccessful.filter((item) => item.Error?.Code !== "InvalidVpcEndpoint.NotFound");
  if (refused.length > 0)
    throw new Error(
      `EMR's service endpoints could not be deleted: ${refused.map((item) => `${item.ResourceId}: ${item.Error?.Code} ${item.Error?.Message ?? ""}`.trim()).join("; ")}; delete them by hand, then delete the stack again`,
    );
  deps.log?.("deleting EMR's service endpoints", { groups: groupIds, endpoints: ids });
  await pollUntilGone(
    deps,
    async () => {
      const left = (await emrServiceEndpointsIn(deps.ec2, groupIds)).filter((endpoint) =>
        ids.includes(endpoint.VpcEndpointId ?? ""),
      );
      return left.length > 0 ? left : undefined;
    },
    {
      tooLate: (left) =>
        new Error(
          `EMR's service endpoints still there: ${left.map((e) => `${e.VpcEndpointId} (${e.State})`).join(", ")}; once they are gone, delete the stack again`,
        ),
    },
  );
  return ids;
}

/**
 * Create and Update: check the properties; Delete: delete EMR's service endpoints in the groups,
 * then revoke every rule of the groups.
 */
export function applySecurityGroupsEvent(
  event: CloudFormationCustomResourceEvent,
  deps: EmrSecurityGroupsDeps,
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "emr-security-group-rules",
    readProperties: readSecurityGroupIds,
    cleanup: async (groups) => {
      const endpoints = await deleteEmrServiceEndpoints(groups, deps);
      const revoked = await revokeAllRules(deps.ec2, groups);
      deps.log?.("security group rules revoked", { groups, revoked, endpoints });
      return { Revoked: String(revoked), EndpointsDeleted: String(endpoints.length) };
    },
  });
}
