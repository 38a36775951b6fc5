/**
 * The counting's DynamoDB client against an endpoint that accepts and never answers: the call
 * must end in an error the counting takes for transient (so its error path runs, and records the
 * batch's RSVPs), not wait until the function's timeout ends the run where it stands.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itemKeys } from "../../functions/city-counts/counting.js";
import {
  COUNTS_DYNAMODB_CLIENT_CONFIG,
  type CountsStore,
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

  it("ends every call of the counts store when its abort signal does, whatever the request timeout", async () => {
    const client = new DynamoDBClient({
      ...COUNTS_DYNAMODB_CLIENT_CONFIG,
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const store = dynamoCountsStore(client, "counts");
    const key = itemKeys.rsvp(1);
    const letter = { source: "meetup-0@1", reason: "not_json" as const, detail: "", raw: "" };
    const batch = { sk: "0-1#0", lastOffset: 1, rsvpIds: [1] };
    const write = { Put: { TableName: "counts", Item: { pk: { S: key.pk }, sk: { S: key.sk } } } };
    const calls: [string, (store: CountsStore, abortSignal: AbortSignal) => Promise<unknown>][] = [
      ["readStates", (s, abortSignal) => s.readStates([1], { abortSignal })],
      ["readFences", (s, abortSignal) => s.readFences([key], { abortSignal })],
      ["readUnsettled", (s, abortSignal) => s.readUnsettled("meetup-0", { abortSignal })],
      [
        "forgetUnsettled",
        (s, abortSignal) => s.forgetUnsettled("meetup-0", [batch], { abortSignal }),
      ],
      ["applyWrites", (s, abortSignal) => s.applyWrites([write], undefined, { abortSignal })],
      ["putDeadLetters", (s, abortSignal) => s.putDeadLetters([letter], 0, 60, { abortSignal })],
    ];
    // Each call alone would wait 10 s a request, ten times: the test's 10 s ends any that
    // does not pass its signal on.
    const outcomes = await Promise.all(
      calls.map(async ([name, call]) => [
        name,
        await call(store, AbortSignal.timeout(100)).then(
          () => "answered",
          (failure: { name?: string }) => failure.name,
        ),
      ]),
    );
    client.destroy();
    expect(Object.fromEntries(outcomes)).toEqual(
      Object.fromEntries(calls.map(([name]) => [name, "AbortError"])),
    );
  }, 10_000);
});
