/**
 * The ingest's Firehose client against an endpoint that takes the connection and never answers
 * (a black-holed path): with FIREHOSE_HTTP_LIMITS the call fails, so the batch is retried,
 * instead of holding the feed until TCP gives up. A real HTTP exchange on a local socket, no mock.
 */
import { createServer, type Server, type Socket } from "node:net";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIREHOSE_HTTP_LIMITS } from "../../tasks/ingest/firehose-writer.js";

let silent: Server;
let port: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  // Reads the request and says nothing.
  silent = createServer((socket) => {
    sockets.push(socket);
    socket.on("data", () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  port = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe("the ingest's Firehose client", () => {
  it("gives up on a call nobody answers, with the limits the task uses (shortened here)", async () => {
    expect(FIREHOSE_HTTP_LIMITS.throwOnRequestTimeout).toBe(true);
    expect(FIREHOSE_HTTP_LIMITS.requestTimeout).toBeGreaterThan(0);
    const client = new FirehoseClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
      requestHandler: { ...FIREHOSE_HTTP_LIMITS, requestTimeout: 300 },
    });
    const started = Date.now();
    const error = await client
      .send(
        new PutRecordBatchCommand({
          DeliveryStreamName: "raw",
          Records: [{ Data: Buffer.from("{}\n") }],
        }),
      )
      .catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("TimeoutError");
    // Failed at the limit, not when the test's own timeout would have ended it.
    expect(Date.now() - started).toBeLessThan(5_000);
    client.destroy();
  });
});
