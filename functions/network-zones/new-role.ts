/**
 * The network-zones function runs right after CloudFormation creates it and its role, on a first
 * deploy (NetworkZones) or on the update that adds NetworkCheck, and IAM is eventually
 * consistent: a new role's policy may take some seconds to apply everywhere (IAM User Guide,
 * troubleshooting, on changes not always immediately visible; aws-cdk reports such refusals of
 * custom resources run right after their policy is made). A refusal then says the role has not
 * settled, not that it lacks the permission: the call is made again, 5 s apart, for 25 s of the
 * function's 60 s before the refusal is the answer (the shared retryTransient, with refusals as
 * what is retried).
 */
import { retryTransient } from "../shared/aws-errors.js";
import { sleep as realSleep } from "../shared/backoff.js";
import type { CustomResourceLog } from "../shared/custom-resource.js";

/** EC2's words for a call its caller may not make (EC2 API Reference, "Error codes"). */
const REFUSALS = new Set(["UnauthorizedOperation", "AuthFailure"]);

export interface RoleSettlingOptions {
  budgetMs?: number;
  pauseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  log?: CustomResourceLog;
}

export function whileRoleSettles<T>(
  work: () => Promise<T>,
  { budgetMs = 25_000, pauseMs = 5_000, sleep = realSleep, now, log }: RoleSettlingOptions = {},
): Promise<T> {
  return retryTransient(work, {
    budgetMs,
    retryable: (error) => REFUSALS.has((error as { name?: string })?.name ?? ""),
    pause: () => sleep(pauseMs),
    ...(now ? { now } : {}),
    onRetry: (error, attempt) =>
      log?.("refused: the function's new role may not have settled yet; trying again", {
        error: error.name,
        attempt,
      }),
  });
}
