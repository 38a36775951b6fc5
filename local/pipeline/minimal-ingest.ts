/**
 * A deliberately minimal feed → Kafka bridge for the foundation's `npm start`: it reads an
 * RSVP WebSocket, parses every frame with the domain parser and produces valid records to the
 * RSVP topic (keyed by city) and rejections to the dead-letter topic. Reconnects, Firehose,
 * memory bounds and drain-on-SIGTERM belong to the real ingest task, which replaces this.
 */
import { type Kafka, Partitioners, type Producer } from "kafkajs";
import WebSocket from "ws";
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

export async function startMinimalIngest(options: MinimalIngestOptions): Promise<MinimalIngest> {
  const producer: Producer = options.kafka.producer({
    allowAutoTopicCreation: false,
    // Java-client-compatible murmur2: a city key maps to the same partition from any producer.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const stats: IngestStats = { received: 0, produced: 0, deadLettered: 0, rejected: {} };
  let records: { key: string; value: string }[] = [];
  let deadLetters: { value: string }[] = [];

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

  /** Sends what is buffered; on failure puts it back in front, so nothing is lost or reordered. */
  const flush = async () => {
    const batch = records;
    const dead = deadLetters;
    records = [];
    deadLetters = [];
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
      records = batch.concat(records);
      deadLetters = dead.concat(deadLetters);
      throw error;
    }
    stats.produced += batch.length;
    stats.deadLettered += dead.length;
    if (socket.isPaused) socket.resume();
  };

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
  // One flush at a time, every FLUSH_EVERY_MS; after the feed closed, until the buffer is empty
  // or Kafka failed MAX_FAILURES_AFTER_CLOSE times in a row.
  const pump = (async () => {
    let failuresAfterClose = 0;
    for (;;) {
      const feedDone = socketClosed;
      try {
        await flush();
        failuresAfterClose = 0;
      } catch (error) {
        if (feedDone && ++failuresAfterClose >= MAX_FAILURES_AFTER_CLOSE) {
          throw new Error(
            `${records.length + deadLetters.length} messages could not be written to Kafka: ${(error as Error).message}`,
          );
        }
      }
      if (feedDone && records.length + deadLetters.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, FLUSH_EVERY_MS));
    }
  })();
  const finished = closed.then(() => pump);

  return {
    stats,
    finished,
    async stop() {
      socket.close();
      await finished.catch(() => {});
      await producer.disconnect();
    },
  };
}
