/**
 * The wait for the MSK event source's network interfaces on stack delete
 * (functions/stack-cleanup/network-interfaces.ts), on moto's EC2: it ends when the brokers'
 * group holds no interface, and fails naming those left past its deadline.
 */
import {
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
} from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { applyNetworkInterfacesEvent } from "../../functions/stack-cleanup/network-interfaces.js";
import { sleepClock } from "../support/sleep-clock.js";
import { newSecurityGroup, stackEc2 } from "../support/stack-clients.js";

const ec2 = stackEc2();
afterAll(() => ec2.destroy());

/** A group with one interface in it (as the event source leaves), and another group's. */
async function groupWithInterface(): Promise<{ group: string; eni: string; other: string }> {
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.43.0.0/16" }));
  const { Subnet } = await ec2.send(
    new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: "10.43.1.0/24" }),
  );
  const group = (name: string) => newSecurityGroup(ec2, Vpc?.VpcId, name);
  const [brokers, others] = [await group("brokers"), await group("others")];
  const eni = async (groupId: string) =>
    (
      await ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: Subnet?.SubnetId,
          Groups: [groupId],
          Description: "AWS Lambda VPC ENI-test",
        }),
      )
    ).NetworkInterface?.NetworkInterfaceId as string;
  const mine = await eni(brokers);
  await eni(others); // another group's interface is none of this wait's business
  return { group: brokers, eni: mine, other: others };
}

const deleteEvent = (group: string) =>
  ({
    RequestType: "Delete",
    ResourceType: "Custom::KafkaNetworkInterfacesGone",
    PhysicalResourceId: "kafka-network-interfaces-gone",
    ResourceProperties: { ServiceToken: "arn", SecurityGroups: [group] },
  }) as unknown as CloudFormationCustomResourceEvent;

describe("KafkaNetworkInterfacesGone on moto's EC2", () => {
  it("Create only checks its properties; Delete waits until the group's last interface is gone", async () => {
    const { group, eni } = await groupWithInterface();
    const create = {
      ...deleteEvent(group),
      RequestType: "Create",
    } as CloudFormationCustomResourceEvent;
    expect(await applyNetworkInterfacesEvent(create, { ec2, pollMs: 1, deadline: 0 })).toEqual({
      PhysicalResourceId: "kafka-network-interfaces-gone",
    });

    // Lambda removes the interface while the delete waits (after the second look).
    let looks = 0;
    const result = await applyNetworkInterfacesEvent(deleteEvent(group), {
      ec2,
      pollMs: 10,
      deadline: Date.now() + 30_000,
      sleep: async () => {
        looks += 1;
        if (looks === 2)
          await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni }));
      },
    });
    expect(result).toEqual({
      PhysicalResourceId: "kafka-network-interfaces-gone",
      Data: { Looks: "3" },
    });
  });

  it("fails past its deadline, naming the interfaces left, so the delete says why it stops", async () => {
    const { group, eni } = await groupWithInterface();
    const waiting = applyNetworkInterfacesEvent(deleteEvent(group), {
      ec2,
      pollMs: 15_000,
      deadline: 60_000,
      ...sleepClock(),
    });
    await expect(waiting).rejects.toThrow(
      new RegExp(`network interfaces still in ${group}: ${eni} \\(.*AWS Lambda VPC ENI-test\\)`),
    );
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni }));
  });
});
