/**
 * The EMR service endpoint's deletion on stack delete (functions/stack-cleanup/
 * security-group-rules.ts), on its error paths with a mocked EC2 (aws-sdk-client-mock): a
 * refusal and an endpoint that outlasts the wait fail the delete saying what to do. The path
 * that works runs on moto (test/integration/emr-security-groups.test.ts).
 */
import {
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  type VpcEndpoint,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { deleteEmrServiceEndpoints } from "../../functions/stack-cleanup/security-group-rules.js";
import { resetAfterEach } from "../support/aws-mock.js";
import { sleepClock } from "../support/sleep-clock.js";

const ec2Mock = resetAfterEach(mockClient(EC2Client));
const ec2 = new EC2Client({ region: "us-east-1" });
const GROUPS = ["sg-0123456789abcdef0"];

const endpoint = (id: string, state: string, group = GROUPS[0]): VpcEndpoint => ({
  VpcEndpointId: id,
  State: state as VpcEndpoint["State"],
  Groups: [{ GroupId: group }],
  Tags: [{ Key: "Name", Value: "emr-service-vpce" }],
});

describe("EMR's service endpoint on stack delete", () => {
  it("asks EC2 only for the endpoints named as EMR names its own, and leaves other groups' alone", async () => {
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolves({ VpcEndpoints: [endpoint("vpce-other", "available", "sg-0fedcba987654321f")] });
    expect(
      await deleteEmrServiceEndpoints(GROUPS, { ec2, pollMs: 1, deadline: 10, ...sleepClock() }),
    ).toEqual([]);
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: "tag:Name", Values: ["emr-service-vpce"] },
    ]);
    expect(ec2Mock.commandCalls(DeleteVpcEndpointsCommand)).toHaveLength(0);
  });

  it("fails saying which endpoint EC2 refused to delete and what to do", async () => {
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [endpoint("vpce-emr", "available")],
    });
    ec2Mock.on(DeleteVpcEndpointsCommand).resolves({
      Unsuccessful: [
        {
          ResourceId: "vpce-emr",
          Error: { Code: "UnauthorizedOperation", Message: "not allowed" },
        },
      ],
    });
    await expect(
      deleteEmrServiceEndpoints(GROUPS, { ec2, pollMs: 1, deadline: 10, ...sleepClock() }),
    ).rejects.toThrow(
      /vpce-emr: UnauthorizedOperation not allowed; delete them by hand, then delete the stack again/,
    );
  });

  it("waits while the endpoint is being deleted, and fails past the deadline naming it", async () => {
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolvesOnce({ VpcEndpoints: [endpoint("vpce-emr", "available")] })
      .resolves({ VpcEndpoints: [endpoint("vpce-emr", "deleting")] });
    ec2Mock.on(DeleteVpcEndpointsCommand).resolves({ Unsuccessful: [] });
    const clock = sleepClock();
    await expect(
      deleteEmrServiceEndpoints(GROUPS, { ec2, pollMs: 15_000, deadline: 60_000, ...clock }),
    ).rejects.toThrow(
      /EMR's service endpoints still there: vpce-emr \(deleting\); once they are gone/,
    );
    expect(clock.sleeps).toEqual([15_000, 15_000, 15_000, 15_000]);
  });

  it("only waits for an endpoint an earlier delete of the stack left being deleted", async () => {
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolvesOnce({ VpcEndpoints: [endpoint("vpce-emr", "deleting")] })
      .resolves({ VpcEndpoints: [] });
    const clock = sleepClock();
    expect(
      await deleteEmrServiceEndpoints(GROUPS, { ec2, pollMs: 15_000, deadline: 600_000, ...clock }),
    ).toEqual(["vpce-emr"]);
    expect(ec2Mock.commandCalls(DeleteVpcEndpointsCommand)).toHaveLength(0);
  });

  it("goes on once the endpoint reads as deleted", async () => {
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolvesOnce({ VpcEndpoints: [endpoint("vpce-emr", "available")] })
      .resolvesOnce({ VpcEndpoints: [endpoint("vpce-emr", "deleting")] })
      .resolves({ VpcEndpoints: [endpoint("vpce-emr", "deleted")] });
    ec2Mock.on(DeleteVpcEndpointsCommand).resolves({ Unsuccessful: [] });
    const clock = sleepClock();
    expect(
      await deleteEmrServiceEndpoints(GROUPS, {
        ec2,
        pollMs: 15_000,
        deadline: 600_000,
        ...clock,
      }),
    ).toEqual(["vpce-emr"]);
    expect(ec2Mock.commandCalls(DeleteVpcEndpointsCommand)[0]?.args[0].input).toEqual({
      VpcEndpointIds: ["vpce-emr"],
    });
    expect(clock.sleeps).toEqual([15_000]);
  });
});
