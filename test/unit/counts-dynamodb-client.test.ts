/**
 * The counting's DynamoDB client against an endpoint that accepts and never answers: the call
 * must end in an error the counting takes for transient (so its error path runs, and records the
 * batch's RSVPs), not wait until the function's timeout ends the run where it stands; and every
 * call of the counts store ends when the run's deadline does (its abort signal), mid-request or
 * between the SDK's retries.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itemKeys } from "../../functions/city-counts/counting.js";
import {
  COUNTS_DYNAMODB_CLIENT_CONFIG,
  dynamoCountsStore,
} from "../../functions/city-counts/counts-store.js";
import { isTransientAwsError } from "../../functions/shared/aws-errors.js";

describe("the counting's DynamoDB client", () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    // Reads the request and never answers, as an endpoint in trouble can.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("gives up on a request that hangs after its request timeout, with a transient error", async () => {
    const client = new DynamoDBClient({
      ...COUNTS_DYNAMODB_CLIENT_CONFIG,
      // One attempt: the timeout of one request is what is checked, not the retries.
      maxAttempts: 1,
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    // Without the timeout taking effect the call never ends, and the test's own 30 s ends it.
    const error = await client
      .send(new GetItemCommand({ TableName: "counts", Key: { pk: { S: "a" }, sk: { S: "b" } } }))
      .then(
        () => null,
        (failure: unknown) => failure,
      );
    client.destroy();
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(isTransientAwsError(error)).toBe(true);
  }, 30_000);

  /**
   * Each call of the counts store against `at`, given one signal: ended 100 ms on, or, with
   * `abortWhen`, once the reads have settled and `abortWhen` holds (polled every 5 ms).
   */
  async function storeCallsEndedBySignal(
    at: string,
    { abortWhen }: { abortWhen?: () => boolean } = {},
  ): Promise<Record<string, string>> {
    const client = new DynamoDBClient({
      ...COUNTS_DYNAMODB_CLIENT_CONFIG,
      endpoint: at,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const store = dynamoCountsStore(client, "counts");
    const key = itemKeys.rsvp(1);
    const letter = { source: "meetup-0@1", reason: "not_json" as const, detail: "", raw: "" };
    const batch = { sk: "0-1#0", lastOffset: 1, rsvpIds: [1] };
    const put = (rsvpId: number) => {
      const { pk, sk } = itemKeys.rsvp(rsvpId);
      return { Put: { TableName: "counts", Item: { pk: { S: pk }, sk: { S: sk } } } };
    };
    const calls: [string, (abortSignal: AbortSignal) => Promise<unknown>][] = [
      ["readStates", (abortSignal) => store.readStates([1], { abortSignal })],
      ["readFences", (abortSignal) => store.readFences([key], { abortSignal })],
      ["readUnsettled", (abortSignal) => store.readUnsettled("meetup-0", { abortSignal })],
      [
        "forgetUnsettled",
        (abortSignal) => store.forgetUnsettled("meetup-0", [batch], { abortSignal }),
      ],
      [
        "applyWrites",
        (abortSignal) => store.applyWrites([put(1), put(2)], undefined, { abortSignal }),
      ],
      ["putDeadLetters", (abortSignal) => store.putDeadLetters([letter], 0, 60, { abortSignal })],
    ];
    const controller = new AbortController();
    const running = calls.map(async ([name, call]) => [
      name,
      await call(controller.signal).then(
        () => "answered",
        (failure: { name?: string }) => failure.name ?? "?",
      ),
    ]);
    if (abortWhen) {
      // Not a time: a machine busy with the whole suite answered the reads later than 100 ms
      // and even 1 s, and a read answered late reads as ended.
      await Promise.all(running.slice(0, 2));
      while (!abortWhen()) await new Promise((resolve) => setTimeout(resolve, 5));
    } else await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    const outcomes = await Promise.all(running);
    client.destroy();
    return Object.fromEntries(outcomes);
  }

  it("ends every call of the counts store when its abort signal does, mid-request", async () => {
    // Each call alone would wait 10 s a request, ten times: the test's 10 s ends any that does
    // not pass its signal on.
    expect(await storeCallsEndedBySignal(endpoint)).toEqual({
      readStates: "AbortError",
      readFences: "AbortError",
      readUnsettled: "AbortError",
      forgetUnsettled: "AbortError",
      applyWrites: "AbortError",
      putDeadLetters: "AbortError",
    });
  }, 10_000);

  it("ends every write of the counts store when its abort signal does, between the SDK's retries", async () => {
    // Reads answer (nothing stored), everything else fails with a 500, which the SDK retries
    // after growing pauses: a call that does not pass its signal on ends with the 500 at last.
    const failed = new Map<string, number>();
    const failing = createServer((request, response) => {
      const target = String(request.headers["x-amz-target"] ?? "");
      request.resume();
      request.on("end", () => {
        response.setHeader("content-type", "application/x-amz-json-1.0");
        if (target.endsWith(".BatchGetItem")) {
          response.end(JSON.stringify({ Responses: { counts: [] }, UnprocessedKeys: {} }));
          return;
        }
        const operation = target.slice(target.lastIndexOf(".") + 1);
        failed.set(operation, (failed.get(operation) ?? 0) + 1);
        response.statusCode = 500;
        response.end(JSON.stringify({ __type: "InternalServerError", message: "down" }));
      });
    });
    await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
    try {
      const at = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
      // Each write operation refused once: every write call is past a refusal, in the SDK's retries
      // (later, some ran out of tries: InternalServerError in a clean-clone run at 1 s).
      const retried = () =>
        ["Query", "DeleteItem", "PutItem", "BatchWriteItem"].every(
          (operation) => (failed.get(operation) ?? 0) >= 1,
        );
      expect(await storeCallsEndedBySignal(at, { abortWhen: retried })).toEqual({
        readStates: "answered",
        readFences: "answered",
        readUnsettled: "AbortError",
        forgetUnsettled: "AbortError",
        applyWrites: "AbortError",
        // Past its read (no letter kept before), at its write.
        putDeadLetters: "AbortError",
      });
    } finally {
      failing.closeAllConnections();
      failing.close();
    }
  }, 10_000);
});
