/**
 * The cleanup resources act on a Delete only while the stack itself is deleted (mocked
 * CloudFormation, aws-sdk-client-mock): a replacement or an update's rollback keeps the stack,
 * and emptying its buckets then would throw its data away.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { stackFate, statusKeepingTheStack } from "../../functions/stack-cleanup/stack-going.js";
import { resetAfterEach } from "../support/aws-mock.js";

const cfnMock = resetAfterEach(mockClient(CloudFormationClient));
const cloudformation = new CloudFormationClient({ region: "us-east-1" });
const STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/8d1e2f30-9a4b";

const withStatus = (StackStatus: StackStatus) =>
  cfnMock.on(DescribeStacksCommand, { StackName: STACK_ID }).resolves({
    Stacks: [{ StackName: "rsvp-atlas", StackStatus, CreationTime: new Date(0) }],
  });

describe("whether a cleanup resource's Delete cleans up", () => {
  it.each(["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"] as const)(
    "cleans up while the stack is going: %s",
    async (status) => {
      withStatus(status);
      expect(await statusKeepingTheStack(cloudformation, STACK_ID)).toBeUndefined();
    },
  );

  it.each([
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
  ] as const)("cleans nothing while the stack stays: %s", async (status) => {
    withStatus(status);
    expect(await statusKeepingTheStack(cloudformation, STACK_ID)).toBe(status);
  });

  it("cleans up, and says why, when the stack's status cannot be read", async () => {
    cfnMock.on(DescribeStacksCommand).rejects(new Error("AccessDenied"));
    const logged: string[] = [];
    expect(
      await statusKeepingTheStack(cloudformation, STACK_ID, (message) => logged.push(message)),
    ).toBeUndefined();
    expect(logged).toEqual([expect.stringMatching(/could not be read; cleaning up/)]);
    // ... but not as surely going: what must not happen to a stack that stays waits for that.
    expect(await stackFate(cloudformation, STACK_ID)).toEqual({ confirmed: false });
  });

  it("confirms the stack's going only from a status read as going", async () => {
    withStatus("DELETE_IN_PROGRESS");
    expect(await stackFate(cloudformation, STACK_ID)).toEqual({ confirmed: true });
    withStatus("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
    expect(await stackFate(cloudformation, STACK_ID)).toEqual({
      kept: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    });
  });
});
