/**
 * Picking the stack's zones by zone ID, and checking the zones or subnets the user names, on
 * moto's EC2 (its zones carry real zone IDs, use1-az3 among them).
 */

import { readFileSync } from "node:fs";
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAvailabilityZonesCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, inject, it } from "vitest";
import { applyCheckEvent } from "../../functions/network-zones/check-network.js";
import { applyEvent } from "../../functions/network-zones/pick-zones.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";

const stack = inject("stack");
const ec2 = new EC2Client(awsClientConfig({ endpoint: stack.awsEndpoint, region: "us-east-1" }));
afterAll(() => ec2.destroy());

describe("the NetworkZones custom resource on moto", () => {
  it("answers the Create request of events/ with two zones, none of them use1-az3", async () => {
    const event = JSON.parse(
      readFileSync(new URL("../../events/network-zones-create.json", import.meta.url), "utf8"),
    ) as CloudFormationCustomResourceEvent;
    const result = await applyEvent(event, { ec2 });
    const { AvailabilityZones = [] } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    const idOf = new Map(AvailabilityZones.map((zone) => [zone.ZoneName, zone.ZoneId]));
    const picked = [result.Data?.ZoneA, result.Data?.ZoneB] as string[];
    expect(new Set(picked).size).toBe(2);
    for (const zone of picked) {
      expect(idOf.has(zone), zone).toBe(true);
      expect(idOf.get(zone), zone).not.toBe("use1-az3");
    }
    expect(result.PhysicalResourceId).toBe(`zones:${picked.map((z) => idOf.get(z)).join(",")}`);
    // moto's us-east-1 has use1-az3, so the exclusion was exercised, not vacuous.
    expect([...idOf.values()]).toContain("use1-az3");
  });
});

describe("the NetworkCheck custom resource on moto", () => {
  const check = (properties: Record<string, unknown>) =>
    applyCheckEvent(
      {
        RequestType: "Create",
        ResourceType: "Custom::NetworkCheck",
        StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
        ResourceProperties: { ServiceToken: "arn", ExcludedZoneIds: ["use1-az3"], ...properties },
      } as unknown as CloudFormationCustomResourceEvent,
      { ec2 },
    );

  it("takes two usable zones and refuses one, a zone of use1-az3, and an unknown name", async () => {
    const { AvailabilityZones = [] } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    const usable = AvailabilityZones.filter((zone) => zone.ZoneId !== "use1-az3");
    const excluded = AvailabilityZones.find((zone) => zone.ZoneId === "use1-az3");
    const [a, b] = usable.map((zone) => zone.ZoneName as string);
    expect((await check({ AvailabilityZones: [a, b] })).Data).toMatchObject({ ZoneA: a, ZoneB: b });
    await expect(check({ AvailabilityZones: [a] })).rejects.toThrow(`got "${a}"`);
    await expect(check({ AvailabilityZones: [a, excluded?.ZoneName] })).rejects.toThrow(
      `${excluded?.ZoneName} is use1-az3 in this account`,
    );
    await expect(check({ AvailabilityZones: [a, "us-east-1q"] })).rejects.toThrow(
      /^AvailabilityZones: .*us-east-1q/,
    );
  });

  it("takes two subnets of the VPC in two zones and refuses what MSK would refuse later", async () => {
    const { AvailabilityZones = [] } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
    const usable = AvailabilityZones.filter((zone) => zone.ZoneId !== "use1-az3");
    const excluded = AvailabilityZones.find((zone) => zone.ZoneId === "use1-az3");
    const vpcOf = async (cidr: string) =>
      (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc?.VpcId as string;
    const vpc = await vpcOf("10.77.0.0/16");
    const other = await vpcOf("10.78.0.0/16");
    const subnetIn = async (vpcId: string, cidr: string, zone: string | undefined) =>
      (
        await ec2.send(
          new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
        )
      ).Subnet?.SubnetId as string;
    const a = await subnetIn(vpc, "10.77.1.0/24", usable[0]?.ZoneName);
    const b = await subnetIn(vpc, "10.77.2.0/24", usable[1]?.ZoneName);
    const sameZoneAsA = await subnetIn(vpc, "10.77.3.0/24", usable[0]?.ZoneName);
    const inExcluded = await subnetIn(vpc, "10.77.4.0/24", excluded?.ZoneName);
    const elsewhere = await subnetIn(other, "10.78.1.0/24", usable[1]?.ZoneName);

    const subnets = (...ids: string[]) => ({ ExistingVpcId: vpc, ExistingSubnetIds: ids });
    expect((await check(subnets(a, b, sameZoneAsA))).Data).toMatchObject({
      ZoneA: usable[0]?.ZoneName,
      ZoneB: usable[1]?.ZoneName,
    });
    await expect(check(subnets(a))).rejects.toThrow(`got "${a}"`);
    await expect(check(subnets(a, sameZoneAsA))).rejects.toThrow("are both in");
    await expect(check(subnets(a, inExcluded))).rejects.toThrow(`${inExcluded} is in use1-az3`);
    await expect(check(subnets(a, elsewhere))).rejects.toThrow(`${elsewhere} is in ${other}`);
    await expect(check(subnets(a, "subnet-0123456789abcdef0"))).rejects.toThrow(
      /^ExistingPrivateSubnetIds \(.*subnet-0123456789abcdef0\) are not all subnets of this account/,
    );
  });
});
