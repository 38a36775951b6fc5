import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { connectFeed, type FeedClient, type FeedEvent } from "../../tasks/ingest/feed-client.js";

const servers: WebSocketServer[] = [];
const clients: FeedClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of servers.splice(0)) {
    for (const socket of server.clients) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function server(
  options: { autoPong?: boolean } = {},
): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    autoPong: options.autoPong ?? true,
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  servers.push(wss);
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/` };
}

const until = async (what: string, condition: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe("feed client", () => {
  it("reconnects after the server drops it, and keeps receiving", async () => {
    const { wss, url } = await server();
    let connection = 0;
    wss.on("connection", (socket) => {
      connection += 1;
      socket.send(`hello ${connection}`);
      if (connection === 1) setTimeout(() => socket.terminate(), 50);
    });
    const received: string[] = [];
    const events: FeedEvent["type"][] = [];
    const client = connectFeed({
      url,
      onMessage: (data) => received.push(String(data)),
      onEvent: (event) => events.push(event.type),
      backoff: { baseMs: 20, capMs: 100 },
    });
    clients.push(client);
    await until("the second connection", () => received.length === 2);
    expect(received).toEqual(["hello 1", "hello 2"]);
    expect(client.stats).toMatchObject({ connects: 2, reconnects: 1 });
    expect(events).toEqual(expect.arrayContaining(["open", "closed", "reconnecting"]));
  });

  it("detects a connection that went silent (no pong) and replaces it", async () => {
    const { wss, url } = await server({ autoPong: false });
    let connections = 0;
    wss.on("connection", () => {
      connections += 1;
    });
    const client = connectFeed({
      url,
      onMessage: () => {},
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 100,
      backoff: { baseMs: 10, capMs: 20 },
    });
    clients.push(client);
    await until(
      "a heartbeat timeout and a new connection",
      () => client.stats.heartbeatTimeouts >= 1 && connections >= 2,
    );
  });

  it("keeps trying while the feed is down, and connects once it is up", async () => {
    const { wss, url } = await server();
    const port = (wss.address() as AddressInfo).port;
    for (const socket of wss.clients) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
    servers.length = 0;
    const reconnecting: number[] = [];
    const received: string[] = [];
    const client = connectFeed({
      url,
      onMessage: (data) => received.push(String(data)),
      onEvent: (event) => event.type === "reconnecting" && reconnecting.push(event.attempt),
      backoff: { baseMs: 10, capMs: 40 },
    });
    clients.push(client);
    await until("three failed attempts", () => reconnecting.length >= 3);
    const revived = new WebSocketServer({ host: "127.0.0.1", port });
    servers.push(revived);
    revived.on("connection", (socket) => socket.send("back"));
    await until("the feed to be back", () => received.includes("back"));
  });

  it("ends after a normal close when asked to (a replay played once)", async () => {
    const { wss, url } = await server();
    wss.on("connection", (socket) => {
      socket.send("only");
      socket.close(1000, "end of replay");
    });
    const received: string[] = [];
    const client = connectFeed({
      url,
      onMessage: (data) => received.push(String(data)),
      reconnectAfterNormalClose: false,
    });
    clients.push(client);
    await client.ended;
    expect(received).toEqual(["only"]);
    expect(client.stats.connects).toBe(1);
  });
});
