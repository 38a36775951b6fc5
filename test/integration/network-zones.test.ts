/** Picking the stack's zones by zone ID, on moto's EC2 (its zones carry real zone IDs). */

import { readFileSync } from "node:fs";
import { DescribeAvailabilityZonesCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, inject, it } from "vitest";
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
