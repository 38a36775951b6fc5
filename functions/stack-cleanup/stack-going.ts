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
 * Undefined when the Delete should clean up, else the stack's status that says it should not.
 * If the stack's status cannot be read, it cleans up (as it did before this check): a `sam
 * delete` must not stop here for a status it could not read.
 */
export async function statusKeepingTheStack(
  cloudformation: Pick<CloudFormationClient, "send">,
  stackId: string,
  log?: CustomResourceLog,
): Promise<string | undefined> {
  try {
    const { Stacks = [] } = await cloudformation.send(
      new DescribeStacksCommand({ StackName: stackId }),
    );
    const status = Stacks[0]?.StackStatus;
    if (status === undefined || STACK_GOING_STATUSES.has(status)) return undefined;
    return status;
  } catch (error) {
    log?.("the stack's status could not be read; cleaning up as for its delete", {
      error: (error as Error).message,
    });
    return undefined;
  }
}
