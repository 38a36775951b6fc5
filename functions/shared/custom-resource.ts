/**
 * The CloudFormation side of every custom resource of the stack (the Spark job in
 * ../deploy-artifacts/, the website in ../site-content/, the Kafka topics in ../kafka-topics/).
 *
 * CloudFormation waits (up to an hour) for an answer on the presigned ResponseURL, and a Lambda
 * that throws or times out sends none, so every path answers exactly once: success, a failure
 * with its reason, or a failure shortly before the Lambda's own timeout.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
  Context,
} from "aws-lambda";
import { backoffDelay, sleep } from "./backoff.js";

/** The part of the Lambda context the exchange needs (a plain object in tests). */
export interface LambdaContextLike {
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

export type CustomResourceLog = (message: string, fields?: Record<string, unknown>) => void;

export interface CustomResourceAnswerDependencies {
  /** Sends the answer to CloudFormation (global fetch on Lambda). */
  fetch: typeof fetch;
  log?: CustomResourceLog;
  /** Pause between attempts to answer CloudFormation. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a custom resource's work hands back for a SUCCESS answer. */
export type CustomResourceResult = Pick<
  CloudFormationCustomResourceResponse,
  "PhysicalResourceId" | "Data"
>;

/** Answer FAILED this long before the Lambda would time out without answering. */
export const TIMEOUT_MARGIN_MS = 5_000;
const RESPONSE_ATTEMPTS = 3;
/** Pauses of up to 1 s, then up to 2 s, between the attempts. */
const RESPONSE_BACKOFF = { baseMs: 500, capMs: 2000 };

/** The resource's properties in the template are wrong: no retry can help, fix the template. */
export class InvalidPropertiesError extends Error {
  override readonly name = "InvalidPropertiesError";
}

/** The body CloudFormation expects on the ResponseURL. */
export function responseBody(
  event: CloudFormationCustomResourceEvent,
  outcome:
    | { status: "SUCCESS"; physicalResourceId: string; data?: Record<string, unknown> }
    | { status: "FAILED"; physicalResourceId: string; reason: string },
): CloudFormationCustomResourceResponse {
  const common = {
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  return outcome.status === "SUCCESS"
    ? { Status: "SUCCESS", ...common, ...(outcome.data ? { Data: outcome.data } : {}) }
    : // CloudFormation shows the reason in the stack events; it caps the whole body at 4 KB.
      { Status: "FAILED", Reason: outcome.reason.slice(0, 1000), ...common };
}

/** PUTs the body on the presigned URL, retrying transient failures. */
export async function sendResponse(
  responseUrl: string,
  body: CloudFormationCustomResourceResponse,
  deps: CustomResourceAnswerDependencies,
): Promise<void> {
  const text = JSON.stringify(body);
  let lastError: unknown;
  for (let attempt = 1; attempt <= RESPONSE_ATTEMPTS; attempt += 1) {
    try {
      const response = await deps.fetch(responseUrl, {
        method: "PUT",
        // The URL is presigned without a content type: send none.
        headers: { "content-type": "", "content-length": String(Buffer.byteLength(text)) },
        body: text,
      });
      if (response.ok) return;
      lastError = new Error(`CloudFormation response URL answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    deps.log?.("could not answer CloudFormation, retrying", {
      attempt,
      error: String(lastError),
    });
    if (attempt < RESPONSE_ATTEMPTS)
      await (deps.sleep ?? sleep)(backoffDelay(attempt, RESPONSE_BACKOFF));
  }
  throw lastError;
}

/**
 * Answers CloudFormation exactly once for `apply`'s outcome: SUCCESS with its id and data,
 * FAILED with the error, or FAILED {@link TIMEOUT_MARGIN_MS} before the Lambda's end.
 */
export async function answerCustomResource(
  event: CloudFormationCustomResourceEvent,
  context: LambdaContextLike,
  apply: () => Promise<CustomResourceResult>,
  deps: CustomResourceAnswerDependencies,
): Promise<CloudFormationCustomResourceResponse> {
  const fallbackId =
    event.RequestType === "Create" ? context.logStreamName : event.PhysicalResourceId;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CloudFormationCustomResourceResponse>((resolve) => {
    const ms = Math.max(0, context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS);
    timer = setTimeout(
      () =>
        resolve(
          responseBody(event, {
            status: "FAILED",
            physicalResourceId: fallbackId,
            reason: `timed out after ${ms} ms (see log stream ${context.logStreamName})`,
          }),
        ),
      ms,
    );
  });
  const work = apply().then(
    (result) =>
      responseBody(event, {
        status: "SUCCESS",
        physicalResourceId: result.PhysicalResourceId,
        ...(result.Data ? { data: result.Data } : {}),
      }),
    (error: unknown) => {
      deps.log?.("custom resource request failed", { error: String(error) });
      return responseBody(event, {
        status: "FAILED",
        physicalResourceId: fallbackId,
        reason: `${(error as { name?: unknown } | null)?.name ?? "Error"}: ${(error as Error)?.message ?? String(error)}`,
      });
    },
  );
  try {
    const body = await Promise.race([work, timedOut]);
    await sendResponse(event.ResponseURL, body, deps);
    return body;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Lambda entry of a custom resource: the request and the answer it got each make one log
 * line, so a stuck or failed deploy can be read from the function's log group alone. `exchange`
 * gets the logger as the exchange's `log` and answers CloudFormation itself.
 */
export async function logCustomResourceExchange(
  logger: Logger,
  event: CloudFormationCustomResourceEvent,
  context: Context,
  exchange: (log: CustomResourceLog) => Promise<CloudFormationCustomResourceResponse>,
): Promise<void> {
  logger.addContext(context);
  logger.info("custom resource request", {
    requestType: event.RequestType,
    logicalResourceId: event.LogicalResourceId,
  });
  const response = await exchange((message, fields) => logger.info(message, fields ?? {}));
  logger.info("answered CloudFormation", {
    status: response.Status,
    physicalResourceId: response.PhysicalResourceId,
    ...(response.Status === "FAILED" ? { reason: response.Reason } : {}),
  });
}
