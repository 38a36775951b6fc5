/**
 * The replay feed's Cloud Map instances on stack delete (functions/stack-cleanup/feed-instances.ts),
 * with a mocked Cloud Map (aws-sdk-client-mock) for its error paths and paging; it runs on moto's
 * Cloud Map in integration (test/integration/feed-instances-gone.test.ts).
 */
import {
  DeregisterInstanceCommand,
  DuplicateRequest,
  InstanceNotFound,
  InvalidInput,
  ListInstancesCommand,
  ServiceDiscoveryClient,
  ServiceNotFound,
} from "@aws-sdk/client-servicediscovery";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  applyFeedInstancesEvent,
  readServiceId,
  removeInstances,
} from "../../functions/stack-cleanup/feed-instances.js";
import { resetAfterEach } from "../support/aws-mock.js";
import { sleepClock } from "../support/sleep-clock.js";

const cloudMap = resetAfterEach(mockClient(ServiceDiscoveryClient));
const serviceDiscovery = new ServiceDiscoveryClient({ region: "us-east-1" });
const SERVICE = "srv-e4anhexample0004";
const meta = { $metadata: {} };

const deregistered = () =>
  cloudMap.commandCalls(DeregisterInstanceCommand).map((call) => call.args[0].input.InstanceId);

describe("removeInstances", () => {
  it("deregisters every instance listed, on every page, then waits until none is listed", async () => {
    cloudMap
      .on(ListInstancesCommand)
      // The first listing, in two pages...
      .resolvesOnce({ Instances: [{ Id: "task-a" }], NextToken: "page-2" })
      .resolvesOnce({ Instances: [{ Id: "task-b" }] })
      // ...then the wait: Cloud Map's deregistrations end later, so both are listed once more.
      .resolvesOnce({ Instances: [{ Id: "task-a" }, { Id: "task-b" }] })
      .resolves({ Instances: [] });
    cloudMap.on(DeregisterInstanceCommand).resolves({ OperationId: "op" });
    const time = sleepClock();
    const result = await removeInstances(SERVICE, {
      serviceDiscovery,
      pollMs: 15_000,
      deadline: 600_000,
      ...time,
    });
    expect(result).toEqual({ deregistered: 2, looks: 2 });
    expect(deregistered()).toEqual(["task-a", "task-b"]);
    expect(cloudMap.commandCalls(ListInstancesCommand)[1]?.args[0].input).toEqual({
      ServiceId: SERVICE,
      NextToken: "page-2",
    });
    expect(time.sleeps).toEqual([15_000]);
  });

  it("calls nothing but the listing when the service holds no instance", async () => {
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [] });
    const time = sleepClock();
    expect(
      await removeInstances(SERVICE, { serviceDiscovery, pollMs: 1, deadline: 10, ...time }),
    ).toEqual({ deregistered: 0, looks: 1 });
    expect(deregistered()).toEqual([]);
    expect(time.sleeps).toEqual([]);
  });

  it("takes an instance already gone, or already on its way out, as done", async () => {
    cloudMap
      .on(ListInstancesCommand)
      .resolvesOnce({ Instances: [{ Id: "gone" }, { Id: "going" }, { Id: "here" }] })
      .resolves({ Instances: [] });
    cloudMap
      .on(DeregisterInstanceCommand, { InstanceId: "gone" })
      .rejects(new InstanceNotFound({ message: "no such instance", ...meta }))
      .on(DeregisterInstanceCommand, { InstanceId: "going" })
      .rejects(new DuplicateRequest({ message: "in progress", ...meta }))
      .on(DeregisterInstanceCommand, { InstanceId: "here" })
      .resolves({ OperationId: "op" });
    expect(
      await removeInstances(SERVICE, {
        serviceDiscovery,
        pollMs: 1,
        deadline: 10,
        ...sleepClock(),
      }),
    ).toEqual({ deregistered: 1, looks: 1 });
  });

  it("takes a service already gone (deleted by hand, or a delete run again) as done", async () => {
    const gone = new ServiceNotFound({ message: "no such service", ...meta });
    cloudMap.on(ListInstancesCommand).rejects(gone);
    const deps = () => ({ serviceDiscovery, pollMs: 1, deadline: 10, ...sleepClock() });
    expect(await removeInstances(SERVICE, deps())).toEqual({ deregistered: 0, looks: 1 });
    // Gone between the listing and the deregistration.
    cloudMap
      .on(ListInstancesCommand)
      .resolvesOnce({ Instances: [{ Id: "task-a" }] })
      .rejects(gone);
    cloudMap.on(DeregisterInstanceCommand).rejects(gone);
    expect(await removeInstances(SERVICE, deps())).toEqual({ deregistered: 0, looks: 1 });
  });

  it("fails on any other error, which the stack's delete then shows", async () => {
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: "task-a" }] });
    cloudMap
      .on(DeregisterInstanceCommand)
      .rejects(new InvalidInput({ message: "bad instance id", ...meta }));
    await expect(
      removeInstances(SERVICE, { serviceDiscovery, pollMs: 1, deadline: 10, ...sleepClock() }),
    ).rejects.toThrow("bad instance id");
    cloudMap.reset();
    cloudMap.on(ListInstancesCommand).rejects(new InvalidInput({ message: "bad id", ...meta }));
    await expect(
      removeInstances(SERVICE, { serviceDiscovery, pollMs: 1, deadline: 10, ...sleepClock() }),
    ).rejects.toThrow("bad id");
  });

  it("gives up at the deadline, naming what is left and what to do", async () => {
    cloudMap.on(ListInstancesCommand).resolves({ Instances: [{ Id: "stuck" }] });
    cloudMap.on(DeregisterInstanceCommand).resolves({ OperationId: "op" });
    const logged: string[] = [];
    await expect(
      removeInstances(SERVICE, {
        serviceDiscovery,
        pollMs: 15_000,
        deadline: 40_000,
        log: (message) => logged.push(message),
        ...sleepClock(),
      }),
    ).rejects.toThrow(
      `Cloud Map service ${SERVICE} still lists stuck; deregister them (aws servicediscovery deregister-instance) and delete the stack again`,
    );
    expect(logged).toContain("waiting for the feed's Cloud Map instances to go");
  });
});

describe("the FeedInstancesGone resource", () => {
  const event = (RequestType: "Create" | "Delete", ServiceId: unknown) =>
    ({
      RequestType,
      ResourceType: "Custom::FeedInstancesGone",
      StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
      ...(RequestType === "Delete" ? { PhysicalResourceId: "feed-instances-gone" } : {}),
      ResourceProperties: { ServiceToken: "arn", ServiceId },
    }) as unknown as CloudFormationCustomResourceEvent;
  const deps = () => ({ serviceDiscovery, pollMs: 1, deadline: 10, ...sleepClock() });

  it("takes a Cloud Map service id and refuses anything else", () => {
    expect(readServiceId({ ServiceId: SERVICE })).toBe(SERVICE);
    for (const bad of [undefined, "", "ns-abc", "srv-", "srv-ABC", `srv-${"a".repeat(61)}`, 7])
      expect(() => readServiceId({ ServiceId: bad }), String(bad)).toThrow(
        "property ServiceId must be a Cloud Map service id",
      );
  });

  it("only checks its property on Create, and clears the service on Delete", async () => {
    expect(await applyFeedInstancesEvent(event("Create", SERVICE), deps())).toEqual({
      PhysicalResourceId: "feed-instances-gone",
    });
    await expect(applyFeedInstancesEvent(event("Create", "ns-1"), deps())).rejects.toThrow(
      "ServiceId",
    );
    expect(cloudMap.calls()).toHaveLength(0);

    cloudMap
      .on(ListInstancesCommand)
      .resolvesOnce({ Instances: [{ Id: "task-a" }] })
      .resolves({ Instances: [] });
    cloudMap.on(DeregisterInstanceCommand).resolves({ OperationId: "op" });
    expect(await applyFeedInstancesEvent(event("Delete", SERVICE), deps())).toEqual({
      PhysicalResourceId: "feed-instances-gone",
      Data: { Deregistered: "1", Looks: "1" },
    });
  });

  it("lets a Delete whose property was refused at Create go, touching nothing", async () => {
    expect(await applyFeedInstancesEvent(event("Delete", "ns-1"), deps())).toEqual({
      PhysicalResourceId: "feed-instances-gone",
    });
    expect(cloudMap.calls()).toHaveLength(0);
  });
});
