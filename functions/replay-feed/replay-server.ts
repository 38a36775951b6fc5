/**
 * A WebSocket server that speaks the Meetup RSVP stream protocol: one message per text frame.
 * Meetup retired its stream in 2022, so this is what the ingest reads, locally (`npm start`,
 * `npm run replay`) and on AWS (the replay-feed task, main.ts beside this file). Every line of
 * the source is sent verbatim as one frame, whether or not it parses, so bad input reaches the
 * ingest as it would in the wild.
 *
 * Every connection plays the source from its start (like a fresh subscription to a recording);
 * on AWS each pass is made new traffic (live-passes.ts), so a loop never re-sends an RSVP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
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
  /**
   * Called when a pass starts (every connection's, every loop's) for a rewriter of that pass's
   * lines, applied after pacing; absent, lines go out verbatim. See live-passes.ts.
   */
  startPass?: () => (line: string) => string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** A plain HTTP GET of this path (e.g. "/healthz") answers 200, so a load balancer or
   * container health check can probe the feed without opening a WebSocket. */
  healthPath?: string;
  /** Called when a connection ends because its source or its socket failed; the server goes
   * on serving the others, so this is the only place such a failure shows. */
  onError?: (error: unknown) => void;
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
  const stats: ReplayStats = { connections: 0, sent: 0 };
  // Our own HTTP server (rather than ws's) so plain requests can be answered: the health path.
  const http = createServer((request, response) =>
    answerPlainRequest(request, response, options.healthPath, stats),
  );
  const server = new WebSocketServer({ server: http });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      http.off("error", reject);
      resolve();
    });
  });
  // After listening, a server error must not crash the process (the demo shares it with the
  // stack); it ends the affected connections only.
  http.on("error", () => {});
  server.on("error", () => {});
  const players = new Set<Promise<void>>();

  server.on("connection", (socket) => {
    stats.connections += 1;
    // A misbehaving client (an unmasked or invalid frame) loses its connection, nothing more.
    socket.on("error", () => socket.terminate());
    const player = play(socket, options, stats).catch((error: unknown) => {
      socket.terminate();
      options.onError?.(error);
    });
    players.add(player);
    void player.finally(() => players.delete(player));
  });

  const { address, port } = http.address() as AddressInfo;
  return {
    url: `ws://${address.includes(":") ? `[${address}]` : address}:${port}/`,
    stats,
    async close() {
      for (const client of server.clients) client.close(1001, "replay server shutting down");
      await Promise.race([Promise.all(players), sleep(2000)]);
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // ws leaves a server it was given open; idle keep-alive connections would hold it.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** What ws's own server does with a request that is not an upgrade (426), except the health path. */
function answerPlainRequest(
  request: IncomingMessage,
  response: ServerResponse,
  healthPath: string | undefined,
  stats: ReplayStats,
): void {
  const path = (request.url ?? "").split("?")[0];
  if (
    healthPath !== undefined &&
    path === healthPath &&
    /^(GET|HEAD)$/.test(request.method ?? "")
  ) {
    response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify({ status: "ok", ...stats }));
    return;
  }
  response.writeHead(426, { "content-type": "text/plain" });
  response.end("Upgrade Required");
}

async function play(
  socket: WebSocket,
  options: ReplayServerOptions,
  stats: ReplayStats,
): Promise<void> {
  const isOpen = () => socket.readyState === socket.OPEN;
  let sentHere = 0;
  let sentThisPass: number;
  do {
    sentThisPass = 0;
    const pace = pacer(options.pacing); // each pass of a loop keeps its own timing
    const rewrite = options.startPass?.();
    for await (const line of options.source()) {
      if (!isOpen()) return;
      await pace(line);
      if (!isOpen()) return;
      await send(socket, rewrite ? rewrite(line) : line);
      stats.sent += 1;
      sentThisPass += 1;
      // A synchronous source at full speed would otherwise starve timers and other sockets.
      if (++sentHere % 256 === 0) await new Promise(setImmediate);
    }
    // An empty source would loop without ever yielding: a busy spin (and, from S3, a storm of
    // requests). It ends the replay instead.
  } while (options.loop && sentThisPass > 0 && isOpen());
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

/** The latest mtime a recorded replay has reached: its time only moves forward. */
export interface RecordingClock {
  latestMtime: number | undefined;
}

/**
 * How long to wait before sending a line with `mtime` in a recorded replay: the gap from the
 * latest mtime sent so far, sped up and capped. A line older than that (a recording not in
 * mtime order, a late re-send) goes at once and does not wind the clock back, so a shuffled
 * recording is not paced by its every jump forward again (which made one replay at a few
 * messages a second).
 */
export function recordedWaitMs(
  clock: RecordingClock,
  mtime: number,
  pacing: { speedup: number; maxGapMs?: number },
): number {
  if (!Number.isFinite(mtime)) return 0;
  const latest = clock.latestMtime;
  if (latest !== undefined && mtime <= latest) return 0;
  clock.latestMtime = mtime;
  if (latest === undefined) return 0;
  return Math.min((mtime - latest) / pacing.speedup, pacing.maxGapMs ?? 5000);
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
      const clock: RecordingClock = { latestMtime: undefined };
      return async (line) => {
        const wait = recordedWaitMs(clock, Number(MTIME.exec(line)?.[1]), pacing);
        if (wait > 0) await sleep(wait);
      };
    }
  }
}
