/**
 * The replay feed's Cloud Map instances on stack delete (functions/stack-cleanup/feed-instances.ts),
 * on moto's Cloud Map: what the service still lists once its ECS service is gone (here, instances
 * registered as ECS registers a task) is deregistered and the service left empty, so deleting it
 * can succeed; another service of the namespace keeps its own instances.
 */
import { randomUUID } from "node:crypto";
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  ListInstancesCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyFeedInstancesEvent,
  instancesOf,
} from "../../functions/stack-cleanup/feed-instances.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { stackAws } from "../support/stack-clients.js";

const serviceDiscovery = new ServiceDiscoveryClient(awsClientConfig(stackAws()));
afterAll(() => serviceDiscovery.destroy());

/** A Cloud Map service in a new namespace; its id. */
async function newService(namespaceId: string, name: string): Promise<string> {
  const { Service } = await serviceDiscovery.send(
    new CreateServiceCommand({ Name: name, NamespaceId: namespaceId }),
  );
  return Service?.Id as string;
}

/** Registers a task's address, as ECS does for a task of a service with ServiceRegistries. */
const register = (serviceId: string, taskId: string, address: string) =>
  serviceDiscovery.send(
    new RegisterInstanceCommand({
      ServiceId: serviceId,
      InstanceId: taskId,
      Attributes: { AWS_INSTANCE_IPV4: address, ECS_SERVICE_NAME: "replay-feed" },
    }),
  );

const event = (type: "Create" | "Delete", serviceId: string) =>
  ({
    RequestType: type,
    ResourceType: "Custom::FeedInstancesGone",
    StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
    ...(type === "Delete" ? { PhysicalResourceId: "feed-instances-gone" } : {}),
    ResourceProperties: { ServiceToken: "arn", ServiceId: serviceId },
  }) as unknown as CloudFormationCustomResourceEvent;

describe("FeedInstancesGone on moto's Cloud Map", () => {
  it("Create only checks its property; Delete leaves the feed's service without an instance", async () => {
    const { OperationId } = await serviceDiscovery.send(
      new CreateHttpNamespaceCommand({ Name: `feeds-${randomUUID().slice(0, 8)}` }),
    );
    const { Operation } = await serviceDiscovery.send(
      new GetOperationCommand({ OperationId: OperationId as string }),
    );
    const namespaceId = Operation?.Targets?.NAMESPACE as string;
    const feed = await newService(namespaceId, "replay-feed");
    const other = await newService(namespaceId, "other");
    await register(feed, "task-1", "10.42.16.5");
    await register(feed, "task-2", "10.42.32.9");
    await register(other, "task-9", "10.42.16.7");
    const deps = { serviceDiscovery, pollMs: 100, deadline: Date.now() + 30_000 };

    expect(await applyFeedInstancesEvent(event("Create", feed), deps)).toEqual({
      PhysicalResourceId: "feed-instances-gone",
    });
    expect((await instancesOf(serviceDiscovery, feed)).map((i) => i.Id).sort()).toEqual([
      "task-1",
      "task-2",
    ]);

    expect(await applyFeedInstancesEvent(event("Delete", feed), deps)).toEqual({
      PhysicalResourceId: "feed-instances-gone",
      Data: { Deregistered: "2", Looks: "1" },
    });
    const { Instances } = await serviceDiscovery.send(
      new ListInstancesCommand({ ServiceId: feed }),
    );
    expect(Instances ?? []).toEqual([]);
    expect((await instancesOf(serviceDiscovery, other)).map((i) => i.Id)).toEqual(["task-9"]);
    // (moto deletes a service that still holds instances, so what Cloud Map would refuse is
    // shown here only by the empty listing above.)

    // A second Delete (the stack's delete run again) finds nothing to do, as does one whose
    // service is already gone.
    expect(await applyFeedInstancesEvent(event("Delete", feed), deps)).toEqual({
      PhysicalResourceId: "feed-instances-gone",
      Data: { Deregistered: "0", Looks: "1" },
    });
    expect(await applyFeedInstancesEvent(event("Delete", "srv-00000000gone0000"), deps)).toEqual({
      PhysicalResourceId: "feed-instances-gone",
      Data: { Deregistered: "0", Looks: "1" },
    });
  });
});
