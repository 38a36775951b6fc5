/**
 * A WebSocket client of an RSVP feed that stays connected: it reconnects after any close or
 * error with exponential backoff and full jitter (so a fleet of tasks does not reconnect in
 * lockstep), and a heartbeat (ping; no frame or pong within the timeout means the connection
 * is dead, even if TCP has not noticed) makes silent half-open connections fail fast.
 */
import { isUtf8 } from "node:buffer";
import WebSocket from "ws";
import { type Backoff, backoffDelay } from "../../functions/shared/backoff.js";
import { MAX_MESSAGE_BYTES } from "../../functions/shared/rsvp/parse.js";
import { cleanText } from "../../functions/shared/rsvp/text.js";

/**
 * The largest frame read, 16 times the largest message the parser takes (a larger one up to
 * here still becomes a `too_large` dead letter). ws's own default is 100 MiB, which a hostile
 * feed could send and the 512 MiB task hold twice (bytes, then text) until it is killed. A
 * frame over this closes the connection (1009) unread, and the client reconnects.
 */
export const MAX_FRAME_BYTES = 16 * MAX_MESSAGE_BYTES;
/**
 * The limit of the one connection after a frame over {@link MAX_FRAME_BYTES}: a feed that
 * replays from `since_mtime` sends that frame again after the reconnect, and the ingest would
 * stall on it for ever; read once up to here (16 MiB, held twice well within the task's
 * memory), it reaches the parser, which sets it aside as a `too_large` dead letter, and the
 * feed goes on. A frame over this too stays unread (the ingest then asks the feed for live
 * messages only, once: ingest.ts).
 */
export const SET_ASIDE_FRAME_BYTES = 16 * MAX_FRAME_BYTES;

export type FeedEvent =
  | { type: "open"; url: string; attempt: number }
  | { type: "closed"; code: number; reason: string }
  | { type: "error"; message: string }
  | { type: "heartbeat-timeout" }
  /**
   * The feed sent a frame over the connection's limit: the connection closes unread (ws
   * answers 1009). `next`: the next connection reads frames up to the set-aside limit, to pass
   * this one on to be set aside (`set-aside`), or it was that connection already (`unread`).
   */
  | { type: "frame-too-large"; limitBytes: number; next: "set-aside" | "unread" }
  | { type: "reconnecting"; inMs: number; attempt: number };

export interface FeedClientOptions {
  /** The feed; a function is asked again at every (re)connect (the ingest adds since_mtime). */
  url: string | (() => string);
  onMessage: (data: string | Uint8Array) => void;
  onEvent?: (event: FeedEvent) => void;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /**
   * Between reconnects (default: 0.5 s doubling to 30 s). The pause grows until a connection
   * delivers a frame: a feed that accepts and closes at once (a replay of an empty recording, a
   * frame too large on every connection) is asked again ever more slowly, not several times a
   * second for ever.
   */
  backoff?: Backoff;
  /**
   * How long the opening handshake may take (default 10 s) before the try counts as failed: the
   * heartbeat starts only once a connection is open, so an upgrade that is never answered (a
   * proxy or a feed that hangs) would otherwise leave the ingest waiting with no reconnect.
   */
  handshakeTimeoutMs?: number;
  /** A feed that closes normally (1000) is reconnected too, unless this is false (a replay run once). */
  reconnectAfterNormalClose?: boolean;
  /** The largest frame read (default {@link MAX_FRAME_BYTES}). */
  maxFrameBytes?: number;
  /** The limit of the connection after an oversized frame (default {@link SET_ASIDE_FRAME_BYTES}). */
  setAsideFrameBytes?: number;
}

export interface FeedClientStats {
  connects: number;
  reconnects: number;
  heartbeatTimeouts: number;
  frames: number;
  /** Frames over the limit, each ending its connection unread. */
  oversizedFrames: number;
  /** Frames over {@link MAX_FRAME_BYTES} read by a set-aside connection and passed on. */
  setAsideFrames: number;
}

export interface FeedClient {
  stats: FeedClientStats;
  /** Stops reading the socket (TCP then slows the sender): backpressure. */
  pause(): void;
  resume(): void;
  /** Settles when the feed ended for good: closed by us, or normally with reconnects off. */
  ended: Promise<void>;
  close(): Promise<void>;
}

/** ws's error code for a frame over maxPayload (it then closes the connection with 1009). */
const FRAME_TOO_LARGE = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";

export function connectFeed(options: FeedClientOptions): FeedClient {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 15_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const backoff = options.backoff ?? { baseMs: 500, capMs: 30_000 };
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const emit = options.onEvent ?? (() => {});
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const setAsideFrameBytes = Math.max(
    maxFrameBytes,
    options.setAsideFrameBytes ?? SET_ASIDE_FRAME_BYTES,
  );
  const stats: FeedClientStats = {
    connects: 0,
    reconnects: 0,
    heartbeatTimeouts: 0,
    frames: 0,
    oversizedFrames: 0,
    setAsideFrames: 0,
  };
  /** The next connection reads up to the set-aside limit (an oversized frame came before). */
  let setAsideNext = false;
  let socket: WebSocket | undefined;
  let paused = false;
  /** When reading last resumed: a paused connection's silence before it does not count. */
  let resumedAt = 0;
  let closing = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let endFeed: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    endFeed = resolve;
  });

  const connect = () => {
    const url = typeof options.url === "function" ? options.url() : options.url;
    const limit = setAsideNext ? setAsideFrameBytes : maxFrameBytes;
    setAsideNext = false;
    // skipUTF8Validation: a text frame that is not valid UTF-8 is handed on as its bytes, as a
    // binary frame is, and the parser refuses it (a dead letter). Validated, ws would end the
    // connection (1007), and a feed that sends again from since_mtime would send it again after
    // every reconnect: the ingest would read nothing more and set nothing aside.
    const current = new WebSocket(url, {
      maxPayload: limit,
      skipUTF8Validation: true,
      handshakeTimeout: handshakeTimeoutMs,
    });
    socket = current;
    let lastHeard = Date.now();
    let heartbeat: NodeJS.Timeout | undefined;
    current.on("open", () => {
      stats.connects += 1;
      if (stats.connects > 1) stats.reconnects += 1;
      emit({ type: "open", url, attempt });
      if (paused) current.pause();
      heartbeat = setInterval(() => {
        // Paused, the socket is not read, so no frame or pong can be heard: silence then says
        // nothing of the connection, and ending it would only make the feed connect again
        // (paused again) for as long as the sinks are slow. Its clock starts again on resume.
        if (paused) return;
        const heard = Math.max(lastHeard, resumedAt);
        if (Date.now() - heard > heartbeatIntervalMs + heartbeatTimeoutMs) {
          stats.heartbeatTimeouts += 1;
          emit({ type: "heartbeat-timeout" });
          current.terminate(); // "close" follows, and with it a reconnect
          return;
        }
        current.ping();
      }, heartbeatIntervalMs);
      heartbeat.unref();
    });
    current.on("message", (data, isBinary) => {
      lastHeard = Date.now();
      stats.frames += 1;
      attempt = 0; // the connection delivers: the next reconnect starts from the shortest pause
      if ((data as Buffer).length > maxFrameBytes) stats.setAsideFrames += 1;
      const bytes = data as Buffer;
      options.onMessage(isBinary || !isUtf8(bytes) ? new Uint8Array(bytes) : bytes.toString());
    });
    current.on("pong", () => {
      lastHeard = Date.now();
    });
    current.on("error", (error) => {
      if ((error as NodeJS.ErrnoException).code === FRAME_TOO_LARGE) {
        stats.oversizedFrames += 1;
        const setAside = limit < setAsideFrameBytes;
        setAsideNext = setAside;
        emit({
          type: "frame-too-large",
          limitBytes: limit,
          next: setAside ? "set-aside" : "unread",
        });
        return;
      }
      emit({ type: "error", message: error.message });
    });
    current.on("close", (code, reason) => {
      clearInterval(heartbeat);
      // The feed writes the close reason (up to 123 bytes): cleaned as feed text is, since the
      // logs that carry it may reach a terminal (`--verbose`).
      emit({ type: "closed", code, reason: cleanText(reason.toString()) });
      if (closing || (code === 1000 && options.reconnectAfterNormalClose === false)) {
        endFeed();
        return;
      }
      const inMs = backoffDelay(attempt, backoff);
      attempt += 1;
      emit({ type: "reconnecting", inMs, attempt });
      reconnectTimer = setTimeout(connect, inMs);
    });
  };
  connect();

  return {
    stats,
    pause() {
      paused = true;
      socket?.pause();
    },
    resume() {
      paused = false;
      resumedAt = Date.now();
      socket?.resume();
    },
    ended,
    async close() {
      closing = true;
      clearTimeout(reconnectTimer);
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        socket.close(1000, "ingest stopping");
        const current = socket;
        const timer = setTimeout(() => current.terminate(), 2000);
        await ended;
        clearTimeout(timer);
      } else {
        endFeed();
      }
    },
  };
}
