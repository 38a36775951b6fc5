import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer } from "ws";
import { MAX_MESSAGE_BYTES } from "../../functions/shared/rsvp/parse.js";
import {
  connectFeed,
  type FeedClient,
  type FeedEvent,
  MAX_FRAME_BYTES,
  SET_ASIDE_FRAME_BYTES,
} from "../../tasks/ingest/feed-client.js";

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

// Registered after the clean-up above, so it runs before it (after-hooks run in reverse): the
// sockets close on real timers.
afterEach(() => {
  vi.useRealTimers();
});

/** The client's clock and timers fake (its heartbeat and reconnect pauses), the sockets real: a
 * test moves time exactly and asserts when things happen, whatever the machine's speed. */
function fakeClientTime(): void {
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
}

/** Node's own timer, kept before any test fakes them: waiting for socket I/O must not move the
 * client's fake clock. */
const realSetTimeout = globalThis.setTimeout;

/** Waits (in real time, for socket I/O) until `condition` holds; the fake clock stands still. */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => realSetTimeout(resolve, 10));
  }
}

/** A client that keeps what it receives and says, with short reconnect pauses. */
function recordingClient(
  url: string,
  limits: { maxFrameBytes?: number; setAsideFrameBytes?: number } = {},
) {
  /** Text frames as strings; bytes (binary frames, text that is not UTF-8) as hex. */
  const received: string[] = [];
  const events: FeedEvent[] = [];
  const client = connectFeed({
    url,
    onMessage: (data) =>
      received.push(typeof data === "string" ? data : `bytes ${Buffer.from(data).toString("hex")}`),
    onEvent: (event) => events.push(event),
    backoff: { baseMs: 20, capMs: 100 },
    ...limits,
  });
  clients.push(client);
  return { received, events, client };
}

/** A client with limits of 100 bytes and, after an oversized frame, 1,000: small frames do. */
const smallLimitsClient = (url: string) =>
  recordingClient(url, { maxFrameBytes: 100, setAsideFrameBytes: 1_000 });

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

  it("cleans the close reason the feed writes, as feed text, before anyone logs it", async () => {
    const { wss, url } = await server();
    // A C1 control sequence (CSI, red), a right-to-left override, a newline.
    wss.on("connection", (socket) => socket.close(4000, "bye\u009b31m now\u202eevil\nline"));
    const { events } = smallLimitsClient(url);
    await until("the close", () => events.some((event) => event.type === "closed"));
    expect(events.find((event) => event.type === "closed")).toEqual({
      type: "closed",
      code: 4000,
      reason: "bye 31m nowevil line",
    });
  });

  it("hands on a text frame that is not valid UTF-8 as its bytes, without ending the connection", async () => {
    // RFC 6455 has a client close such a connection (1007), and ws does unless told not to; a
    // feed that sends again from since_mtime would then send it after every reconnect, and the
    // ingest would read nothing more. Handed on as bytes instead, as a binary frame is, for the
    // parser to refuse (read as text, U+FFFD hid what was wrong).
    const { wss, url } = await server();
    wss.on("connection", (socket) => {
      socket.send("before");
      socket.send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {
        binary: false,
      });
      socket.send("after");
    });
    const { received, client } = smallLimitsClient(url);
    await until("the frame after the bad one", () => received.length === 3);
    expect(received).toEqual(["before", "bytes 7b2261223a22fffe227d", "after"]);
    expect(client.stats).toMatchObject({ connects: 1, reconnects: 0 });
  });

  it("reads frames up to 16 times the largest message; a larger one ends its connection unread, said once as frame-too-large, and the feed goes on", async () => {
    expect(MAX_FRAME_BYTES).toBe(16 * MAX_MESSAGE_BYTES);
    const { wss, url } = await server();
    let connection = 0;
    wss.on("connection", (socket) => {
      connection += 1;
      // The first connection: a frame at the limit (read, so a too_large dead letter can be
      // made of it), then one byte over (not read); later ones: an ordinary message.
      if (connection === 1) {
        socket.send("a".repeat(MAX_FRAME_BYTES));
        socket.send("b".repeat(MAX_FRAME_BYTES + 1));
      } else socket.send(`hello ${connection}`);
    });
    const { received, events, client } = recordingClient(url);
    await until("the second connection's message", () => received.includes("hello 2"));
    expect(received.map((text) => text.slice(0, 8))).toEqual(["aaaaaaaa", "hello 2"]);
    expect(received[0]).toHaveLength(MAX_FRAME_BYTES);
    expect(client.stats).toMatchObject({ oversizedFrames: 1, connects: 2, reconnects: 1 });
    expect(events.filter((event) => event.type === "frame-too-large")).toEqual([
      { type: "frame-too-large", limitBytes: MAX_FRAME_BYTES, next: "set-aside" },
    ]);
    // Said once, as what it is: not also as a generic error.
    expect(events.filter((event) => event.type === "error")).toEqual([]);
  });

  it("reads an oversized frame that a replaying feed sends again once, on the next connection, so it is set aside and the feed goes on", async () => {
    expect(SET_ASIDE_FRAME_BYTES).toBe(16 * MAX_FRAME_BYTES);
    const { wss, url } = await server();
    // A feed asked `since_mtime` sends again everything after the point, the oversized frame
    // included: every connection gets the same three frames, and a fourth later ones.
    let connection = 0;
    wss.on("connection", (socket) => {
      connection += 1;
      socket.send("m1");
      socket.send("x".repeat(500));
      socket.send("m2");
      socket.send(`live ${connection}`);
    });
    const { received, events, client } = smallLimitsClient(url);
    await until("the second connection's frames", () => received.includes("live 2"));
    expect(received.map((text) => (text.length > 100 ? `${text.length} bytes` : text))).toEqual([
      "m1",
      "m1",
      "500 bytes",
      "m2",
      "live 2",
    ]);
    expect(client.stats).toMatchObject({ oversizedFrames: 1, setAsideFrames: 1, connects: 2 });
    expect(events.filter((event) => event.type === "frame-too-large")).toEqual([
      { type: "frame-too-large", limitBytes: 100, next: "set-aside" },
    ]);
  });

  it("leaves a frame over the set-aside limit too unread, and reads the next connection at the usual limit", async () => {
    const { wss, url } = await server();
    let connection = 0;
    wss.on("connection", (socket) => {
      connection += 1;
      if (connection <= 2) socket.send("x".repeat(5_000));
      else socket.send(`hello ${connection}`);
    });
    const { received, events, client } = smallLimitsClient(url);
    await until("the third connection's message", () => received.includes("hello 3"));
    expect(received).toEqual(["hello 3"]);
    expect(events.filter((event) => event.type === "frame-too-large")).toEqual([
      { type: "frame-too-large", limitBytes: 100, next: "set-aside" },
      { type: "frame-too-large", limitBytes: 1_000, next: "unread" },
    ]);
    expect(client.stats).toMatchObject({ oversizedFrames: 2, setAsideFrames: 0 });
  });

  it("pings every 15 s, gives a silent connection (no pong) 10 s more, then replaces it", async () => {
    const { wss, url } = await server({ autoPong: false });
    let connections = 0;
    let pings = 0;
    wss.on("connection", (socket) => {
      connections += 1;
      socket.on("ping", () => {
        pings += 1;
      });
    });
    const events: FeedEvent[] = [];
    fakeClientTime();
    const client = connectFeed({ url, onMessage: () => {}, onEvent: (e) => events.push(e) });
    clients.push(client);
    await until("the connection", () => client.stats.connects === 1);
    // The defaults: a ping each 15 s; silence past 15 + 10 s ends the connection, which the
    // second tick (30 s after the open) sees.
    await vi.advanceTimersByTimeAsync(15_000);
    await until("the first ping", () => pings === 1);
    await vi.advanceTimersByTimeAsync(14_999);
    expect(client.stats.heartbeatTimeouts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(client.stats.heartbeatTimeouts).toBe(1);
    await until("the reconnect to be planned", () => events.some((e) => e.type === "reconnecting"));
    const reconnecting = events.find((e) => e.type === "reconnecting");
    await vi.advanceTimersByTimeAsync(
      reconnecting?.type === "reconnecting" ? reconnecting.inMs : 0,
    );
    await until("a new connection", () => connections === 2 && client.stats.connects === 2);
  });

  it("keeps a paused connection however long the pause (no frame or pong can be heard), and after resuming still replaces a silent one", async () => {
    // Backpressure: the ingest stops reading while its sinks are slow (a broker restart takes
    // minutes). Ending the connection then only connects again, paused again, every 25 s.
    const { wss, url } = await server({ autoPong: false });
    let connections = 0;
    wss.on("connection", () => {
      connections += 1;
    });
    fakeClientTime();
    const client = connectFeed({ url, onMessage: () => {} });
    clients.push(client);
    await until("the connection", () => client.stats.connects === 1);
    client.pause();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(client.stats.heartbeatTimeouts).toBe(0);
    expect(connections).toBe(1);
    client.resume();
    // Silence is counted from the resume: the tick 15 s on pings, the one at 30 s gives up.
    await vi.advanceTimersByTimeAsync(15_000);
    expect(client.stats.heartbeatTimeouts).toBe(0);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(client.stats.heartbeatTimeouts).toBe(1);
  });

  it("keeps trying while the feed is down, each try after its pause, and connects once it is up", async () => {
    const { wss, url } = await server();
    const port = (wss.address() as AddressInfo).port;
    for (const socket of wss.clients) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
    servers.length = 0;
    const pauses: number[] = [];
    const received: string[] = [];
    let tries = 0;
    fakeClientTime();
    const client = connectFeed({
      url: () => {
        tries += 1;
        return url;
      },
      onMessage: (data) => received.push(String(data)),
      onEvent: (event) => event.type === "reconnecting" && pauses.push(event.inMs),
    });
    clients.push(client);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await until(`failed try ${attempt + 1}`, () => pauses.length === attempt + 1);
      const pause = pauses[attempt] ?? Number.NaN;
      // The default backoff (0.5 s doubling to 30 s, full jitter), and no try before the pause ends.
      expect(pause).toBeGreaterThanOrEqual(0);
      expect(pause).toBeLessThan(Math.min(30_000, 500 * 2 ** attempt));
      if (pause > 0) {
        await vi.advanceTimersByTimeAsync(pause - 1);
        expect(tries).toBe(attempt + 1);
      }
      await vi.advanceTimersByTimeAsync(pause > 0 ? 1 : 0);
      expect(tries).toBe(attempt + 2);
    }
    const revived = new WebSocketServer({ host: "127.0.0.1", port });
    servers.push(revived);
    revived.on("connection", (socket) => socket.send("back"));
    // The try in flight may still fail (it may have started before the server was up): the
    // next one, after its pause, connects.
    await until("the try in flight to end", () => pauses.length === 4 || received.length > 0);
    await vi.advanceTimersByTimeAsync(pauses[3] ?? 0);
    await until("the feed to be back", () => received.includes("back"));
    expect(client.stats.connects).toBe(1);
  });

  it("pauses ever longer for a feed that accepts and closes at once, and from the shortest again once one delivers", async () => {
    const { wss, url } = await server();
    let connection = 0;
    wss.on("connection", (socket) => {
      connection += 1;
      // Four connections closed unread (an empty replay), then one that delivers and drops.
      if (connection === 5) {
        socket.send("at last");
        setTimeout(() => socket.terminate(), 20);
      } else socket.close(1000, "end of replay");
    });
    const { events, received } = recordingClient(url);
    // At least six: the pauses after the sixth are as short, so a 10 ms poll for exactly six
    // could miss it (on a busy machine it did, waiting out its 10 s).
    await until("the sixth connection", () => connection >= 6);
    expect(received).toEqual(["at last"]);
    // The attempt drives the pause's ceiling (base 20 ms doubling): it grew while nothing came,
    // then started over.
    const attempts = events.flatMap((event) =>
      event.type === "reconnecting" ? [event.attempt] : [],
    );
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 1]);
  });

  it("gives up on an opening handshake that is never answered, and tries again", async () => {
    // A TCP server that accepts and says nothing: no upgrade answer, so no heartbeat either.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const sockets: Socket[] = [];
    silent.on("connection", (socket) => sockets.push(socket));
    const events: FeedEvent[] = [];
    const client = connectFeed({
      url: `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
      onMessage: () => {},
      onEvent: (event) => events.push(event),
      backoff: { baseMs: 20, capMs: 100 },
      handshakeTimeoutMs: 200,
    });
    clients.push(client);
    try {
      await until("a second try", () => sockets.length >= 2);
      expect(events).toContainEqual({
        type: "error",
        message: "Opening handshake has timed out",
      });
      expect(events.some((event) => event.type === "reconnecting")).toBe(true);
      expect(client.stats.connects).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
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
