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
 * newest such header back from the topic's partitions and connects with `since_mtime` set just
 * below it. What it receives twice is counted once (the counting dedups by rsvp_id and mtime);
 * the raw landing may hold it twice, which the Spark job's dedup removes.
 */
import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";

/** The header every produced record carries: the durable point when it was sent, epoch ms. */
export const RESUME_HEADER = "rsvp-atlas-resume-mtime";
/** The throwaway consumer groups that read it back; the task role may join only these. */
export const RESUME_GROUP_PREFIX = "rsvp-atlas-ingest-resume-";

/**
 * The messages of one ingest task on their way to the sinks, in the order received. A message
 * is done when every sink it goes to has it; the durable point is the newest mtime with every
 * message received up to it done.
 */
export class ResumePoint {
  private nextSeq = 0;
  private lowestOpen = 0;
  private readonly open = new Map<number, { mtime: number | undefined; sinksLeft: number }>();
  /** Every message received with an mtime up to this one is held by all its sinks. */
  durableMtime: number;
  /** The newest mtime received (a reconnect within the task asks from here). */
  newestMtime: number;

  constructor(startMtime = 0) {
    this.durableMtime = startMtime;
    this.newestMtime = startMtime;
  }

  /** A message received, going to `sinks` sinks; its sequence number for {@link done}. */
  received(mtime: number | undefined, sinks: number): number {
    // Before a task's first message there is nothing it could lose: a task killed before
    // anything was held must still leave its successor a point to ask from (just below it).
    if (this.durableMtime === 0 && mtime !== undefined) this.durableMtime = mtime - 1;
    const seq = this.nextSeq++;
    this.open.set(seq, { mtime, sinksLeft: sinks });
    if (mtime !== undefined) this.newestMtime = Math.max(this.newestMtime, mtime);
    return seq;
  }

  /** One sink holds message `seq`. */
  done(seq: number): void {
    const entry = this.open.get(seq);
    if (!entry) return;
    entry.sinksLeft -= 1;
    while (true) {
      const lowest = this.open.get(this.lowestOpen);
      if (!lowest || lowest.sinksLeft > 0) break;
      if (lowest.mtime !== undefined) this.durableMtime = Math.max(this.durableMtime, lowest.mtime);
      this.open.delete(this.lowestOpen);
      this.lowestOpen += 1;
    }
  }
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

/**
 * The newest durable point any record on `topic` carries (the last record of each partition),
 * or undefined for a topic without one. Reads with a throwaway consumer group that commits
 * nothing.
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
  const consumer = kafka.consumer({ groupId: `${RESUME_GROUP_PREFIX}${randomUUID()}` });
  let newest: number | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    const seen = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading the resume point of ${topic} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const header = message.headers?.[RESUME_HEADER];
            const value = Number((Array.isArray(header) ? header[0] : header)?.toString());
            if (Number.isFinite(value) && value > 0) newest = Math.max(newest ?? 0, value);
            if (BigInt(message.offset) >= (last.get(partition) ?? 0n)) seen.add(partition);
            if (seen.size === last.size) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
      for (const [partition, offset] of last) {
        consumer.seek({ topic, partition, offset: offset.toString() });
      }
    });
  } finally {
    await consumer.disconnect();
  }
  return newest;
}
