/**
 * A deliberately minimal feed → Kafka bridge for the foundation's `npm start`: it reads an
 * RSVP WebSocket, parses every frame with the domain parser and produces valid records to the
 * RSVP topic (keyed by city) and rejections to the dead-letter topic. Reconnects, Firehose,
 * memory bounds and drain-on-SIGTERM belong to the real ingest task, which replaces this.
 */
import { type Kafka, Partitioners, type Producer } from "kafkajs";
import WebSocket from "ws";
import { createLogger } from "../../functions/shared/logger.js";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import { redactPersonalData } from "../../functions/shared/rsvp/redact.js";

export interface MinimalIngestOptions {
  feedUrl: string;
  kafka: Kafka;
  rsvpTopic: string;
  deadLetterTopic: string;
  parse: RsvpParser;
}

export interface IngestStats {
  received: number;
  /** Valid records written to the RSVP topic. */
  produced: number;
  /** Rejections written to the dead-letter topic. */
  deadLettered: number;
  /** Rejections by reason, counted when received. */
  rejected: Record<string, number>;
}

export interface MinimalIngest {
  stats: IngestStats;
  /** Settles when the feed closed and everything received was produced. */
  finished: Promise<void>;
  stop(): Promise<void>;
}

/** The dead-letter entry keeps the raw payload for diagnosis, capped (in UTF-16 units) so one
 * huge frame cannot bloat the topic. */
const MAX_DEAD_LETTER_RAW_CHARS = 8 * 1024;
const FLUSH_EVERY_MS = 100;
const MAX_FAILURES_AFTER_CLOSE = 10;
const MAX_BUFFERED = 5_000;
const MAX_BATCH = 500;
const logger = createLogger("rsvp-atlas-ingest");

export async function startMinimalIngest(options: MinimalIngestOptions): Promise<MinimalIngest> {
  const producer: Producer = options.kafka.producer({
    allowAutoTopicCreation: false,
    // Java-client-compatible murmur2: a city key maps to the same partition from any producer.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const stats: IngestStats = { received: 0, produced: 0, deadLettered: 0, rejected: {} };
  const records: { key: string; value: string }[] = [];
  const deadLetters: { value: string }[] = [];

  const socket = new WebSocket(options.feedUrl);
  socket.on("message", (data, isBinary) => {
    stats.received += 1;
    const raw = isBinary ? new Uint8Array(data as Buffer) : data.toString();
    const result = options.parse(raw);
    if (result.ok) {
      records.push({ key: result.record.city.key, value: JSON.stringify(result.record) });
    } else {
      const { reason, detail } = result.rejection;
      stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
      const rawText = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
      deadLetters.push({
        value: JSON.stringify({
          reason,
          detail,
          raw: redactPersonalData(rawText).slice(0, MAX_DEAD_LETTER_RAW_CHARS),
          receivedAt: Date.now(),
        }),
      });
    }
    // Backpressure: stop reading the socket while Kafka is behind.
    if (records.length + deadLetters.length > MAX_BUFFERED) socket.pause();
  });

  /**
   * Sends up to MAX_BATCH buffered messages (a bounded request, far below the broker's size
   * limit); on failure puts them back in front, so nothing is lost or reordered.
   */
  const flushOnce = async () => {
    const batch = records.splice(0, MAX_BATCH);
    const dead = deadLetters.splice(0, MAX_BATCH - batch.length);
    if (batch.length + dead.length === 0) return;
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          ...(batch.length > 0 ? [{ topic: options.rsvpTopic, messages: batch }] : []),
          ...(dead.length > 0 ? [{ topic: options.deadLetterTopic, messages: dead }] : []),
        ],
      });
    } catch (error) {
      records.unshift(...batch);
      deadLetters.unshift(...dead);
      throw error;
    }
    stats.produced += batch.length;
    stats.deadLettered += dead.length;
  };
  const buffered = () => records.length + deadLetters.length;

  let socketClosed = false;
  const closed = new Promise<void>((resolve, reject) => {
    socket.once("close", () => {
      socketClosed = true;
      resolve();
    });
    socket.once("error", (error) => {
      socketClosed = true;
      reject(error);
    });
  });
  // One send at a time; the buffer is drained every FLUSH_EVERY_MS. After the feed closed it
  // runs until the buffer is empty, or Kafka failed MAX_FAILURES_AFTER_CLOSE times in a row.
  const pump = (async () => {
    let failuresAfterClose = 0;
    for (;;) {
      const feedDone = socketClosed;
      try {
        while (buffered() > 0) await flushOnce();
        failuresAfterClose = 0;
        if (socket.isPaused) socket.resume();
      } catch (error) {
        logger.warn("sending to Kafka failed; the messages stay buffered and are sent again", {
          error: error as Error,
          buffered: buffered(),
        });
        if (feedDone && ++failuresAfterClose >= MAX_FAILURES_AFTER_CLOSE) {
          throw new Error(
            `${buffered()} messages could not be written to Kafka: ${(error as Error).message}`,
          );
        }
      }
      if (feedDone && buffered() === 0) return;
      await new Promise((resolve) => setTimeout(resolve, FLUSH_EVERY_MS));
    }
  })();
  // A feed that ends with a socket error still gets what it delivered flushed first.
  const finished = closed.then(
    () => pump,
    async (error: Error) => {
      await pump;
      throw error;
    },
  );

  return {
    stats,
    finished,
    /** Closes the feed, flushes, disconnects; rejects when messages could not be written. */
    async stop() {
      socket.close();
      try {
        await finished;
      } finally {
        await producer.disconnect();
      }
    },
  };
}
