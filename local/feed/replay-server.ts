/**
 * A WebSocket server that speaks the Meetup RSVP stream protocol: one message per text frame.
 * Meetup retired its stream in 2022, so this is what the ingest reads locally, and what can
 * stand in for the stream on AWS. Every line of the source is sent verbatim as one frame,
 * whether or not it parses, so bad input reaches the ingest as it would in the wild.
 *
 * Every connection plays the source from its start (like a fresh subscription to a recording).
 */
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type WebSocket, WebSocketServer } from "ws";

export type Pacing =
  /** As fast as the client reads (the socket's buffer drains). */
  | { kind: "asap" }
  /** A fixed number of messages per second. */
  | { kind: "rate"; perSecond: number }
  /** The recording's own timing (gaps between `mtime`s), `speedup` times faster; a gap is
   * capped at `maxGapMs` of wall time so a quiet night in the recording does not stall a demo. */
  | { kind: "recorded"; speedup: number; maxGapMs?: number };

export type LineSource = () => Iterable<string> | AsyncIterable<string>;

export interface ReplayServerOptions {
  source: LineSource;
  pacing: Pacing;
  /** Start again from the first line when the source ends (otherwise close with 1000). */
  loop?: boolean;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface ReplayStats {
  connections: number;
  /** Frames sent over all connections. */
  sent: number;
}

export interface ReplayServer {
  /** `ws://127.0.0.1:<port>/` */
  url: string;
  stats: ReplayStats;
  close(): Promise<void>;
}

/** Above this many unsent bytes, wait for the socket to drain: the client sets the pace. */
const HIGH_WATER_BYTES = 512 * 1024;
const MTIME = /"mtime"\s*:\s*(\d{10,})/;

export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  pacer(options.pacing); // validates the pacing before anything listens
  const server = new WebSocketServer({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  // After listening, a server error must not crash the process (the demo shares it with the
  // stack); it ends the affected connections only.
  server.on("error", () => {});
  const stats: ReplayStats = { connections: 0, sent: 0 };
  const players = new Set<Promise<void>>();

  server.on("connection", (socket) => {
    stats.connections += 1;
    // A misbehaving client (an unmasked or invalid frame) loses its connection, nothing more.
    socket.on("error", () => socket.terminate());
    const player = play(socket, options, stats).catch(() => socket.terminate());
    players.add(player);
    void player.finally(() => players.delete(player));
  });

  const { address, port } = server.address() as AddressInfo;
  return {
    url: `ws://${address.includes(":") ? `[${address}]` : address}:${port}/`,
    stats,
    async close() {
      for (const client of server.clients) client.close(1001, "replay server shutting down");
      await Promise.race([Promise.all(players), sleep(2000)]);
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function play(
  socket: WebSocket,
  options: ReplayServerOptions,
  stats: ReplayStats,
): Promise<void> {
  const isOpen = () => socket.readyState === socket.OPEN;
  let sentHere = 0;
  do {
    const pace = pacer(options.pacing); // each pass of a loop keeps its own timing
    for await (const line of options.source()) {
      if (!isOpen()) return;
      await pace(line);
      if (!isOpen()) return;
      await send(socket, line);
      stats.sent += 1;
      // A synchronous source at full speed would otherwise starve timers and other sockets.
      if (++sentHere % 256 === 0) await new Promise(setImmediate);
    }
  } while (options.loop && isOpen());
  if (isOpen()) socket.close(1000, "end of replay");
}

function send(socket: WebSocket, line: string): Promise<void> {
  return new Promise((resolve) => {
    if (socket.bufferedAmount < HIGH_WATER_BYTES) {
      socket.send(line);
      resolve();
    } else {
      // Resolves once this frame is written out: the buffer has drained behind it.
      socket.send(line, () => resolve());
    }
  });
}

/** Returns a function that waits as long as the pacing asks before each line is sent. */
function pacer(pacing: Pacing): (line: string) => Promise<void> {
  switch (pacing.kind) {
    case "asap":
      return async () => {};
    case "rate": {
      if (!(pacing.perSecond > 0)) throw new RangeError("rate must be above 0 messages/s");
      const period = 1000 / pacing.perSecond;
      let due = performance.now();
      return async () => {
        const now = performance.now();
        // After a stall (a paused reader) resume at the rate instead of bursting to catch up.
        if (now - due > 1000) due = now;
        const wait = due - now;
        due += period;
        if (wait > 1) await sleep(wait);
      };
    }
    case "recorded": {
      if (!(pacing.speedup > 0)) throw new RangeError("speed-up must be above 0");
      const maxGapMs = pacing.maxGapMs ?? 5000;
      let previousMtime: number | undefined;
      return async (line) => {
        const mtime = Number(MTIME.exec(line)?.[1]);
        if (!Number.isFinite(mtime)) return;
        // Gaps between consecutive lines; a line out of order is sent at once.
        if (previousMtime !== undefined && mtime > previousMtime) {
          await sleep(Math.min((mtime - previousMtime) / pacing.speedup, maxGapMs));
        }
        previousMtime = mtime;
      };
    }
  }
}
