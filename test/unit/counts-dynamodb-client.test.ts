/**
 * The counting's DynamoDB client against an endpoint that accepts and never answers: the call
 * must end in an error the counting takes for transient (so its error path runs, and records the
 * batch's RSVPs), not wait until the function's timeout ends the run where it stands.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTS_DYNAMODB_CLIENT_CONFIG } from "../../functions/city-counts/counts-store.js";
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
});
