/**
 * The check of the zones or existing subnets the user names (functions/network-zones/
 * check-network.ts), with a mocked EC2 (aws-sdk-client-mock) for what moto cannot show (another
 * account's zone-name mapping, an opt-in zone); it runs on moto's EC2 in integration
 * (test/integration/network-zones.test.ts).
 */
import {
  DescribeAvailabilityZonesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  EC2ServiceException,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  applyCheckEvent,
  checkSubnets,
  checkZones,
  readNetworkToCheck,
} from "../../functions/network-zones/check-network.js";
import { resetAfterEach } from "../support/aws-mock.js";

const ec2Mock = resetAfterEach(mockClient(EC2Client));
const ec2 = new EC2Client({ region: "us-east-1" });
const EXCLUDED = ["use1-az3"];

// In this account us-east-1a is use1-az3 (names map to IDs per account).
const zone = (ZoneName: string, ZoneId: string, extra: Record<string, string> = {}) => ({
  ZoneName,
  ZoneId,
  State: "available" as const,
  ZoneType: "availability-zone",
  ...extra,
});
const ZONES = [zone("us-east-1a", "use1-az3"), zone("us-east-1b", "use1-az6")];
const ZONES_C = [zone("us-east-1c", "use1-az1"), zone("us-east-1b", "use1-az6")];

const ec2Error = (name: string, message: string) =>
  new EC2ServiceException({ name, message, $fault: "client", $metadata: {} });

describe("checkZones (AvailabilityZones, with the stack's own VPC)", () => {
  it("takes two available zones outside the excluded IDs, in the order given", async () => {
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: ZONES_C });
    expect(await checkZones(ec2, ["us-east-1b", "us-east-1c"], EXCLUDED)).toEqual({
      zoneA: "us-east-1b",
      zoneB: "us-east-1c",
      zoneIds: ["use1-az6", "use1-az1"],
    });
    expect(ec2Mock.commandCalls(DescribeAvailabilityZonesCommand)[0]?.args[0].input).toEqual({
      ZoneNames: ["us-east-1b", "us-east-1c"],
    });
  });

  it("refuses one zone, three, a blank one, or one named twice, before asking EC2", async () => {
    await expect(checkZones(ec2, ["us-east-1b"], EXCLUDED)).rejects.toThrow(
      `AvailabilityZones needs two zone names (the stack's two private subnets), got "us-east-1b"`,
    );
    await expect(checkZones(ec2, ["a", "b", "c"], EXCLUDED)).rejects.toThrow('got "a,b,c"');
    // The subnets take items 0 and 1 as given: a blank one would leave a subnet without a zone.
    await expect(checkZones(ec2, ["", "us-east-1b", "us-east-1c"], EXCLUDED)).rejects.toThrow(
      'got ",us-east-1b,us-east-1c"',
    );
    await expect(checkZones(ec2, ["us-east-1b", " "], EXCLUDED)).rejects.toThrow(
      'got "us-east-1b, "',
    );
    await expect(checkZones(ec2, ["us-east-1b", "us-east-1b"], EXCLUDED)).rejects.toThrow(
      "AvailabilityZones names us-east-1b twice",
    );
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it("refuses a zone whose ID is excluded in this account, naming both", async () => {
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: ZONES });
    await expect(checkZones(ec2, ["us-east-1a", "us-east-1b"], EXCLUDED)).rejects.toThrow(
      "AvailabilityZones: us-east-1a is use1-az3 in this account, where MSK places no brokers",
    );
  });

  it("refuses a name EC2 does not know, a Local Zone and a zone not available", async () => {
    ec2Mock
      .on(DescribeAvailabilityZonesCommand)
      .rejects(ec2Error("InvalidParameterValue", "The zone 'us-east-1q' does not exist."));
    await expect(checkZones(ec2, ["us-east-1b", "us-east-1q"], EXCLUDED)).rejects.toThrow(
      "AvailabilityZones: The zone 'us-east-1q' does not exist.",
    );
    ec2Mock.reset();
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({
      AvailabilityZones: [
        zone("us-east-1b", "use1-az6"),
        zone("us-east-1-bos-1a", "use1-bos1-az1", { ZoneType: "local-zone" }),
      ],
    });
    await expect(checkZones(ec2, ["us-east-1b", "us-east-1-bos-1a"], EXCLUDED)).rejects.toThrow(
      "us-east-1-bos-1a is a local-zone, not an Availability Zone",
    );
    ec2Mock.reset();
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({
      AvailabilityZones: [
        zone("us-east-1b", "use1-az6"),
        zone("us-east-1c", "use1-az1", { State: "impaired" }),
      ],
    });
    await expect(checkZones(ec2, ["us-east-1b", "us-east-1c"], EXCLUDED)).rejects.toThrow(
      "AvailabilityZones: us-east-1c is impaired",
    );
  });
});

const subnet = (
  SubnetId: string,
  VpcId: string,
  AvailabilityZone: string,
  AvailabilityZoneId: string,
) => ({
  SubnetId,
  VpcId,
  AvailabilityZone,
  AvailabilityZoneId,
});
const VPC = "vpc-0a1b2c3d";

describe("checkSubnets (ExistingPrivateSubnetIds, with ExistingVpcId)", () => {
  /** The zones the subnets are in, as DescribeAvailabilityZones tells them by ID. */
  const zonesById = () =>
    ec2Mock.on(DescribeAvailabilityZonesCommand).callsFake(({ ZoneIds = [] }) => ({
      AvailabilityZones: [...ZONES, ...ZONES_C].filter((z) => ZoneIds.includes(z.ZoneId)),
    }));

  it("takes subnets of the VPC whose first two are in two zones; the zones are the first two's", async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        subnet("subnet-2", VPC, "us-east-1c", "use1-az1"),
        subnet("subnet-1", VPC, "us-east-1b", "use1-az6"),
        subnet("subnet-3", VPC, "us-east-1b", "use1-az6"),
      ],
    });
    zonesById();
    expect(await checkSubnets(ec2, VPC, ["subnet-1", "subnet-2", "subnet-3"], EXCLUDED)).toEqual({
      zoneA: "us-east-1b",
      zoneB: "us-east-1c",
      zoneIds: ["use1-az6", "use1-az1"],
    });
  });

  it("refuses one subnet, or one named twice, before asking EC2", async () => {
    await expect(checkSubnets(ec2, VPC, ["subnet-1"], EXCLUDED)).rejects.toThrow(
      `ExistingPrivateSubnetIds needs two private subnets of ${VPC} in different Availability Zones, got "subnet-1"`,
    );
    await expect(checkSubnets(ec2, VPC, ["subnet-1", "subnet-1"], EXCLUDED)).rejects.toThrow(
      "ExistingPrivateSubnetIds names subnet-1 twice",
    );
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it("refuses another VPC's subnet, an unknown one, two first ones in one zone, one in use1-az3", async () => {
    const cases: [ReturnType<typeof subnet>[], string][] = [
      [
        [
          subnet("subnet-1", VPC, "us-east-1b", "use1-az6"),
          subnet("subnet-2", "vpc-other", "us-east-1c", "use1-az1"),
        ],
        `ExistingPrivateSubnetIds: subnet-2 is in vpc-other, not in ExistingVpcId ${VPC}`,
      ],
      [
        [subnet("subnet-1", VPC, "us-east-1b", "use1-az6")],
        "ExistingPrivateSubnetIds: subnet-2 was not found",
      ],
      [
        [
          subnet("subnet-1", VPC, "us-east-1b", "use1-az6"),
          subnet("subnet-2", VPC, "us-east-1b", "use1-az6"),
        ],
        "the first two, subnet-1 and subnet-2, are both in us-east-1b; MSK's two brokers need subnets in two zones",
      ],
      [
        [
          subnet("subnet-1", VPC, "us-east-1b", "use1-az6"),
          subnet("subnet-2", VPC, "us-east-1a", "use1-az3"),
        ],
        "ExistingPrivateSubnetIds: subnet-2 is in use1-az3, where MSK places no brokers and Fargate runs no tasks",
      ],
    ];
    for (const [Subnets, message] of cases) {
      ec2Mock.reset();
      ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets });
      zonesById();
      await expect(
        checkSubnets(ec2, VPC, ["subnet-1", "subnet-2"], EXCLUDED),
        message,
      ).rejects.toThrow(message);
    }
    ec2Mock.reset();
    ec2Mock
      .on(DescribeSubnetsCommand)
      .rejects(ec2Error("InvalidSubnetID.NotFound", "The subnet ID 'subnet-9' does not exist"));
    await expect(checkSubnets(ec2, VPC, ["subnet-1", "subnet-9"], EXCLUDED)).rejects.toThrow(
      "ExistingPrivateSubnetIds (subnet-1, subnet-9) are not all subnets of this account and Region: The subnet ID 'subnet-9' does not exist",
    );
  });

  it("refuses a subnet in a Local Zone, which takes no broker and no Fargate task", async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        subnet("subnet-1", VPC, "us-east-1b", "use1-az6"),
        subnet("subnet-2", VPC, "us-east-1-bos-1a", "use1-bos1-az1"),
      ],
    });
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({
      AvailabilityZones: [
        zone("us-east-1b", "use1-az6"),
        zone("us-east-1-bos-1a", "use1-bos1-az1", { ZoneType: "local-zone" }),
      ],
    });
    await expect(checkSubnets(ec2, VPC, ["subnet-1", "subnet-2"], EXCLUDED)).rejects.toThrow(
      "ExistingPrivateSubnetIds: subnet-2 is in us-east-1-bos-1a, a local-zone, not an Availability Zone",
    );
    expect(ec2Mock.commandCalls(DescribeAvailabilityZonesCommand)[0]?.args[0].input).toEqual({
      ZoneIds: ["use1-az6", "use1-bos1-az1"],
      AllAvailabilityZones: true,
    });
  });

  it("passes on an error that is not about the subnets (the function's own permissions, say)", async () => {
    ec2Mock.on(DescribeSubnetsCommand).rejects(ec2Error("UnauthorizedOperation", "not allowed"));
    await expect(checkSubnets(ec2, VPC, ["subnet-1", "subnet-2"], EXCLUDED)).rejects.toThrow(
      /^not allowed$/,
    );
  });
});

describe("the NetworkCheck resource", () => {
  const event = (
    RequestType: "Create" | "Update" | "Delete",
    properties: Record<string, unknown>,
  ) =>
    ({
      RequestType,
      ResourceType: "Custom::NetworkCheck",
      StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
      ...(RequestType === "Create" ? {} : { PhysicalResourceId: "network-checked" }),
      ResourceProperties: { ServiceToken: "arn", ExcludedZoneIds: EXCLUDED, ...properties },
    }) as unknown as CloudFormationCustomResourceEvent;

  it("reads zones, or a VPC with subnets, and nothing else", () => {
    expect(
      readNetworkToCheck({ ExcludedZoneIds: EXCLUDED, AvailabilityZones: ["a", "b"] }),
    ).toEqual({
      excluded: EXCLUDED,
      zones: ["a", "b"],
    });
    expect(readNetworkToCheck({ ExistingVpcId: VPC, ExistingSubnetIds: ["subnet-1"] })).toEqual({
      excluded: [],
      vpcId: VPC,
      subnetIds: ["subnet-1"],
    });
    for (const bad of [
      {},
      { AvailabilityZones: ["a"], ExistingVpcId: VPC, ExistingSubnetIds: [] },
      { ExistingVpcId: VPC },
      { AvailabilityZones: "a,b" },
    ])
      expect(() => readNetworkToCheck(bad), JSON.stringify(bad)).toThrow(/propert/);
  });

  it("checks on Create and Update, answering the zones; Delete has nothing to undo", async () => {
    ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: ZONES_C });
    const zones = { AvailabilityZones: ["us-east-1b", "us-east-1c"] };
    const answer = {
      PhysicalResourceId: "network-checked",
      Data: { ZoneA: "us-east-1b", ZoneB: "us-east-1c", ZoneIds: "use1-az6,use1-az1" },
    };
    expect(await applyCheckEvent(event("Create", zones), { ec2 })).toEqual(answer);
    expect(await applyCheckEvent(event("Update", zones), { ec2 })).toEqual(answer);
    await expect(
      applyCheckEvent(event("Update", { AvailabilityZones: ["us-east-1b"] }), { ec2 }),
    ).rejects.toThrow(`got "us-east-1b"`);
    ec2Mock.reset();
    expect(await applyCheckEvent(event("Delete", { AvailabilityZones: ["x"] }), { ec2 })).toEqual({
      PhysicalResourceId: "network-checked",
    });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
