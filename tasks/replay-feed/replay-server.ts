/**
 * A WebSocket server that speaks the Meetup RSVP stream protocol: one message per text frame.
 * Meetup retired its stream in 2022, so this is what the ingest reads, locally (`npm start`,
 * `npm run replay`) and on AWS (the replay-feed task, main.ts beside this file). Every line of
 * the source is sent verbatim as one frame, whether or not it parses, so bad input reaches the
 * ingest as it would in the wild.
 *
 * Every connection plays the source from its start (like a fresh subscription to a recording);
 * on AWS each pass is made new traffic (live-passes.ts), so a loop never re-sends an RSVP.
 *
 * A connection may first ask for what it missed, as Meetup's stream allowed: given
 * `since_mtime=<epoch ms>` on connect, it sent every message changed after that time first, "so
 * that any missed notifications can be sent in an immediate response" (Meetup API docs,
 * /2/rsvps), then the live stream. The ingest relies on it to lose nothing when it is
 * killed (tasks/ingest/resume-point.ts): a new task asks from the point up to which the dead
 * one had everything in Kafka and Firehose, and the messages it held only in memory come again.
 * A recording has no "missed notifications" of its own (every connection gets a pass of its
 * own, and with LIVE that pass is new traffic no other connection saw), so the server keeps what
 * it actually sent instead: the last `replayBufferFrames` frames over all connections and
 * passes, each with its mtime as sent (after the pass rewriter), and no more than
 * `replayBufferBytes` of them. A resuming connection is sent, at once and in order, every
 * buffered frame with an mtime after `since_mtime`, then its own pass as any other connection.
 * Frames are kept as the UTF-8 bytes sent (off the JS heap: ~1 KB per RSVP, ~100 MB at the
 * default count, in a task of 512 MB; the 128 MiB bound holds whatever the lines' length).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type WebSocket, WebSocketServer } from "ws";
import { EARLIEST_MTIME_MS, LATEST_MTIME_MS } from "../../functions/shared/rsvp/stream-message.js";

export type Pacing =
  /** As fast as the client reads (the socket's buffer drains). */
  | { kind: "asap" }
  /** A fixed number of messages per second. */
  | { kind: "rate"; perSecond: number }
  /** The recording's own timing (gaps between `mtime`s), `speedup` times faster; a gap is
   * capped at `maxGapMs` of wall time so a quiet night in the recording does not stall a demo. */
  | { kind: "recorded"; speedup: number; maxGapMs?: number };

/** A line, or its bytes when they are not UTF-8 (bounded-lines.ts): sent as they are. */
export type LineSource = () => Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

export interface ReplayServerOptions {
  source: LineSource;
  pacing: Pacing;
  /** Start again from the first line when the source ends (otherwise close with 1000). */
  loop?: boolean;
  /**
   * Called when a pass starts (every connection's, every loop's) for a rewriter of that pass's
   * lines, applied after pacing (null: the line is left out of the pass); absent, lines go out
   * verbatim. See live-passes.ts.
   */
  startPass?: () => (line: string) => string | null;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** A plain HTTP GET of this path (e.g. "/healthz") answers 200, so a load balancer or
   * container health check can probe the feed without opening a WebSocket. */
  healthPath?: string;
  /** Called when a connection ends because its source or its socket failed; the server goes
   * on serving the others, so this is the only place such a failure shows. */
  onError?: (error: unknown) => void;
  /**
   * How many of the frames sent (the newest, over all connections) are kept for connections
   * that ask for them again with `since_mtime`; 0 keeps none. Default
   * {@link DEFAULT_REPLAY_BUFFER_FRAMES}: ten times what an ingest task holds in memory
   * (its maxInFlight), which is what a killed task asks for again.
   */
  replayBufferFrames?: number;
  /**
   * The most bytes those frames may take; the oldest go first. Default
   * {@link DEFAULT_REPLAY_BUFFER_BYTES}.
   */
  replayBufferBytes?: number;
  /** Called when a connection asks for `since_mtime`: what it is sent again, or what was
   * ignored. The connection goes on either way; this is where a gap in a resume shows. */
  onResume?: (resume: ResumeEvent) => void;
}

export type ResumeEvent =
  /** `frames` buffered frames after `sinceMtime` are sent again; `complete` is false when
   * frames after it had already left the buffer (they are lost to this client), or may have
   * been sent by an earlier process of the feed (`sinceMtime` before this one's first frame). */
  | { sinceMtime: number; frames: number; complete: boolean }
  /** A `since_mtime` that is not a non-negative integer: ignored, the connection gets its pass. */
  | { ignored: string };

export interface ReplayStats {
  connections: number;
  /** Frames sent by the connections' passes (not counting `replayed`). */
  sent: number;
  /** Buffered frames sent again to connections that asked with `since_mtime`. */
  replayed: number;
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
export const DEFAULT_REPLAY_BUFFER_FRAMES = 100_000;
/**
 * A quarter of the task's 512 MB: the default frame count of ~1 KB RSVPs (~100 MB) fits, while a
 * recording of long lines (each up to 16 MiB, bounded-lines.ts) can no longer fill the memory
 * with frames kept for a resume.
 */
export const DEFAULT_REPLAY_BUFFER_BYTES = 128 * 2 ** 20;

const GONE = Buffer.alloc(0);

/**
 * The frames the server sent, oldest first, at most `capacity` of them and `capacityBytes` of
 * bytes (the newest push the oldest out). Kept as the bytes sent, so a replay is verbatim. The
 * bytes bound is what keeps the task's memory: frames of a recording of long lines would fill
 * a frame count's worth of them far past it.
 */
export class SentFrames {
  private frames: Buffer[] = [];
  private mtimes: number[] = [];
  /** Where the oldest frame kept is; those before it are gone. */
  private head = 0;
  private bytes = 0;
  /** The newest mtime of a frame pushed out: a client asking from before it misses that one. */
  private droppedMtime = Number.NEGATIVE_INFINITY;
  /**
   * The mtime of the first frame this process sent. What an earlier process of the feed sent
   * (before a restart or a deploy replaced it) is unknown here, so a client asking from before
   * it, or before any frame, cannot be told it misses nothing.
   */
  private firstMtime: number | undefined;
  /** The mtime of the frame added last, if any. */
  newestMtime: number | undefined;

  constructor(
    private readonly capacity: number,
    private readonly capacityBytes: number,
  ) {}

  add(frame: Buffer, mtime: number): void {
    this.newestMtime = mtime;
    this.firstMtime ??= mtime;
    this.frames.push(frame);
    this.mtimes.push(mtime);
    this.bytes += frame.length;
    while (this.frames.length - this.head > this.capacity || this.bytes > this.capacityBytes) {
      this.droppedMtime = Math.max(this.droppedMtime, this.mtimes[this.head] as number);
      this.bytes -= (this.frames[this.head] as Buffer).length;
      // Let go of the frame now: until the compaction below its slot would keep it alive, and
      // up to 1,023 frames of 16 MiB are gigabytes.
      this.frames[this.head] = GONE;
      this.head += 1;
    }
    // The slots of frames gone are let go of in bulk: shifting one at a time would copy the
    // whole array on every frame.
    if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.mtimes = this.mtimes.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The frames with an mtime after `since`, oldest first: a copy, as frames go on coming
   * while a slow client is sent them. Not a suffix: passes of a recording repeat its mtimes.
   */
  after(since: number): { frames: Buffer[]; complete: boolean } {
    const frames: Buffer[] = [];
    for (let at = this.head; at < this.frames.length; at++)
      if ((this.mtimes[at] as number) > since) frames.push(this.frames[at] as Buffer);
    const known = this.firstMtime !== undefined && this.firstMtime <= since;
    return { frames, complete: known && this.droppedMtime <= since };
  }
}

export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  pacer(options.pacing); // validates the pacing before anything listens
  const capacity = options.replayBufferFrames ?? DEFAULT_REPLAY_BUFFER_FRAMES;
  if (!(Number.isSafeInteger(capacity) && capacity >= 0))
    throw new RangeError(
      `the replay buffer must be a whole number of frames >= 0, got ${capacity}`,
    );
  const capacityBytes = options.replayBufferBytes ?? DEFAULT_REPLAY_BUFFER_BYTES;
  if (!(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0))
    throw new RangeError(
      `the replay buffer must be a whole number of bytes >= 0, got ${capacityBytes}`,
    );
  const sentFrames = new SentFrames(capacity, capacityBytes);
  const stats: ReplayStats = { connections: 0, sent: 0, replayed: 0 };
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

  server.on("connection", (socket, request) => {
    stats.connections += 1;
    // A misbehaving client (an unmasked or invalid frame) loses its connection, nothing more.
    socket.on("error", () => socket.terminate());
    // Taken now, before this or any other connection sends more: what was sent before it came.
    const missed = missedFrames(request.url, sentFrames, options.onResume);
    const player = play(socket, options, stats, sentFrames, missed).catch((error: unknown) => {
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

/**
 * The buffered frames a connection asks for with `since_mtime` on its URL (none without it).
 * Only a non-negative integer counts: anything else is reported and ignored, as the client
 * still wants the stream.
 */
function missedFrames(
  url: string | undefined,
  sentFrames: SentFrames,
  onResume: ReplayServerOptions["onResume"],
): Buffer[] {
  const query = url?.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  const value = new URLSearchParams(query).get("since_mtime");
  if (value === null) return [];
  const since = Number(value);
  if (!(/^\d+$/.test(value) && Number.isSafeInteger(since))) {
    onResume?.({ ignored: value.slice(0, 64) }); // what a client wrote: logged, so capped
    return [];
  }
  const { frames, complete } = sentFrames.after(since);
  onResume?.({ sinceMtime: since, frames: frames.length, complete });
  return frames;
}

async function play(
  socket: WebSocket,
  options: ReplayServerOptions,
  stats: ReplayStats,
  sentFrames: SentFrames,
  missed: Buffer[],
): Promise<void> {
  const isOpen = () => socket.readyState === socket.OPEN;
  let sentHere = 0;
  // What the client missed first, at once (Meetup's "immediate response"); not buffered again,
  // it is there already.
  for (const frame of missed) {
    if (!isOpen()) return;
    await send(socket, frame);
    stats.replayed += 1;
    if (++sentHere % 256 === 0) await new Promise(setImmediate);
  }
  // A line without a readable mtime is buffered with the one of the line before it on this
  // connection (first on it, of the newest frame sent; 0 before any): it is sent again with its
  // neighbours.
  let previousMtime: number | undefined;
  let sentThisPass: number;
  do {
    sentThisPass = 0;
    const pace = pacer(options.pacing); // each pass of a loop keeps its own timing
    const rewrite = options.startPass?.();
    for await (const line of options.source()) {
      if (!isOpen()) return;
      // A line that is not UTF-8 is sent as its bytes, in a text frame: the ingest refuses it
      // (a dead letter) where its text, read leniently, lost its bad bytes. Its mtime, if any,
      // is ASCII, and the pass's rewriter has nothing to read in it.
      const text = typeof line === "string" ? line : Buffer.from(line).toString("latin1");
      await pace(text);
      if (!isOpen()) return;
      const sent = rewrite && typeof line === "string" ? rewrite(line) : line;
      if (sent === null) continue; // left out of this pass (live-passes.ts)
      // Encoded once, here: the bytes sent are the bytes kept (ws would encode a string anyway).
      const frame = Buffer.from(sent);
      // An mtime the ingest refuses (in seconds, say) files its line as one without any: under
      // the mtime before it, where the ingest's resume point looks for a dead letter it had in
      // flight. Filed under 1970, it was never sent again (found by review).
      const mtime = Number(MTIME.exec(typeof sent === "string" ? sent : text)?.[1]);
      previousMtime =
        Number.isSafeInteger(mtime) && mtime >= EARLIEST_MTIME_MS && mtime <= LATEST_MTIME_MS
          ? mtime
          : (previousMtime ?? sentFrames.newestMtime ?? 0);
      // Buffered as it is handed to the socket, so the buffer keeps the order frames go out in.
      sentFrames.add(frame, previousMtime);
      await send(socket, frame);
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

/** Sends one text frame (UTF-8 bytes), waiting for the socket to drain first when it is full. */
function send(socket: WebSocket, frame: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.bufferedAmount < HIGH_WATER_BYTES) {
      socket.send(frame, { binary: false });
      resolve();
    } else {
      // Resolves once this frame is written out: the buffer has drained behind it.
      socket.send(frame, { binary: false }, () => resolve());
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
