/**
 * Whether a cleanup resource's Delete is the stack going away. CloudFormation also deletes a
 * custom resource when an update replaces it (a renamed logical id, a changed physical id), or
 * rolls back the update that added it; the stack and its buckets stay then, and emptying them
 * would throw away the raw landing and the curated tables. So a Delete cleans up only while the
 * stack itself is being deleted: DELETE_IN_PROGRESS (`sam delete`), or ROLLBACK_IN_PROGRESS (a
 * first create that failed, whose every resource goes). CloudFormation User Guide, "Stack
 * status codes".
 */
import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { CustomResourceLog } from "../shared/custom-resource.js";

export const STACK_GOING_STATUSES: ReadonlySet<string> = new Set([
  "DELETE_IN_PROGRESS",
  "ROLLBACK_IN_PROGRESS",
]);

/**
 * What a Delete should do: `kept`, the stack's status that says it stays (clean nothing up);
 * else clean up, `confirmed` when the status was read as the stack going. If the status cannot
 * be read, the cleanups that lose nothing go ahead (a `sam delete` must not stop there for a
 * status it could not read); the buckets' cleanup, which cannot be undone, waits for
 * `confirmed` (handler.ts).
 */
export async function stackFate(
  cloudformation: Pick<CloudFormationClient, "send">,
  stackId: string,
  log?: CustomResourceLog,
): Promise<{ kept: string } | { kept?: undefined; confirmed: boolean }> {
  try {
    const { Stacks = [] } = await cloudformation.send(
      new DescribeStacksCommand({ StackName: stackId }),
    );
    const status = Stacks[0]?.StackStatus;
    if (status === undefined) return { confirmed: false };
    if (STACK_GOING_STATUSES.has(status)) return { confirmed: true };
    return { kept: status };
  } catch (error) {
    log?.("the stack's status could not be read; cleaning up as for its delete", {
      error: (error as Error).message,
    });
    return { confirmed: false };
  }
}

/** Undefined when the Delete should clean up, else the stack's status that says it should not. */
export async function statusKeepingTheStack(
  cloudformation: Pick<CloudFormationClient, "send">,
  stackId: string,
  log?: CustomResourceLog,
): Promise<string | undefined> {
  return (await stackFate(cloudformation, stackId, log)).kept;
}
