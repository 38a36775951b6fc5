/**
 * The replay feed's Cloud Map instances, gone before its Cloud Map service is deleted. ECS
 * registers each replay task in the service (the ECS service's ServiceRegistries) and removes
 * the registration when the task stops, through Cloud Map operations that finish some time
 * later; Cloud Map refuses to delete a service that still holds an instance ("you can't delete
 * a service that contains any instances", Cloud Map API Reference, ResourceInUse), and no
 * document says CloudFormation waits for them. This resource names the Cloud Map service, so it
 * is deleted before it, and the ECS service depends on it, so it is deleted after the tasks are
 * gone: no task is left to own an instance then, and its Delete deregisters any that remain
 * and waits until the service lists none. That holds for every Delete it gets (the stack's
 * delete, the replay feed turned off by an update, the rollback of the update that added it; its
 * physical id never changes, so it is never replaced), so it acts while the stack stays too.
 */
import {
  DeregisterInstanceCommand,
  type InstanceSummary,
  ListInstancesCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import type { CustomResourceResult } from "../shared/custom-resource.js";
import { InvalidPropertiesError } from "../shared/custom-resource.js";
import { applyCleanupEvent, type PollingDeps, pollUntilGone } from "./cleanup-resource.js";

export interface FeedInstancesDeps extends PollingDeps {
  serviceDiscovery: Pick<ServiceDiscoveryClient, "send">;
}

/** A Cloud Map error that says the service is already gone (deleted by hand, say). */
const serviceGone = (error: unknown) => (error as { name?: string }).name === "ServiceNotFound";

/** Every instance the Cloud Map service lists, page after page; none once it is gone. */
export async function instancesOf(
  serviceDiscovery: Pick<ServiceDiscoveryClient, "send">,
  serviceId: string,
): Promise<InstanceSummary[]> {
  const found: InstanceSummary[] = [];
  let NextToken: string | undefined;
  do {
    let page: { Instances?: InstanceSummary[]; NextToken?: string };
    try {
      page = await serviceDiscovery.send(
        new ListInstancesCommand({ ServiceId: serviceId, NextToken }),
      );
    } catch (error) {
      if (serviceGone(error)) return [];
      throw error;
    }
    found.push(...(page.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/**
 * Deregisters each instance the service still lists, once, then waits until it lists none;
 * returns how many it deregistered and how many looks the wait took. An instance already on its
 * way out (InstanceNotFound, or DuplicateRequest: a deregistration under way) needs nothing more,
 * nor does a service already gone (ServiceNotFound).
 */
export async function removeInstances(
  serviceId: string,
  deps: FeedInstancesDeps,
): Promise<{ deregistered: number; looks: number }> {
  let deregistered = 0;
  for (const instance of await instancesOf(deps.serviceDiscovery, serviceId)) {
    if (instance.Id === undefined) continue;
    try {
      await deps.serviceDiscovery.send(
        new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: instance.Id }),
      );
      deregistered++;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== "InstanceNotFound" && name !== "DuplicateRequest" && !serviceGone(error))
        throw error;
    }
  }
  const looks = await pollUntilGone(
    deps,
    async () => {
      const left = await instancesOf(deps.serviceDiscovery, serviceId);
      return left.length > 0 ? left : undefined;
    },
    {
      waiting: (left) =>
        deps.log?.("waiting for the feed's Cloud Map instances to go", {
          serviceId,
          instances: left.map((instance) => instance.Id),
        }),
      tooLate: (left) =>
        new Error(
          `Cloud Map service ${serviceId} still lists ${left.map((instance) => instance.Id).join(", ")}; deregister them (aws servicediscovery deregister-instance) and delete the stack again`,
        ),
    },
  );
  return { deregistered, looks };
}

/** `ServiceId` (required): the Cloud Map service's id, as `!GetAtt <Service>.Id` gives it. */
export function readServiceId(properties: Record<string, unknown> | undefined): string {
  const id = properties?.ServiceId;
  // Cloud Map API Reference: a service id is at most 64 characters (srv-...).
  if (typeof id !== "string" || !/^srv-[a-z0-9]{1,60}$/.test(id)) {
    throw new InvalidPropertiesError(
      `property ServiceId must be a Cloud Map service id (srv-...), got ${JSON.stringify(id)}`,
    );
  }
  return id;
}

/** Create and Update: check the property; Delete: no instance left in the service. */
export function applyFeedInstancesEvent(
  event: CloudFormationCustomResourceEvent,
  deps: FeedInstancesDeps,
): Promise<CustomResourceResult> {
  return applyCleanupEvent(event, {
    createdId: "feed-instances-gone",
    readProperties: readServiceId,
    cleanup: async (serviceId) => {
      const { deregistered, looks } = await removeInstances(serviceId, deps);
      deps.log?.("no Cloud Map instance left", { serviceId, deregistered, looks });
      return { Deregistered: String(deregistered), Looks: String(looks) };
    },
  });
}
