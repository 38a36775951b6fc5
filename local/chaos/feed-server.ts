/**
 * The feed of the fault suite: a WebSocket server that plays a known list of RSVP messages as a
 * live stream does, at a steady rate whether or not anyone listens, and keeps the books the
 * comparison needs: which messages it delivered, and which were lost on its side while no client
 * was connected (the feed's loss, not the pipeline's).
 *
 * Like Meetup's stream it honours `?since_mtime=<epoch ms>` on connect: the messages it emitted
 * with a greater mtime are sent again at once ("so that any missed notifications can be sent in
 * an immediate response", Meetup API docs, /2/rsvps), then the live stream continues. A client
 * that reconnects with it loses nothing to a drop; one that does not, loses what was emitted
 * while it was away.
 *
 * Faults it can inject: `drop()` closes every connection (after the socket has flushed what was
 * sent, so "delivered" stays true), `refuse(ms)` then answers every connection attempt with 503
 * for that long.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface FeedMessage {
  text: string;
  /** The message's mtime (its origin's, for a malformed one): where since_mtime rewinds to. */
  mtime: number;
}

export interface FeedBooks {
  /** Emitted so far (the stream's clock has passed them). */
  emitted: number;
  /** Index of every message written to a client socket at least once. */
  delivered: Set<number>;
  /** Emitted while no client was connected and never delivered since. */
  missed(): number[];
  /** Times a message was written again (since_mtime replays). */
  redelivered: number;
  connections: number;
  refusedConnections: number;
  /** Clients connected now. */
  connected(): number;
}

export interface ChaosFeed {
  url: string;
  books: FeedBooks;
  /**
   * Plays on at the stream's rate until `count` messages have been emitted (or all there are),
   * then holds the stream, as if nothing happened meanwhile; settles then.
   */
  playTo(count: number): Promise<void>;
  drop(): Promise<void>;
  refuse(ms: number): void;
  close(): Promise<void>;
}

export async function startChaosFeed(
  messages: readonly FeedMessage[],
  { ratePerSecond, port = 0 }: { ratePerSecond: number; port?: number },
): Promise<ChaosFeed> {
  const delivered = new Set<number>();
  const books: FeedBooks = {
    emitted: 0,
    delivered,
    missed: () => {
      const missed: number[] = [];
      for (let i = 0; i < books.emitted; i++) if (!delivered.has(i)) missed.push(i);
      return missed;
    },
    redelivered: 0,
    connections: 0,
    refusedConnections: 0,
    connected: () => clients.size,
  };
  const clients = new Set<WebSocket>();
  let refusingUntil = 0;
  const server: Server = createServer((_, response) => response.writeHead(426).end());
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (request, socket, head) => {
    if (Date.now() < refusingUntil) {
      books.refusedConnections += 1;
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => {
      books.connections += 1;
      clients.add(client);
      client.on("close", () => clients.delete(client));
      client.on("error", () => clients.delete(client));
      const since = Number(
        new URL(request.url ?? "/", "http://feed").searchParams.get("since_mtime"),
      );
      if (Number.isFinite(since) && since > 0) {
        // What the stream emitted after that time, again, before the live messages.
        for (let i = 0; i < books.emitted; i++) {
          const message = messages[i];
          if (message && message.mtime > since) send(client, i);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;

  function send(client: WebSocket, index: number) {
    const message = messages[index];
    if (!message || client.readyState !== client.OPEN) return;
    client.send(message.text);
    if (delivered.has(index)) books.redelivered += 1;
    delivered.add(index);
  }

  // The stream's clock, while it plays: message i is due `i / rate` after the play started,
  // listener or not.
  let play: { from: number; to: number; startedAt: number; reached: () => void } | undefined;
  const tick = setInterval(() => {
    if (!play) return;
    const due = Math.min(
      play.to,
      play.from + Math.floor(((Date.now() - play.startedAt) / 1000) * ratePerSecond),
    );
    while (books.emitted < due) {
      const index = books.emitted;
      books.emitted += 1;
      for (const client of clients) send(client, index);
    }
    if (books.emitted >= play.to) {
      const { reached } = play;
      play = undefined;
      reached();
    }
  }, 10);
  tick.unref();

  async function drop(): Promise<void> {
    await Promise.all(
      [...clients].map(async (client) => {
        // What was written reaches the client before the close: "delivered" stays true.
        while (client.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 50));
        client.close(1001, "feed going away");
      }),
    );
  }

  return {
    url: `ws://127.0.0.1:${bound}/`,
    books,
    playTo(count) {
      return new Promise<void>((resolve) => {
        play = {
          from: books.emitted,
          to: Math.min(count, messages.length),
          startedAt: Date.now(),
          reached: resolve,
        };
      });
    },
    drop,
    refuse(ms) {
      refusingUntil = Date.now() + ms;
    },
    async close() {
      clearInterval(tick);
      play?.reached();
      for (const client of clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
