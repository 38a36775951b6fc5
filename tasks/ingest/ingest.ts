/**
 * The ingest task: reads an RSVP feed, passes every frame through the domain parser (personal
 * data removed there), and sends valid records to the Kafka RSVP topic (keyed by city, so a city
 * stays on one partition) and, newline-delimited, to Firehose; rejections go to the dead-letter
 * topic with their reason and the raw text (personal data removed, capped). Memory is bounded:
 * above `maxInFlight` queued items, or `maxInFlightBytes` of text held for the sinks, it stops
 * reading the feed until the sinks catch up. stop() closes the feed, then drains both sinks
 * before it returns (SIGTERM on Fargate).
 */
import { CompressionTypes, type Message, type Producer } from "kafkajs";
import { TICK_HEADER, tickValue } from "../../functions/shared/partition-tick.js";
import { deadLetterText } from "../../functions/shared/rsvp/dead-letter-text.js";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { Rejection, RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { redactPersonalData } from "../../functions/shared/rsvp/redact.js";
import { type ArrivalClock, createArrivalClock } from "./arrival-clock.js";
import { BufferedSender, type FailureStreak, PartlySentError } from "./buffered-sender.js";
import { connectFeed, type FeedClient, type FeedEvent } from "./feed-client.js";
import { FirehoseDeliveryError } from "./firehose-writer.js";
import { feedUrlSince, RESUME_HEADER, ResumePoint, resumeHeaders } from "./resume-point.js";

/**
 * How far ahead of this task's clock a message's mtime may be. The counting keeps the version
 * with the greatest mtime, so one copy dated 2099 (the parser's range allows it) would pin its
 * RSVP's state: every real change after it looks older and is ignored until the state expires,
 * and the RSVP counts on a day no one looks at. A day is room for any clock a feed may have; a
 * synthetic feed read faster than its pace runs ahead by far less in a bench.
 */
export const MAX_MTIME_AHEAD_MS = 24 * 3_600_000;

/** How often a tick round that found no durable point looks again. */
const POINT_WAIT_MS = 1_000;

/** The dead-letter entry keeps the raw frame for diagnosis, capped (UTF-16 units). */
export const MAX_DEAD_LETTER_RAW_CHARS = 8 * 1024;

/**
 * What a dead letter keeps of a rejected frame: the RSVP format's fields only
 * (dead-letter-text.ts), capped, never half a surrogate pair.
 */
export const deadLetterRaw = (text: string) =>
  deadLetterText(text).slice(0, MAX_DEAD_LETTER_RAW_CHARS).toWellFormed();
/** One producer request (the ingest keeps one in flight, renewable-producer.ts): 1,000 records
 * of ~0.8 KB; larger gained little (bench:stream). */
export const KAFKA_BATCH = 1000;
/**
 * And at most this many bytes of keys and values (before compression). A broker refuses a record
 * batch over message.max.bytes, 1,048,588 by default (Apache Kafka documentation, "Broker
 * Configs"; MSK keeps Kafka's default for what its default configuration does not list: MSK
 * Developer Guide, "Default Amazon MSK configuration"), after compression, and for good
 * (MESSAGE_TOO_LARGE, not retried): a batch of valid RSVPs of up to 64 KiB each, or of dead
 * letters, sent again as it was, would stall the topic's sends. Counted over the whole request,
 * not per partition, and with room for the batch's header and gzip's growth on what does not
 * compress (a few bytes a block). No single record comes near it: the parser refuses a message
 * over 64 KiB (MAX_MESSAGE_BYTES), and a dead letter keeps 8 KiB of its frame.
 */
export const KAFKA_BATCH_BYTES = 900_000;
/** A record's bytes beyond its key and value: the resume header and the record's own fields. */
const KAFKA_RECORD_OVERHEAD_BYTES = RESUME_HEADER.length + 16 + 32;
const FIREHOSE_BATCH = 500;
/**
 * 64 Mi units of text held for the sinks, a line counted once per sink that holds it: about a
 * quarter of the 512 MB task, at most 1,000 lines of the largest messages (10,000 of the usual
 * ~1 KB ones reach the item bound first).
 */
export const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const FIREHOSE_CONCURRENCY = 4;

export interface IngestOptions {
  feedUrl: string;
  parse: RsvpParser;
  /**
   * A connected kafkajs producer (idempotent, acks=all), or one that renews itself
   * (renewable-producer.ts); the owner disconnects it.
   */
  producer: Pick<Producer, "sendBatch">;
  rsvpTopic: string;
  deadLetterTopic: string;
  /** Delivers lines to Firehose (see firehose-writer.ts) or throws FirehoseDeliveryError. */
  writeFirehose: (lines: string[]) => Promise<void>;
  maxInFlight?: number;
  /**
   * The text held for the sinks (queued, failed or being sent), in UTF-16 units: a measure,
   * not bytes (V8 stores a string in one or two bytes a unit), counted once per sink though
   * both hold the same line. Default {@link MAX_IN_FLIGHT_BYTES}. A count alone does not bound
   * memory: a valid message may be 64 KiB, its line about as long (event, group and venue names
   * are not capped), and 10,000 of them held for a throttled Firehose are 1.3 GB in a 512 MB task.
   */
  maxInFlightBytes?: number;
  /** False for a recording played once: the end of the feed ends the ingest. */
  reconnectAfterNormalClose?: boolean;
  heartbeatIntervalMs?: number;
  onFeedEvent?: (event: FeedEvent) => void;
  onSinkFailure?: (
    sink: "kafka" | "firehose",
    error: Error,
    queued: number,
    streak: FailureStreak,
  ) => void;
  /**
   * The durable point read back from the topic (resume-point.ts): the first connection asks the
   * feed for what changed after it. Undefined: the feed's live messages only.
   */
  resumeFromMtime?: number;
  /** Stamps each record's arrival (arrival-clock.ts); tests pass a clock of their own. */
  arrivalClock?: ArrivalClock;
  /** The feed client's frame limits (feed-client.ts); tests make them small. */
  frameLimits?: { maxFrameBytes: number; setAsideFrameBytes: number };
  /**
   * A tick record to each partition of the RSVP topic at start and every `everyMs`
   * (functions/shared/partition-tick.ts: the counting settles a partition's set-aside batches
   * in its next batch, which a quiet partition would not have before their states expire).
   * `partitions` lists the topic's partitions, asked again each time (partitions can be
   * added); a round that cannot ask is said to `onFailure` and left to the next.
   */
  partitionTicks?: {
    everyMs: number;
    partitions: () => Promise<number[]>;
    onFailure?: (error: Error) => void;
  };
}

export interface IngestCounters {
  received: number;
  produced: number;
  /** Tick records sent (partitionTicks): not in `produced`. */
  ticks: number;
  sentToFirehose: number;
  deadLettered: number;
  rejected: Record<string, number>;
  retried: { kafka: number; firehose: number };
  reconnects: number;
  /** Frames over the feed client's limit: each closed its connection unread. */
  oversizedFrames: number;
  paused: number;
}

export interface Ingest {
  counters(): IngestCounters;
  /** Every message received up to this mtime is held by Kafka and Firehose (resume-point.ts). */
  durableMtime(): number;
  /** Items not yet sent to each sink (queued, failed or being sent): what a stop given up leaves. */
  unsent(): { kafka: number; firehose: number };
  /** The text held for the sinks, as `maxInFlightBytes` counts it. */
  heldBytes(): number;
  /** Settles when the feed ended for good (only with reconnectAfterNormalClose false) and all was sent. */
  finished: Promise<void>;
  /** Closes the feed and sends everything received; rejects naming what could not be sent. */
  stop(): Promise<void>;
}

/** A rejection for an mtime more than MAX_MTIME_AHEAD_MS past the arrival stamp (microseconds). */
export function tooFarAhead(mtime: number, arrival: number): Rejection | undefined {
  const clock = Math.floor(arrival / 1000);
  if (mtime - clock <= MAX_MTIME_AHEAD_MS) return undefined;
  return {
    reason: "invalid_field",
    detail: `mtime: ${new Date(mtime).toISOString()} is more than a day ahead of the ingest's clock (${new Date(clock).toISOString()})`,
  };
}

/**
 * What a message adds to the resume point: its mtime, but no later than this task's clock at its
 * arrival (the stamp, in microseconds). A reconnect asks the feed for what changed after the
 * newest mtime received, so one message from the future (2099 passes the parser's range; a
 * synthetic feed read as fast as it is sent runs ahead) would have every later reconnect, and
 * the next task through the durable point, skip what the feed sent meanwhile. Bounded by the
 * clock, it asks at worst again for messages it already has, which the counting takes as
 * duplicates.
 */
export function resumeBound(mtime: number, arrival: number): number {
  return Math.min(mtime, Math.floor(arrival / 1000));
}

/**
 * The line the ingest sends for a valid message, to the topic and to Firehose alike: the
 * normalized record with its arrival stamp (arrival-clock.ts).
 */
export function recordLine(record: RsvpRecord, arrival: number): string {
  return JSON.stringify({ ...record, arrival });
}

type KafkaItem = {
  seq: number;
  topic: string;
  key?: string;
  value: string;
  /** A tick's partition (a tick has no key to place it by). */
  partition?: number;
  tick?: true;
};

function kafkaItemBytes(item: KafkaItem): number {
  return (
    Buffer.byteLength(item.value, "utf8") +
    (item.key === undefined ? 0 : Buffer.byteLength(item.key, "utf8")) +
    KAFKA_RECORD_OVERHEAD_BYTES
  );
}
type FirehoseItem = { seq: number; line: string };

export function startIngest(options: IngestOptions): Ingest {
  const maxInFlight = options.maxInFlight ?? 10_000;
  const maxInFlightBytes = options.maxInFlightBytes ?? MAX_IN_FLIGHT_BYTES;
  /** Text held for the sinks: added when an item is queued, taken off when its batch is sent. */
  let heldBytes = 0;
  const kafkaHeld = (item: KafkaItem) => item.value.length + (item.key?.length ?? 0);
  const rejected: Record<string, number> = {};
  let received = 0;
  let deadLettered = 0;
  let ticks = 0;
  let paused = 0;
  let feed: FeedClient | undefined;
  const resume = new ResumePoint(options.resumeFromMtime);
  const arrival = options.arrivalClock ?? createArrivalClock();

  const kafka = new BufferedSender<KafkaItem>({
    name: "kafka",
    maxBatch: KAFKA_BATCH,
    maxBatchBytes: KAFKA_BATCH_BYTES,
    sizeOf: kafkaItemBytes,
    send: async (items) => {
      // The durable point as of each record's encoding: a task started after this one dies
      // reads it back.
      const headers = resumeHeaders(resume);
      const tickHeaders = resumeHeaders(resume, { [TICK_HEADER]: "1" });
      const byTopic = new Map<string, Message[]>();
      for (const { topic, seq: _, tick, ...message } of items) {
        const record = { ...message, headers: tick ? tickHeaders : headers };
        const messages = byTopic.get(topic);
        if (messages) messages.push(record);
        else byTopic.set(topic, [record]);
      }
      await options.producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.GZIP,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      deadLettered += items.filter((item) => item.topic === options.deadLetterTopic).length;
      ticks += items.filter((item) => item.tick).length;
      for (const item of items) {
        resume.done(item.seq);
        heldBytes -= kafkaHeld(item);
      }
      resumeIfDrained();
    },
    onFailure: (error, queued, streak) => options.onSinkFailure?.("kafka", error, queued, streak),
  });
  const firehose = new BufferedSender<FirehoseItem>({
    name: "firehose",
    maxBatch: FIREHOSE_BATCH,
    // A call's round trip (tens of ms), not the CPU, bounds one caller: several at once. The raw
    // landing has no order to keep (Firehose keeps none across calls either).
    concurrency: FIREHOSE_CONCURRENCY,
    lingerMs: 200,
    send: async (items) => {
      let failure: FirehoseDeliveryError | undefined;
      try {
        await options.writeFirehose(items.map((item) => item.line));
      } catch (error) {
        if (!(error instanceof FirehoseDeliveryError)) throw error;
        failure = error;
      }
      // What the writer landed is done; only what it names as undelivered goes again, so a
      // Firehose outage longer than the writer's own retries lands nothing twice.
      const unsent = failure ? undeliveredItems(items, failure.undelivered) : [];
      for (const item of items) {
        if (unsent.includes(item)) continue;
        resume.done(item.seq);
        heldBytes -= item.line.length;
      }
      resumeIfDrained();
      if (failure) throw new PartlySentError(failure, unsent);
    },
    onFailure: (error, queued, streak) =>
      options.onSinkFailure?.("firehose", error, queued, streak),
  });

  const inFlight = () => kafka.queued + firehose.queued;
  const pushKafka = (item: KafkaItem) => {
    heldBytes += kafkaHeld(item);
    kafka.push(item);
  };
  let isPaused = false;
  function resumeIfDrained() {
    if (isPaused && inFlight() < maxInFlight / 2 && heldBytes < maxInFlightBytes / 2) {
      isPaused = false;
      feed?.resume();
    }
  }

  const deadLetter = (reason: string, detail: string, text: string) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    pushKafka({
      seq: resume.received(undefined, 1),
      topic: options.deadLetterTopic,
      // Keyed, so that a send made again puts it on the same partition: without a key the
      // producer picks partitions round-robin, and a failed send that the broker had in fact
      // appended, made again, wrote these copies to other partitions and left the first
      // partition's sequence ahead of the producer's, whose next batch there the broker then
      // took for a duplicate and dropped without a word.
      key: reason,
      value: JSON.stringify({
        reason,
        // A detail may quote a value (a group_country that is no country code): cleaned too.
        detail: redactPersonalData(detail),
        raw: deadLetterRaw(text),
        receivedAt: new Date().toISOString(),
      }),
    });
  };

  /**
   * Set when a frame stayed unread even at the set-aside limit (feed-client.ts): a feed asked
   * for what changed after the newest message would send that frame again, connection after
   * connection, and the ingest would read nothing more for ever. The next connection asks for
   * live messages only, once, and a dead letter says what may be missing.
   */
  let askLiveOnly = false;
  const onFeedEvent = (event: FeedEvent) => {
    if (event.type === "frame-too-large" && event.next === "unread") {
      askLiveOnly = true;
      const after = resume.newestMtime ? new Date(resume.newestMtime).toISOString() : "the start";
      deadLetter(
        "too_large",
        `a frame over ${event.limitBytes} bytes came after the message of ${after} and was left unread; the next connection asks the feed for live messages only, so messages changed between then and that reconnect may be missing`,
        "",
      );
    }
    options.onFeedEvent?.(event);
  };

  feed = connectFeed({
    // The first connection from the durable point read back; a reconnect from the newest
    // message received (what this task holds it sends, whatever happens to the socket).
    url: () => {
      if (!askLiveOnly) return feedUrlSince(options.feedUrl, resume.newestMtime);
      askLiveOnly = false;
      return options.feedUrl;
    },
    reconnectAfterNormalClose: options.reconnectAfterNormalClose ?? true,
    ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.frameLimits ?? {}),
    onEvent: onFeedEvent,
    onMessage: (raw) => {
      received += 1;
      const result = options.parse(raw);
      let rejection = result.ok ? undefined : result.rejection;
      if (result.ok) {
        const stamp = arrival();
        rejection = tooFarAhead(result.record.mtime, stamp);
        if (rejection === undefined) {
          const line = recordLine(result.record, stamp);
          const seq = resume.received(resumeBound(result.record.mtime, stamp), 2);
          pushKafka({ seq, topic: options.rsvpTopic, key: result.record.city.key, value: line });
          heldBytes += line.length;
          firehose.push({ seq, line });
        }
      }
      if (rejection !== undefined) {
        const text = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
        deadLetter(rejection.reason, rejection.detail, text);
      }
      if (!isPaused && (inFlight() > maxInFlight || heldBytes > maxInFlightBytes)) {
        isPaused = true;
        paused += 1;
        feed?.pause();
      }
    },
  });

  /**
   * Ticks go through the same sender as the records, so one producer request is in flight at a
   * time (the idempotent producer's sequence numbers). Each holds the durable point where it
   * is, as a dead letter does, until Kafka has it. Returns what stops them.
   *
   * A round waits while there is no durable point (a topic without one, FEED_RESUME=off, and
   * nothing received yet): its ticks would carry none, and as each partition's last record they
   * would hide the points under them from the next task's readResumePoint, which reads only the
   * last records. A partition added to the topic is listed at once, but the producer may not
   * know it for up to its metadata's age (5 minutes): a tick there is lost (the producer
   * sends it as best effort, renewable-producer.ts), and a later round's lands.
   */
  function startTicks(): () => void {
    const ticking = options.partitionTicks;
    if (!ticking) return () => {};
    let stopped = false;
    let inRound = false;
    let waitingForPoint: NodeJS.Timeout | undefined;
    const round = async () => {
      if (stopped || inRound) return;
      if (resume.durableMtime <= 0) {
        waitingForPoint ??= setTimeout(() => {
          waitingForPoint = undefined;
          void round();
        }, POINT_WAIT_MS).unref();
        return;
      }
      clearTimeout(waitingForPoint);
      waitingForPoint = undefined;
      inRound = true;
      let partitions: number[];
      try {
        partitions = await ticking.partitions();
      } catch (error) {
        try {
          ticking.onFailure?.(error instanceof Error ? error : new Error(String(error)));
        } catch {
          // A failing report of a failure: the next round tries again all the same.
        }
        return;
      } finally {
        inRound = false;
      }
      // The feed ended while the partitions were asked for: the sinks are draining.
      if (stopped) return;
      const value = tickValue(Date.now());
      for (const partition of partitions)
        pushKafka({
          seq: resume.received(undefined, 1),
          topic: options.rsvpTopic,
          partition,
          value,
          tick: true,
        });
    };
    void round();
    const timer = setInterval(() => void round(), ticking.everyMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
      clearTimeout(waitingForPoint);
    };
  }

  const drainSinks = async () => {
    const results = await Promise.allSettled([kafka.drain(), firehose.drain()]);
    const failures = results.flatMap((result) =>
      result.status === "rejected" ? [(result.reason as Error).message] : [],
    );
    if (failures.length > 0) throw new Error(failures.join("; "));
  };
  const stopTicks = startTicks();
  const finished = feed.ended.then(() => {
    stopTicks();
    return drainSinks();
  });
  finished.catch(() => {});

  return {
    counters: () => ({
      received,
      produced: kafka.sent - deadLettered - ticks,
      ticks,
      sentToFirehose: firehose.sent,
      deadLettered,
      rejected: { ...rejected },
      retried: { kafka: kafka.failures, firehose: firehose.failures },
      reconnects: feed?.stats.reconnects ?? 0,
      oversizedFrames: feed?.stats.oversizedFrames ?? 0,
      paused,
    }),
    durableMtime: () => resume.durableMtime,
    unsent: () => ({ kafka: kafka.unsent, firehose: firehose.unsent }),
    heldBytes: () => heldBytes,
    finished,
    async stop() {
      await feed?.close();
      await finished;
    },
  };
}

/** The items whose lines `undelivered` names, each line taken as often as it is named. */
function undeliveredItems(items: FirehoseItem[], undelivered: string[]): FirehoseItem[] {
  const left = new Map<string, number>();
  for (const line of undelivered) left.set(line, (left.get(line) ?? 0) + 1);
  return items.filter((item) => {
    const count = left.get(item.line) ?? 0;
    if (count === 0) return false;
    left.set(item.line, count - 1);
    return true;
  });
}
