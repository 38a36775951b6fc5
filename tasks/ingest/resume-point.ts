/**
 * Where the ingest picks the feed up again after a restart, so a killed task loses nothing.
 *
 * Meetup's stream takes `since_mtime` on connect and first sends again what changed after that
 * time ("so that any missed notifications can be sent in an immediate response", Meetup API
 * docs, /2/rsvps); its messages come in mtime order. The ingest holds up to `maxInFlight`
 * received messages in memory on their way to Kafka and Firehose: a SIGKILL (a crash, an ECS
 * task killed after its stop timeout) loses them unless the next task asks the feed for them
 * again. So every record the ingest produces carries, in a header, the mtime up to which every
 * message it received is held by both sinks (the durable point), and a starting task reads the
 * header of the newest record back from the topic's partitions and connects with `since_mtime`
 * set just below it. What it receives twice is counted once (the counting dedups by rsvp_id and
 * mtime); the raw landing may hold it twice, which the Spark job's dedup removes.
 */
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import { CALLER_RETRIED_GROUP_PREFIX } from "../../functions/shared/kafka-log.js";

/** The header every produced record carries: the durable point when it was sent, epoch ms. */
export const RESUME_HEADER = "rsvp-atlas-resume-mtime";
/**
 * The throwaway consumer groups that read it back; the task role may join only these. Their
 * crashes are this code's to retry, so the shared Kafka log says them as warnings.
 */
export const RESUME_GROUP_PREFIX = CALLER_RETRIED_GROUP_PREFIX;

/**
 * The messages of one ingest task on their way to the sinks. A message is done when every sink
 * it goes to has it. The durable point is the greatest mtime such that every message received
 * with an mtime up to it is done: one below the least mtime still in flight, whatever the order
 * the feed sent them in (a message can come after one of a later mtime: a recording replayed
 * out of order, or a live feed's own jitter), and the newest mtime received when nothing is in
 * flight. So it can go back, when a message arrives below it; readResumePoint reads the point of
 * the newest record for that reason, not the greatest point. A dead letter has no mtime: while it
 * is in flight the point stays at the newest mtime received before it (the feed, asked from
 * there, sends it again). What the point cannot cover is a message the feed sends after the
 * point has passed its mtime and after the records carrying that point are written: a feed out
 * of order by more than the ingest holds in flight.
 */
export class ResumePoint {
  private nextSeq = 0;
  /** Messages in flight: seq → sinks that do not hold it yet. */
  private readonly open = new Map<number, number>();
  /** The bounds of open messages, least first; entries of done messages are dropped lazily. */
  private readonly bounds = new MinHeap();
  /** The newest mtime received (a reconnect within the task asks from here). */
  newestMtime: number;

  constructor(startMtime = 0) {
    this.newestMtime = startMtime;
  }

  /** Every message received with an mtime up to this one is held by all its sinks (0: none). */
  get durableMtime(): number {
    while (this.bounds.size > 0 && !this.open.has(this.bounds.peekSeq())) this.bounds.pop();
    return this.bounds.size > 0
      ? Math.min(this.newestMtime, this.bounds.peekBound())
      : this.newestMtime;
  }

  /** A message received, going to `sinks` sinks; its sequence number for {@link done}. */
  received(mtime: number | undefined, sinks: number): number {
    const seq = this.nextSeq++;
    // A message is safe once the point is below its mtime; a dead letter, once the point is not
    // above the newest mtime received before it (none before it: no point could ask for it).
    const bound =
      mtime !== undefined
        ? mtime - 1
        : this.newestMtime > 0
          ? this.newestMtime
          : Number.POSITIVE_INFINITY;
    this.open.set(seq, sinks);
    this.bounds.push(bound, seq);
    if (mtime !== undefined) this.newestMtime = Math.max(this.newestMtime, mtime);
    return seq;
  }

  /** One sink holds message `seq`. */
  done(seq: number): void {
    const sinksLeft = this.open.get(seq);
    if (sinksLeft === undefined) return;
    if (sinksLeft <= 1) this.open.delete(seq);
    else this.open.set(seq, sinksLeft - 1);
  }
}

/** A binary min-heap of (bound, seq), least bound first. */
class MinHeap {
  private readonly items: [bound: number, seq: number][] = [];

  get size(): number {
    return this.items.length;
  }

  peekBound(): number {
    return this.items[0]?.[0] ?? Number.POSITIVE_INFINITY;
  }

  peekSeq(): number {
    return this.items[0]?.[1] ?? -1;
  }

  push(bound: number, seq: number): void {
    const items = this.items;
    items.push([bound, seq]);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent]?.[0] ?? 0) <= bound) break;
      [items[i], items[parent]] = [items[parent] as [number, number], items[i] as [number, number]];
      i = parent;
    }
  }

  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    items[0] = last;
    let i = 0;
    while (true) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && (items[left]?.[0] ?? 0) < (items[least]?.[0] ?? 0)) least = left;
      if (right < items.length && (items[right]?.[0] ?? 0) < (items[least]?.[0] ?? 0))
        least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least] as [number, number], items[i] as [number, number]];
      i = least;
    }
  }
}

/**
 * The header of the records a send carries, read when kafkajs encodes them (at each of its own
 * tries and each resend, complete-send.ts), not when the send starts: a record then carries the
 * point as of its own timestamp, which is how readResumePoint ranks records. A point taken when
 * the send started could be higher than one a message received during the send's retries
 * brings it down to, on a record stamped after that message arrived. `others` are headers of
 * fixed values beside it.
 */
export function resumeHeaders(
  point: Pick<ResumePoint, "durableMtime">,
  others: Record<string, string> = {},
): Record<string, string> {
  return {
    ...others,
    get [RESUME_HEADER]() {
      return String(point.durableMtime);
    },
  };
}

/**
 * `feedUrl` asking for what changed after `sinceMtime`, or as it is when there is no point yet.
 * One millisecond earlier than the point: a message sharing its mtime may not be held yet.
 */
export function feedUrlSince(feedUrl: string, sinceMtime: number | undefined): string {
  if (!sinceMtime) return feedUrl;
  const url = new URL(feedUrl);
  url.searchParams.set("since_mtime", String(sinceMtime - 1));
  return url.toString();
}

/** A record's durable point and the time its producer stamped it with (epoch ms). */
export interface StampedPoint {
  stamp: bigint;
  point: number;
}

/** Of two records' points, the newer record's; among equal stamps the lower point. */
export function newerPoint(a: StampedPoint | undefined, b: StampedPoint): StampedPoint {
  if (a === undefined || b.stamp > a.stamp) return b;
  return b.stamp === a.stamp && b.point < a.point ? b : a;
}

/**
 * The durable point of the newest record on `topic` (of the last record of each partition, the
 * one the producer stamped last; among equal stamps the lowest point), or undefined for a topic
 * without one. The newest, not the greatest: a task's point goes back when a message arrives
 * below it (ResumePoint), and the record written then carries the lower one. Reads with a
 * throwaway consumer group that commits nothing.
 */
export async function readResumePoint(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
): Promise<number | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets: { partition: number; low: string; high: string }[];
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const last = new Map(
    offsets
      .filter((p) => BigInt(p.high) > BigInt(p.low))
      .map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  if (last.size === 0) return undefined;
  // A crash (a broker restarting while the consumer joins or fetches) ends the read at once,
  // for the caller to try again: kafkajs would restart the consumer in a new group session,
  // which forgets the seeks below and waits for records past the end until the timeout.
  const consumer = kafka.consumer({
    groupId: `${RESUME_GROUP_PREFIX}${randomUUID()}`,
    retry: { restartOnFailure: async () => false },
  });
  let newest: StampedPoint | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    const seen = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading the resume point of ${topic} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const header = message.headers?.[RESUME_HEADER];
            const value = Number((Array.isArray(header) ? header[0] : header)?.toString());
            if (Number.isFinite(value) && value > 0) {
              newest = newerPoint(newest, { stamp: BigInt(message.timestamp), point: value });
            }
            if (BigInt(message.offset) >= (last.get(partition) ?? 0n)) seen.add(partition);
            if (seen.size === last.size) resolve();
          },
        })
        .catch(reject);
      for (const [partition, offset] of last) {
        consumer.seek({ topic, partition, offset: offset.toString() });
      }
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return newest?.point;
}
