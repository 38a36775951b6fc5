import { DescribeAvailabilityZonesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { pickZones, readExcludedZoneIds } from "../../functions/network-zones/pick-zones.js";
import { resetAfterEach } from "../support/aws-mock.js";

const ec2 = resetAfterEach(mockClient(EC2Client));

// Zone names map to zone IDs differently per account: here us-east-1a is use1-az3.
const zones = [
  { ZoneName: "us-east-1a", ZoneId: "use1-az3", OptInStatus: "opt-in-not-required" as const },
  { ZoneName: "us-east-1c", ZoneId: "use1-az1", OptInStatus: "opt-in-not-required" as const },
  { ZoneName: "us-east-1b", ZoneId: "use1-az6", OptInStatus: "opt-in-not-required" as const },
];

describe("picking the stack's zones by zone ID", () => {
  it("skips an excluded zone ID whatever its name, and takes the first two by name", async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: zones });
    expect(await pickZones(new EC2Client({}), ["use1-az3"])).toEqual({
      zoneA: "us-east-1b",
      zoneB: "us-east-1c",
      zoneIds: ["use1-az6", "use1-az1"],
    });
  });

  it("says to set the parameter when fewer than two zones are left", async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: zones.slice(0, 2) });
    await expect(pickZones(new EC2Client({}), ["use1-az3"])).rejects.toThrow(
      /two Availability Zones are needed, and this Region has 1 available outside use1-az3: set the AvailabilityZones parameter/,
    );
  });

  it("reads the excluded zone IDs, refusing names", () => {
    expect(readExcludedZoneIds({ ExcludedZoneIds: ["use1-az3"] })).toEqual(["use1-az3"]);
    expect(readExcludedZoneIds({})).toEqual([]);
    expect(() => readExcludedZoneIds({ ExcludedZoneIds: ["us-east-1a"] })).toThrow(
      /must list zone IDs/,
    );
  });
});
