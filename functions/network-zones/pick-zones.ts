/**
 * Two Availability Zones for the stack's subnets, chosen by zone ID. Zone names map to zone IDs
 * differently in every account, and some zone IDs lack what the stack needs: MSK places no
 * brokers in use1-az3 (nor does Fargate run tasks there), so `!GetAZs` order can land the
 * cluster in a zone it is refused in. This picks the first two available zones, by name, whose
 * IDs are not excluded, and says which it took.
 */
import { DescribeAvailabilityZonesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import {
  type CustomResourceLog,
  type CustomResourceResult,
  InvalidPropertiesError,
} from "../shared/custom-resource.js";

export interface PickedZones {
  zoneA: string;
  zoneB: string;
  zoneIds: [string, string];
}

export async function pickZones(ec2: EC2Client, excludedZoneIds: string[]): Promise<PickedZones> {
  const answer = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: "state", Values: ["available"] },
        { Name: "zone-type", Values: ["availability-zone"] },
      ],
    }),
  );
  const usable = (answer.AvailabilityZones ?? [])
    .filter((zone) => zone.ZoneName && zone.ZoneId && !excludedZoneIds.includes(zone.ZoneId))
    // Zones that need opting in (and Local Zones) are left out by the filters or here.
    .filter((zone) => zone.OptInStatus === undefined || zone.OptInStatus === "opt-in-not-required")
    .sort((a, b) => (a.ZoneName as string).localeCompare(b.ZoneName as string));
  const [a, b] = usable;
  if (!a || !b) {
    throw new Error(
      `two Availability Zones are needed, and this Region has ${usable.length} available outside ${excludedZoneIds.join(", ") || "no exclusion"}: set the AvailabilityZones parameter`,
    );
  }
  return {
    zoneA: a.ZoneName as string,
    zoneB: b.ZoneName as string,
    zoneIds: [a.ZoneId as string, b.ZoneId as string],
  };
}

/** `ExcludedZoneIds`: zone IDs not to use (may be empty). */
export function readExcludedZoneIds(properties: Record<string, unknown> | undefined): string[] {
  const excluded = properties?.ExcludedZoneIds ?? [];
  if (
    !Array.isArray(excluded) ||
    !excluded.every((id) => typeof id === "string" && /^[a-z]{2,}[0-9]?-az[0-9]+$/.test(id))
  ) {
    throw new InvalidPropertiesError(
      `property ExcludedZoneIds must list zone IDs such as use1-az3, got ${JSON.stringify(excluded)}`,
    );
  }
  return excluded as string[];
}

/** Create and Update pick (the zones of existing subnets do not change unless this does). */
export async function applyEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { ec2: EC2Client; log?: CustomResourceLog },
): Promise<CustomResourceResult> {
  if (event.RequestType === "Delete") return { PhysicalResourceId: event.PhysicalResourceId };
  const picked = await pickZones(deps.ec2, readExcludedZoneIds(event.ResourceProperties));
  deps.log?.("zones picked", { ...picked });
  return {
    // The zones are the resource: a different pick replaces it (and the subnets with it).
    PhysicalResourceId: `zones:${picked.zoneIds.join(",")}`,
    Data: { ZoneA: picked.zoneA, ZoneB: picked.zoneB, ZoneIds: picked.zoneIds.join(",") },
  };
}
