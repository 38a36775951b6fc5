/**
 * The ECS task definitions of the ingest and replay tasks, deleted on stack delete.
 * CloudFormation only deregisters a task definition when it deletes (or replaces) one, and
 * "INACTIVE task definition revisions remain discoverable in your account indefinitely" (ECS
 * Developer Guide, "Deregistering an Amazon ECS task definition revision"): every image a
 * deploy rolled out would stay behind as a revision. ECS deletes only deregistered revisions
 * (API Reference, DeleteTaskDefinitions), so the task definitions depend on this resource: by
 * its Delete, CloudFormation has deregistered them, and it deletes every INACTIVE revision of
 * the stack's families.
 */
import {
  DeleteTaskDefinitionsCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
} from "@aws-sdk/client-ecs";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { CustomResourceLog, CustomResourceResult } from "../shared/custom-resource.js";
import { applyCleanupEvent, readListProperty } from "./cleanup-resource.js";

/** DeleteTaskDefinitions takes at most 10 revisions a call (ECS API Reference). */
const DELETE_BATCH = 10;

/** The family of a task definition ARN (`...:task-definition/<family>:<revision>`). */
export function familyOf(arn: string): string | undefined {
  return /:task-definition\/([A-Za-z0-9_-]+):\d+$/.exec(arn)?.[1];
}

/**
 * The ARNs of the INACTIVE revisions of `family`. ListTaskDefinitions' `familyPrefix` is "the
 * full family name" (ECS API Reference), despite its name; each ARN's family is checked all the
 * same, since another stack's family may start with this one's name.
 */
export async function inactiveRevisions(ecs: ECSClient, family: string): Promise<string[]> {
  const found: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTaskDefinitionsCommand({
        familyPrefix: family,
        status: "INACTIVE",
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const arn of page.taskDefinitionArns ?? []) if (familyOf(arn) === family) found.push(arn);
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

/** Deletes every INACTIVE revision of the families; how many it deleted. */
export async function deleteInactiveRevisions(ecs: ECSClient, families: string[]): Promise<number> {
  let deleted = 0;
  for (const family of families) {
    const arns = await inactiveRevisions(ecs, family);
    for (let start = 0; start < arns.length; start += DELETE_BATCH) {
      const batch = arns.slice(start, start + DELETE_BATCH);
      const answer = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch }));
      const failures = answer.failures ?? [];
      if (failures.length > 0) {
        const first = failures[0];
        throw new Error(
          `${failures.length} task definitions of ${family} could not be deleted (${first?.arn}: ${first?.reason} ${first?.detail ?? ""})`.trim(),
        );
      }
      deleted += batch.length;
    }
  }
  return deleted;
}

/** `Families` (required): the task definition families to delete on Delete. */
export const readFamilies = (properties: Record<string, unknown> | undefined): string[] =>
  readListProperty(properties, "Families", /^[A-Za-z0-9_-]{1,255}$/, "task definition families");

/** Create and Update: check the properties; Delete: delete the families' INACTIVE revisions. */
export function applyTaskDefinitionsEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { ecs: ECSClient; log?: CustomResourceLog },
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "task-definitions-on-delete",
    readProperties: readFamilies,
    cleanup: async (families) => {
      const deleted = await deleteInactiveRevisions(deps.ecs, families);
      deps.log?.("task definitions deleted", { families, deleted });
      return { Deleted: String(deleted) };
    },
  });
}
