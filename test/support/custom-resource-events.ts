/**
 * CloudFormation's side of a custom resource (functions/shared/custom-resource.ts), for tests of
 * its handlers: the requests it sends (Create, Update, Delete), a Lambda context, and the
 * presigned response URL that records every answer PUT on it (a fetch, or a local server).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from "aws-lambda";
import { expect, vi } from "vitest";
import {
  type LambdaContextLike,
  TIMEOUT_MARGIN_MS,
} from "../../functions/shared/custom-resource.js";

export type RequestType = CloudFormationCustomResourceEvent["RequestType"];

/** The part of a request that is the same for every RequestType. */
export type RequestCommon = Omit<
  CloudFormationCustomResourceEvent,
  "RequestType" | "PhysicalResourceId" | "OldResourceProperties"
>;

/** Where a made-up request asks for the answer (what {@link recordingFetch} receives). */
export const RESPONSE_URL =
  "https://cloudformation-custom-resource-response.example/presigned?sig=1";

/** A made-up custom resource: what names it, its properties, and its id once created. */
export interface MadeUpResource {
  /** The function's name in its ServiceToken, e.g. `site-content`. */
  functionName: string;
  logicalResourceId: string;
  /** e.g. `Custom::SiteContent`. */
  resourceType: string;
  /** Its properties, as the template gives them (ServiceToken is added). */
  properties: Record<string, unknown>;
  /** Its id, named by Update and Delete. */
  physicalResourceId: string;
  /** The previous deploy's properties, sent with an Update (default: a ServiceToken only). */
  oldProperties?: CloudFormationCustomResourceUpdateEvent["OldResourceProperties"];
}

/**
 * The requests CloudFormation sends for `resource`, of one stack with one request id, answered
 * on {@link RESPONSE_URL}: of `type`, with the resource's properties or `properties`.
 */
export function madeUpRequests(resource: MadeUpResource) {
  return (
    type: RequestType,
    properties: Record<string, unknown> = resource.properties,
  ): CloudFormationCustomResourceEvent =>
    requestOfType(
      type,
      {
        ServiceToken: `arn:aws:lambda:us-east-1:123456789012:function:${resource.functionName}`,
        ResponseURL: RESPONSE_URL,
        StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/rsvp-atlas/guid",
        RequestId: "request-1",
        LogicalResourceId: resource.logicalResourceId,
        ResourceType: resource.resourceType,
        ResourceProperties: { ServiceToken: "token", ...properties },
      },
      resource,
    );
}

/**
 * `request` (its common part; a request of another type, such as a fixture, will do) as a
 * request of `type`: Update and Delete name the resource's `physicalResourceId`, and Update
 * carries the properties of the previous deploy.
 */
export function requestOfType(
  type: RequestType,
  request: RequestCommon | CloudFormationCustomResourceEvent,
  previous: Pick<MadeUpResource, "physicalResourceId" | "oldProperties">,
): CloudFormationCustomResourceEvent {
  const {
    RequestType: _type,
    PhysicalResourceId: _id,
    OldResourceProperties: _old,
    ...common
  } = request as Partial<CloudFormationCustomResourceEvent> & {
    PhysicalResourceId?: string;
    OldResourceProperties?: unknown;
  } & RequestCommon;
  if (type === "Create") return { ...common, RequestType: "Create" };
  const PhysicalResourceId = previous.physicalResourceId;
  if (type === "Delete") return { ...common, RequestType: "Delete", PhysicalResourceId };
  return {
    ...common,
    RequestType: "Update",
    PhysicalResourceId,
    OldResourceProperties: previous.oldProperties ?? { ServiceToken: "token" },
  };
}

/** The Lambda context of a handler with a minute left; `logStreamName` is a failed Create's id. */
export const lambdaContext: LambdaContextLike = {
  logStreamName: "2026/01/01/[$LATEST]abc",
  getRemainingTimeInMillis: () => 60_000,
};

/**
 * That a handler whose work never ends answers CloudFormation anyway, once, FAILED ("timed out"),
 * TIMEOUT_MARGIN_MS before the Lambda's end: `handle` runs with that margin and 1 s more left,
 * on a fake clock that is then moved on by that second.
 */
export async function expectFailedBeforeTimeout(
  handle: (context: LambdaContextLike, fetchFn: typeof fetch) => Promise<unknown>,
): Promise<void> {
  vi.useFakeTimers();
  try {
    const { fetchFn, bodies } = recordingFetch();
    const done = handle(
      { ...lambdaContext, getRemainingTimeInMillis: () => TIMEOUT_MARGIN_MS + 1000 },
      fetchFn,
    );
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(bodies()).toEqual([
      expect.objectContaining({ Status: "FAILED", Reason: expect.stringMatching(/^timed out/) }),
    ]);
  } finally {
    vi.useRealTimers();
  }
}

/** Pauses between attempts to answer, skipped. */
export const noSleep = async (): Promise<void> => {};

/**
 * A fetch standing in for the presigned response URL: it records every call and answers each
 * with the next of `statuses` (an Error is thrown instead), the last one again once they run out.
 */
export function recordingFetch(statuses: (number | Error)[] = [200]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = statuses[Math.min(calls.length - 1, statuses.length - 1)] ?? 200;
    if (next instanceof Error) throw next;
    return new Response(null, { status: next });
  }) as unknown as typeof fetch;
  /** The answers sent, parsed. */
  const bodies = () => calls.map((c) => JSON.parse(String(c.init.body)));
  return { calls, fetchFn, bodies };
}

/** An answer as the response URL received it. */
export interface ReceivedAnswer {
  method: string;
  contentType: string | undefined;
  body: unknown;
}

/**
 * The presigned response URL served by a local HTTP server (for a handler that really PUTs its
 * answer): every request is recorded as received and answered 200.
 */
export async function startResponseServer(): Promise<{
  url: string;
  received: ReceivedAnswer[];
  close(): Promise<void>;
}> {
  const received: ReceivedAnswer[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        contentType: request.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/cloudformation-response?X-Amz-Signature=local`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
