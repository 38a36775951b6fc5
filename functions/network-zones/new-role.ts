/**
 * The network-zones function runs right after CloudFormation creates it and its role, on a first
 * deploy (NetworkZones) or on the update that adds NetworkCheck, and IAM is eventually
 * consistent: a new role's policy may take some seconds to apply everywhere (IAM User Guide,
 * troubleshooting, on changes not always immediately visible; aws-cdk reports such refusals of
 * custom resources run right after their policy is made). A refusal then says the role has not
 * settled, not that it lacks the permission: the call is made again for about half a minute of
 * the function's 60 s before the refusal is the answer.
 */
import { sleep as realSleep } from "../shared/backoff.js";
import type { CustomResourceLog } from "../shared/custom-resource.js";

/** EC2's words for a call its caller may not make (EC2 API Reference, "Error codes"). */
const REFUSALS = new Set(["UnauthorizedOperation", "AuthFailure"]);

export interface RoleSettlingOptions {
  attempts?: number;
  pauseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  log?: CustomResourceLog;
}

export async function whileRoleSettles<T>(
  work: () => Promise<T>,
  { attempts = 6, pauseMs = 5_000, sleep = realSleep, log }: RoleSettlingOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (!REFUSALS.has(name) || attempt >= attempts) throw error;
      log?.("refused: the function's new role may not have settled yet; trying again", {
        error: name,
        attempt,
      });
      await sleep(pauseMs);
    }
  }
}
