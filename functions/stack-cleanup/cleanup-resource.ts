/**
 * What the cleanup resources share: Create and Update only check the properties, Delete
 * reads them and cleans up. A Delete after a failed Create (its properties wrong) has nothing to
 * undo and must not fail too, or the stack's delete would stop at it.
 */
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { sleep as realSleep } from "../shared/backoff.js";
import {
  type CustomResourceLog,
  type CustomResourceResult,
  InvalidPropertiesError,
} from "../shared/custom-resource.js";

/** What a cleanup that waits for something to be gone needs: how often to look, and until when. */
export interface PollingDeps {
  log?: CustomResourceLog;
  /** Between looks while what it waits for is still there. */
  pollMs: number;
  /** Epoch ms by which it must be gone; past it the delete fails and says what is left. */
  deadline: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Looks with `look` until it finds nothing left (answers `undefined`), `pollMs` apart, and
 * returns how many looks it took. Told what is left, `waiting` may log it; when a next look
 * would come past the deadline, the error `tooLate` makes of what is left is thrown instead, so
 * the stack's delete stops saying what to clear by hand.
 */
export async function pollUntilGone<Left>(
  deps: PollingDeps,
  look: () => Promise<Left | undefined>,
  { waiting, tooLate }: { waiting?: (left: Left) => void; tooLate: (left: Left) => Error },
): Promise<number> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  for (let looks = 1; ; looks++) {
    const left = await look();
    if (left === undefined) return looks;
    if (now() + deps.pollMs > deps.deadline) throw tooLate(left);
    waiting?.(left);
    await sleep(deps.pollMs);
  }
}

export interface CleanupResource<Properties> {
  /** The physical id Create answers (Update and Delete keep the one they are given). */
  createdId: string;
  readProperties: (properties: Record<string, unknown> | undefined) => Properties;
  /** The work of a Delete; its answer's `Data`. */
  cleanup: (properties: Properties) => Promise<Record<string, string>>;
}

export async function applyCleanupEvent<Properties>(
  event: CloudFormationCustomResourceEvent,
  { createdId, readProperties, cleanup }: CleanupResource<Properties>,
): Promise<CustomResourceResult> {
  const PhysicalResourceId = event.RequestType === "Create" ? createdId : event.PhysicalResourceId;
  if (event.RequestType !== "Delete") {
    readProperties(event.ResourceProperties);
    return { PhysicalResourceId };
  }
  let properties: Properties;
  try {
    properties = readProperties(event.ResourceProperties);
  } catch {
    return { PhysicalResourceId };
  }
  return { PhysicalResourceId, Data: await cleanup(properties) };
}

/** The property `name`: a non-empty list of strings that each match `pattern` (`what` they are). */
export function readListProperty(
  properties: Record<string, unknown> | undefined,
  name: string,
  pattern: RegExp,
  what: string,
): string[] {
  const list: unknown = properties?.[name];
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((item) => typeof item === "string" && pattern.test(item))
  ) {
    throw new InvalidPropertiesError(
      `property ${name} must list ${what}, got ${JSON.stringify(list)}`,
    );
  }
  return list;
}

/** `SecurityGroups` (required): security group ids, as the EC2 cleanups take them. */
export const readSecurityGroupIds = (properties: Record<string, unknown> | undefined): string[] =>
  readListProperty(properties, "SecurityGroups", /^sg-[0-9a-f]{8,17}$/, "security group ids");
