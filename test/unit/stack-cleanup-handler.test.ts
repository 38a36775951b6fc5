/**
 * The stack-cleanup code's routing (functions/stack-cleanup/handler.ts), with mocked clients
 * (aws-sdk-client-mock): each cleanup resource type reaches its own cleanup, an unknown one is
 * refused, and the buckets are emptied only for a stack whose status was read as going (the
 * cleanups themselves run on moto in integration).
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { EMRClient } from "@aws-sdk/client-emr";
import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  DeregisterInstanceCommand,
  ListInstancesCommand,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it, vi } from "vitest";
import { applyCleanup } from "../../functions/stack-cleanup/handler.js";
import { resetAfterEach } from "../support/aws-mock.js";

const cfnMock = resetAfterEach(mockClient(CloudFormationClient));
const s3Mock = resetAfterEach(mockClient(S3Client));
const ecsMock = resetAfterEach(mockClient(ECSClient));
const cloudMapMock = resetAfterEach(mockClient(ServiceDiscoveryClient));
const clients = {
  s3: new S3Client({ region: "us-east-1" }),
  ec2: new EC2Client({ region: "us-east-1" }),
  ecs: new ECSClient({ region: "us-east-1" }),
  emr: new EMRClient({ region: "us-east-1" }),
  sfn: new SFNClient({ region: "us-east-1" }),
  cloudformation: new CloudFormationClient({ region: "us-east-1" }),
  serviceDiscovery: new ServiceDiscoveryClient({ region: "us-east-1" }),
};
const STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/8d1e2f30-9a4b";

const withStatus = (StackStatus: StackStatus) =>
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: "rsvp-atlas", StackStatus, CreationTime: new Date(0) }],
  });

const deleteOf = (ResourceType: string, properties: Record<string, unknown>) =>
  ({
    RequestType: "Delete",
    StackId: STACK_ID,
    ResourceType,
    PhysicalResourceId: "cleanup",
    ResourceProperties: { ServiceToken: "arn", ...properties },
  }) as unknown as CloudFormationCustomResourceEvent;

const run = (event: CloudFormationCustomResourceEvent) =>
  applyCleanup(event, clients, { log: () => {}, remainingMs: 900_000 });

const emptyBuckets = deleteOf("Custom::EmptyBuckets", { Buckets: ["rsvp-atlas-raw"] });

describe("the stack-cleanup handler's routing", () => {
  it("refuses a resource type it does not know, instead of taking it for the buckets' cleanup", async () => {
    withStatus("DELETE_IN_PROGRESS");
    await expect(run(deleteOf("Custom::Something", { Buckets: ["x-bucket"] }))).rejects.toThrow(
      "Custom::Something: not a cleanup resource this function knows",
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("empties the buckets, after refusing new objects, when the stack is being deleted", async () => {
    withStatus("DELETE_IN_PROGRESS");
    s3Mock.on(PutBucketPolicyCommand).resolves({});
    s3Mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce({ Versions: [{ Key: "rsvps/a", VersionId: "v1" }] })
      .resolves({});
    s3Mock.on(DeleteObjectsCommand).resolves({});
    // The buckets must stay empty for the quiet period (5 minutes): on a fake clock.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const running = run(emptyBuckets);
      await vi.advanceTimersByTimeAsync(6 * 60_000);
      expect(await running).toEqual({
        PhysicalResourceId: "cleanup",
        Data: { Deleted: "1" },
      });
    } finally {
      vi.useRealTimers();
    }
    expect(s3Mock.calls()[0]?.args[0]).toBeInstanceOf(PutBucketPolicyCommand);
    expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  it("keeps the buckets, and fails saying why, when the stack's status cannot be read", async () => {
    // Emptying cannot be undone: a Delete of an update's rollback with an unread status must
    // not take the data. A failed delete is retried by `sam delete`; an update's cleanup skips it.
    cfnMock.on(DescribeStacksCommand).rejects(new Error("Throttling: Rate exceeded"));
    await expect(run(emptyBuckets)).rejects.toThrow(
      /the stack's status could not be read, so its buckets are not emptied/,
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("lets a Delete with no buckets to empty go, even with the status unread (its Create failed on them)", async () => {
    // A first create that rolls back: this resource's Create refused its properties, so its
    // Delete has nothing to undo and must not fail the rollback too.
    cfnMock.on(DescribeStacksCommand).rejects(new Error("Throttling: Rate exceeded"));
    expect(await run(deleteOf("Custom::EmptyBuckets", { Buckets: ["Not A Bucket Name"] }))).toEqual(
      { PhysicalResourceId: "cleanup" },
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("cleans nothing while the stack stays, whatever the resource", async () => {
    withStatus("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
    for (const event of [
      emptyBuckets,
      deleteOf("Custom::DeleteTaskDefinitions", { Families: ["rsvp-atlas-ingest"] }),
    ]) {
      expect(await run(event)).toEqual({
        PhysicalResourceId: "cleanup",
        Data: { Skipped: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" },
      });
    }
    expect(s3Mock.calls()).toHaveLength(0);
    expect(ecsMock.calls()).toHaveLength(0);
  });

  it("sends the task definitions' cleanup to ECS", async () => {
    withStatus("DELETE_IN_PROGRESS");
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
    expect(
      await run(deleteOf("Custom::DeleteTaskDefinitions", { Families: ["rsvp-atlas-ingest"] })),
    ).toEqual({ PhysicalResourceId: "cleanup", Data: { Deleted: "0" } });
    expect(ecsMock.commandCalls(ListTaskDefinitionsCommand)[0]?.args[0].input).toEqual({
      familyPrefix: "rsvp-atlas-ingest",
      status: "INACTIVE",
    });
  });

  // An update that turns the replay feed off deletes the ECS service, then this resource: it
  // clears the Cloud Map service while the stack stays too, without reading its status.
  it.each(["DELETE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"] as const)(
    "sends the replay feed's instances to Cloud Map (stack %s)",
    async (status) => {
      withStatus(status);
      cloudMapMock
        .on(ListInstancesCommand)
        .resolvesOnce({ Instances: [{ Id: "task-a" }] })
        .resolves({ Instances: [] });
      cloudMapMock.on(DeregisterInstanceCommand).resolves({ OperationId: "op" });
      expect(
        await run(deleteOf("Custom::FeedInstancesGone", { ServiceId: "srv-e4anhexample0004" })),
      ).toEqual({ PhysicalResourceId: "cleanup", Data: { Deregistered: "1", Looks: "1" } });
      expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
      expect(cloudMapMock.commandCalls(DeregisterInstanceCommand)[0]?.args[0].input).toEqual({
        ServiceId: "srv-e4anhexample0004",
        InstanceId: "task-a",
      });
    },
  );
});
