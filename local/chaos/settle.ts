/**
 * When the pipeline has ridden out a fault: counting has caught up with the RSVP topic (the
 * counting group's committed offsets at the topic's end), and then nothing moves for a while.
 */
import type { Kafka } from "kafkajs";
import { sleep } from "../../functions/shared/backoff.js";
import type { ChaosFeed } from "./feed-server.js";
import { grewPastTicks, topicSize } from "./ledger.js";

export interface SettleTarget {
  kafka: Kafka;
  rsvpTopic: string;
  deadLetterTopic: string;
  /** The counting worker's consumer group (the event source's). */
  groupId: string;
}

/** Committed offsets of the counting group behind the RSVP topic's end: records not yet counted. */
export async function countingLag({ kafka, rsvpTopic, groupId }: SettleTarget): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [end, committed] = await Promise.all([
      admin.fetchTopicOffsets(rsvpTopic),
      admin.fetchOffsets({ groupId, topics: [rsvpTopic] }),
    ]);
    const done = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]),
    );
    return end.reduce((lag, p) => lag + Number(p.high) - (done.get(p.partition) ?? 0), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Until counting has caught up and nothing moves for 3 s (at most `timeoutMs`). */
export async function quiesce(target: SettleTarget, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    try {
      const signature = JSON.stringify([
        await topicSize(target.kafka, target.rsvpTopic),
        await topicSize(target.kafka, target.deadLetterTopic),
        await countingLag(target),
      ]);
      if (signature !== last) {
        last = signature;
        stableSince = Date.now();
      } else if (Date.now() - stableSince > 3000 && JSON.parse(signature)[2] === 0) return true;
    } catch {
      stableSince = Date.now();
    }
    await sleep(500);
  }
  return false;
}

/**
 * Recovered: after the (last) fault was lifted, the ingest listens to the feed again (after a
 * drop it reconnects with backoff), records reach Kafka again (if the feed still played then:
 * the topic grew past `topicAtLift` by more than a restarted ingest's ticks) and counting has caught up with them. Resolves with the
 * moment that held (epoch ms), or null after `timeoutMs`.
 */
export async function recovery(
  target: SettleTarget & { feed: ChaosFeed },
  { feedStillPlaying, topicAtLift }: { feedStillPlaying: boolean; topicAtLift: number },
  timeoutMs: number,
): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const produced =
        !feedStillPlaying || (await grewPastTicks(target.kafka, target.rsvpTopic, topicAtLift));
      if (target.feed.books.connected() > 0 && produced && (await countingLag(target)) === 0)
        return Date.now();
    } catch {
      // The broker may still be coming back.
    }
    await sleep(250);
  }
  return null;
}
