/**
 * The network the user names, checked before anything is built on it. CloudFormation's Rules
 * cannot count a list, so one zone in AvailabilityZones, or one subnet (or another VPC's, or two
 * in one zone) in ExistingPrivateSubnetIds, passes them and fails minutes into a deploy, at a
 * subnet or at the MSK cluster, with EC2's or MSK's words. This answers in seconds, naming the
 * parameter. What it holds the values to: MSK's client subnets "must be in distinct Availability
 * Zones" and "can't occupy the Availability Zone with ID use1-az3" (CloudFormation Template
 * Reference, AWS::MSK::Cluster BrokerNodeGroupInfo, ClientSubnets); Fargate runs no task there
 * either; and the stack uses the first two subnets (or zones) for the brokers.
 */
import {
  type AvailabilityZone,
  DescribeAvailabilityZonesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type Subnet,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import {
  type CustomResourceLog,
  type CustomResourceResult,
  InvalidPropertiesError,
} from "../shared/custom-resource.js";
import { readExcludedZoneIds } from "./pick-zones.js";

/** A network the stack cannot be built on; the message says which parameter and why. */
export class NetworkParameterError extends Error {
  override name = "NetworkParameterError";
}

/** The two zones of the brokers, as the check found them. */
export interface CheckedZones {
  zoneA: string;
  zoneB: string;
  zoneIds: [string, string];
}

function twice(values: string[]): string | undefined {
  return values.find((value, index) => values.indexOf(value) !== index);
}

/** AvailabilityZones, with the stack making its own VPC: two zones it may build in. */
export async function checkZones(
  ec2: Pick<EC2Client, "send">,
  zoneNames: string[],
  excludedZoneIds: string[],
): Promise<CheckedZones> {
  // Checked as given: the subnets take items 0 and 1 of the list as they are, so a blank item
  // (",us-east-1a,us-east-1b") would give a subnet no zone, whatever the others hold.
  const names = zoneNames;
  const repeated = twice(names);
  if (repeated)
    throw new NetworkParameterError(`AvailabilityZones names ${repeated} twice: give two zones`);
  if (names.length !== 2 || names.some((name) => name.trim() === ""))
    throw new NetworkParameterError(
      `AvailabilityZones needs two zone names (the stack's two private subnets), got ${JSON.stringify(names.join(","))}; or leave it empty for the stack to pick`,
    );
  let zones: AvailabilityZone[];
  try {
    ({ AvailabilityZones: zones = [] } = await ec2.send(
      new DescribeAvailabilityZonesCommand({ ZoneNames: names }),
    ));
  } catch (error) {
    if ((error as { name?: string }).name === "InvalidParameterValue")
      throw new NetworkParameterError(`AvailabilityZones: ${(error as Error).message}`);
    throw error;
  }
  const [a, b] = names.map((name): [string, string] => {
    const zone = zones.find((candidate) => candidate.ZoneName === name);
    if (!zone?.ZoneId)
      throw new NetworkParameterError(`AvailabilityZones: ${name} is not a zone of this Region`);
    if (zone.ZoneType !== undefined && zone.ZoneType !== "availability-zone")
      throw new NetworkParameterError(
        `AvailabilityZones: ${name} is a ${zone.ZoneType}, not an Availability Zone`,
      );
    if (zone.State !== undefined && zone.State !== "available")
      throw new NetworkParameterError(`AvailabilityZones: ${name} is ${zone.State}`);
    if (excludedZoneIds.includes(zone.ZoneId))
      throw new NetworkParameterError(
        `AvailabilityZones: ${name} is ${zone.ZoneId} in this account, where MSK places no brokers and Fargate runs no tasks; name another zone`,
      );
    return [name, zone.ZoneId];
  }) as [[string, string], [string, string]];
  return { zoneA: a[0], zoneB: b[0], zoneIds: [a[1], b[1]] };
}

/**
 * ExistingPrivateSubnetIds, with ExistingVpcId: subnets of that VPC, the first two (the
 * brokers') in two zones, none in an excluded zone (the tasks and the topics Lambda use them all).
 */
export async function checkSubnets(
  ec2: Pick<EC2Client, "send">,
  vpcId: string,
  subnetIds: string[],
  excludedZoneIds: string[],
): Promise<CheckedZones> {
  const ids = subnetIds;
  const repeated = twice(ids);
  if (repeated) throw new NetworkParameterError(`ExistingPrivateSubnetIds names ${repeated} twice`);
  if (ids.length < 2 || ids.some((id) => id.trim() === ""))
    throw new NetworkParameterError(
      `ExistingPrivateSubnetIds needs two private subnets of ${vpcId} in different Availability Zones, got ${JSON.stringify(ids.join(","))}`,
    );
  let subnets: Subnet[];
  try {
    ({ Subnets: subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids })));
  } catch (error) {
    const name = (error as { name?: string }).name ?? "";
    if (name.startsWith("InvalidSubnetID"))
      throw new NetworkParameterError(
        `ExistingPrivateSubnetIds (${ids.join(", ")}) are not all subnets of this account and Region: ${(error as Error).message}`,
      );
    throw error;
  }
  const found = ids.map((id) => {
    const subnet = subnets.find((candidate) => candidate.SubnetId === id);
    if (!subnet) throw new NetworkParameterError(`ExistingPrivateSubnetIds: ${id} was not found`);
    if (subnet.VpcId !== vpcId)
      throw new NetworkParameterError(
        `ExistingPrivateSubnetIds: ${id} is in ${subnet.VpcId}, not in ExistingVpcId ${vpcId}`,
      );
    if (subnet.AvailabilityZoneId && excludedZoneIds.includes(subnet.AvailabilityZoneId))
      throw new NetworkParameterError(
        `ExistingPrivateSubnetIds: ${id} is in ${subnet.AvailabilityZoneId}, where MSK places no brokers and Fargate runs no tasks; give subnets of other zones`,
      );
    return subnet;
  });
  // A subnet in a Local Zone (or a Wavelength Zone) takes no broker and no Fargate task.
  const zoneIds = [...new Set(found.map((subnet) => subnet.AvailabilityZoneId ?? ""))].filter(
    Boolean,
  );
  if (zoneIds.length > 0) {
    const { AvailabilityZones: zones = [] } = await ec2.send(
      new DescribeAvailabilityZonesCommand({ ZoneIds: zoneIds, AllAvailabilityZones: true }),
    );
    for (const subnet of found) {
      const zone = zones.find((candidate) => candidate.ZoneId === subnet.AvailabilityZoneId);
      if (zone?.ZoneType !== undefined && zone.ZoneType !== "availability-zone")
        throw new NetworkParameterError(
          `ExistingPrivateSubnetIds: ${subnet.SubnetId} is in ${zone.ZoneName}, a ${zone.ZoneType}, not an Availability Zone`,
        );
    }
  }
  const [a, b] = found as [Subnet, Subnet];
  if (a.AvailabilityZone === b.AvailabilityZone)
    throw new NetworkParameterError(
      `ExistingPrivateSubnetIds: the first two, ${a.SubnetId} and ${b.SubnetId}, are both in ${a.AvailabilityZone}; MSK's two brokers need subnets in two zones`,
    );
  return {
    zoneA: a.AvailabilityZone as string,
    zoneB: b.AvailabilityZone as string,
    zoneIds: [a.AvailabilityZoneId ?? "", b.AvailabilityZoneId ?? ""],
  };
}

/**
 * The properties: `ExcludedZoneIds`, and `AvailabilityZones`, or `ExistingVpcId` with
 * `ExistingSubnetIds`.
 */
export type NetworkToCheck =
  | { excluded: string[]; zones: string[] }
  | { excluded: string[]; vpcId: string; subnetIds: string[] };

const stringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

export function readNetworkToCheck(
  properties: Record<string, unknown> | undefined,
): NetworkToCheck {
  const excluded = readExcludedZoneIds(properties);
  const zones = properties?.AvailabilityZones;
  const vpcId = properties?.ExistingVpcId;
  const subnetIds = properties?.ExistingSubnetIds;
  if (zones !== undefined && vpcId === undefined && subnetIds === undefined) {
    if (!stringList(zones))
      throw new InvalidPropertiesError(
        `property AvailabilityZones must list zone names, got ${JSON.stringify(zones)}`,
      );
    return { excluded, zones };
  }
  if (zones === undefined && typeof vpcId === "string" && stringList(subnetIds))
    return { excluded, vpcId, subnetIds };
  throw new InvalidPropertiesError(
    `properties must be AvailabilityZones, or ExistingVpcId with ExistingSubnetIds; got ${JSON.stringify({ AvailabilityZones: zones, ExistingVpcId: vpcId, ExistingSubnetIds: subnetIds })}`,
  );
}

/** Create and Update check; Delete has nothing to undo. */
export async function applyCheckEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { ec2: Pick<EC2Client, "send">; log?: CustomResourceLog },
): Promise<CustomResourceResult> {
  if (event.RequestType === "Delete") return { PhysicalResourceId: event.PhysicalResourceId };
  const network = readNetworkToCheck(event.ResourceProperties);
  const checked =
    "zones" in network
      ? await checkZones(deps.ec2, network.zones, network.excluded)
      : await checkSubnets(deps.ec2, network.vpcId, network.subnetIds, network.excluded);
  deps.log?.("network checked", { ...checked });
  return {
    PhysicalResourceId:
      event.RequestType === "Create" ? "network-checked" : event.PhysicalResourceId,
    Data: { ZoneA: checked.zoneA, ZoneB: checked.zoneB, ZoneIds: checked.zoneIds.join(",") },
  };
}
