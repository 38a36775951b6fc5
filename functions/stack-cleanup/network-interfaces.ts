/**
 * The MSK event source's network interfaces, waited for on stack delete. The event source
 * places interfaces of its own in the cluster's subnets with the brokers' security group
 * (Lambda Developer Guide, "Creating a Lambda event source mapping for an Amazon MSK event
 * source"), and Lambda removes them some time after the mapping is deleted. CloudFormation
 * waits for a VPC function's interfaces, but no document says it waits for an event source's:
 * deleting the group or the subnets while one is left fails with DependencyViolation. This
 * resource names the group and the subnets, so it is deleted before them, and the function and
 * the cluster depend on it, so it is deleted after them; its Delete waits until the group has
 * no interface left.
 */
import {
  DescribeNetworkInterfacesCommand,
  type EC2Client,
  type NetworkInterface,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { CustomResourceResult } from "../shared/custom-resource.js";
import {
  applyCleanupEvent,
  type PollingDeps,
  pollUntilGone,
  readSecurityGroupIds,
} from "./cleanup-resource.js";

/** `pollMs` between looks while interfaces are left, `deadline` for them to be gone. */
export interface NetworkInterfacesDeps extends PollingDeps {
  ec2: Pick<EC2Client, "send">;
}

/** Every network interface in any of `groupIds`, page after page. */
export async function interfacesInGroups(
  ec2: Pick<EC2Client, "send">,
  groupIds: string[],
): Promise<NetworkInterface[]> {
  const found: NetworkInterface[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: "group-id", Values: groupIds }],
        NextToken,
      }),
    );
    found.push(...(page.NetworkInterfaces ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

const describe = (eni: NetworkInterface) =>
  `${eni.NetworkInterfaceId} (${eni.InterfaceType ?? "interface"}, ${eni.Status ?? "?"}${eni.Description ? `, ${eni.Description}` : ""})`;

/** Waits until no network interface is left in `groupIds`; returns how many looks it took. */
export function awaitNoInterfaces(
  groupIds: string[],
  deps: NetworkInterfacesDeps,
): Promise<number> {
  return pollUntilGone(
    deps,
    async () => {
      const left = await interfacesInGroups(deps.ec2, groupIds);
      return left.length > 0 ? left : undefined;
    },
    {
      waiting: (left) =>
        deps.log?.("waiting for network interfaces to go", {
          groups: groupIds,
          interfaces: left.map((eni) => eni.NetworkInterfaceId),
        }),
      tooLate: (left) =>
        new Error(
          `network interfaces still in ${groupIds.join(", ")}: ${left.map(describe).join("; ")}; once Lambda has removed them, delete the stack again`,
        ),
    },
  );
}

/** Create and Update: check the properties; Delete: wait until the groups hold no interface. */
export function applyNetworkInterfacesEvent(
  event: CloudFormationCustomResourceEvent,
  deps: NetworkInterfacesDeps,
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "kafka-network-interfaces-gone",
    readProperties: readSecurityGroupIds,
    cleanup: async (groups) => {
      const looks = await awaitNoInterfaces(groups, deps);
      deps.log?.("no network interface left", { groups, looks });
      return { Looks: String(looks) };
    },
  });
}
