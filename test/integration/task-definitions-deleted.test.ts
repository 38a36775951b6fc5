/**
 * The deletion of the ingest and replay task definitions on stack delete
 * (functions/stack-cleanup/task-definitions.ts), on moto's ECS: every deregistered revision of
 * the stack's families is deleted, an active one is left (ECS would refuse it), and so is
 * another family whose name merely starts with the stack's.
 */
import { randomUUID } from "node:crypto";
import {
  DeregisterTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyTaskDefinitionsEvent,
  deleteInactiveRevisions,
  familyOf,
} from "../../functions/stack-cleanup/task-definitions.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { stackAws } from "../support/stack-clients.js";

const ecs = new ECSClient(awsClientConfig(stackAws()));
afterAll(() => ecs.destroy());

/** Registers a revision of `family`; its ARN. */
async function register(family: string): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "ingest", image: "example.invalid/ingest:1", essential: true },
      ],
    }),
  );
  return taskDefinition?.taskDefinitionArn as string;
}

const deregister = (arn: string) =>
  ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));

/** The family's revisions in `status`, as ECS lists them. */
async function revisions(family: string, status: "ACTIVE" | "INACTIVE"): Promise<string[]> {
  const { taskDefinitionArns = [] } = await ecs.send(
    new ListTaskDefinitionsCommand({ familyPrefix: family, status }),
  );
  return taskDefinitionArns.filter((arn) => arn.includes(`/${family}:`));
}

const event = (type: "Create" | "Delete", families: string[]) =>
  ({
    RequestType: type,
    ResourceType: "Custom::DeleteTaskDefinitions",
    StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/1",
    ...(type === "Delete" ? { PhysicalResourceId: "task-definitions-on-delete" } : {}),
    ResourceProperties: { ServiceToken: "arn", Families: families },
  }) as unknown as CloudFormationCustomResourceEvent;

describe("TaskDefinitionsOnDelete on moto's ECS", () => {
  it("Create only checks its properties; Delete deletes every deregistered revision of the families", async () => {
    const stack = `stack-${randomUUID().slice(0, 8)}`;
    const ingest = `${stack}-ingest`;
    const replay = `${stack}-replay-feed`;
    // Three deploys' worth of ingest images, the last one still in use; one replay revision.
    const ingestArns = [await register(ingest), await register(ingest), await register(ingest)];
    const replayArn = await register(replay);
    // Another stack, named like this one plus a suffix: its family shares the prefix.
    const neighbour = `${stack}-ingest2-ingest`;
    const neighbourArn = await register(neighbour);
    await deregister(neighbourArn);

    expect(await applyTaskDefinitionsEvent(event("Create", [ingest, replay]), { ecs })).toEqual({
      PhysicalResourceId: "task-definitions-on-delete",
    });
    expect(await revisions(ingest, "ACTIVE")).toHaveLength(3);

    // CloudFormation has deregistered all but the last ingest revision (say its delete of
    // that one is still to come): only deregistered revisions can be deleted.
    for (const arn of [...ingestArns.slice(0, 2), replayArn]) await deregister(arn);
    const logged: unknown[] = [];
    expect(
      await applyTaskDefinitionsEvent(event("Delete", [ingest, replay]), {
        ecs,
        log: (message, data) => logged.push({ message, ...data }),
      }),
    ).toEqual({ PhysicalResourceId: "task-definitions-on-delete", Data: { Deleted: "3" } });
    expect(await revisions(ingest, "INACTIVE")).toEqual([]);
    expect(await revisions(replay, "INACTIVE")).toEqual([]);
    expect(await revisions(ingest, "ACTIVE")).toEqual([ingestArns[2]]);
    expect(await revisions(neighbour, "INACTIVE")).toEqual([neighbourArn]);
    expect([neighbourArn, ingestArns[0] ?? ""].map(familyOf)).toEqual([neighbour, ingest]);
    expect(logged).toEqual([
      { message: "task definitions deleted", families: [ingest, replay], deleted: 3 },
    ]);

    // The last one, deregistered too: a second run finds it; a family never registered is none.
    await deregister(ingestArns[2] as string);
    expect(await deleteInactiveRevisions(ecs, [ingest, `${stack}-never`])).toBe(1);
    expect(await revisions(ingest, "INACTIVE")).toEqual([]);
  });

  it("deletes more revisions than one call takes (10)", async () => {
    const family = `stack-${randomUUID().slice(0, 8)}-ingest`;
    for (let i = 0; i < 23; i++) await deregister(await register(family));
    expect(await deleteInactiveRevisions(ecs, [family])).toBe(23);
    expect(await revisions(family, "INACTIVE")).toEqual([]);
  });
});
