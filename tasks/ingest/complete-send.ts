/**
 * Sends that write every partition they were given, or fail.
 *
 * kafkajs 2.2.4 (its last release) can resolve `sendBatch` without having written some of the
 * batch's partitions (kafkajs#1303 and the open PR #1798). Within one send it keeps the answer of
 * each broker that has answered, across its own retries, and a retry sends only to brokers
 * without an answer. When a broker fails (its connection closed, or NOT_LEADER while a broker is
 * patched or replaced) and its partitions' leadership moves to a broker that already answered,
 * the retry sends those partitions to nobody, and the send resolves with the metadata of the
 * other partitions only. MSK patches its brokers one at a time, so on a two-broker cluster this
 * is the common case of a broker restart, not a rare one. The records would be lost, and the
 * ingest's durable point (resume-point.ts) would move past them.
 *
 * So the ingest's producer places each message with a partitioner that remembers where it put
 * it (the same Java-compatible murmur2 placement), checks the partitions the send answered for,
 * and sends what is left again: to the same partitions (its keys place them there again), with
 * the sequence numbers kafkajs gave back when the failed broker's request failed, so the broker's
 * idempotence still holds. If partitions are still left after `attempts` sends, the send fails
 * and its sender sends the whole batch again (the partitions already written then hold copies,
 * which the counting takes once).
 */
import {
  type ICustomPartitioner,
  type Message,
  Partitioners,
  type ProducerBatch,
  type RecordMetadata,
  type TopicMessages,
} from "kafkajs";

/** Where the partitioner put each message, by the message object kafkajs passed it. */
export type Placements = WeakMap<Message, number>;

/** kafkajs's default partitioner, remembering each message's partition in `placements`. */
export function placingPartitioner(placements: Placements): ICustomPartitioner {
  return () => {
    const place = Partitioners.DefaultPartitioner();
    return (args) => {
      const partition = place(args);
      placements.set(args.message, partition);
      return partition;
    };
  };
}

/**
 * The messages of `batch` on a partition that `written` does not answer for, but those
 * `bestEffort` names: a message that may be lost (a tick, partition-tick.ts), so that one to a
 * partition kafkajs does not know yet (it sends nothing there, unanswered, until its metadata
 * is refreshed: cluster/index.js findLeaderForPartitions) never makes the rest go again.
 */
export function unwritten(
  batch: TopicMessages[],
  written: RecordMetadata[],
  placements: Placements,
  bestEffort: (message: Message) => boolean = () => false,
): TopicMessages[] {
  const answered = new Set(written.map((r) => `${r.topicName}\u0000${r.partition}`));
  return batch
    .map(({ topic, messages }) => ({
      topic,
      messages: messages.filter((message) => {
        if (bestEffort(message)) return false;
        const partition = placements.get(message);
        return partition === undefined || !answered.has(`${topic}\u0000${partition}`);
      }),
    }))
    .filter(({ messages }) => messages.length > 0);
}

export class IncompleteSendError extends Error {
  override readonly name = "IncompleteSendError";
  constructor(
    readonly messages: number,
    readonly partitions: string[],
    attempts: number,
  ) {
    super(
      `Kafka took the send but wrote no record of ${messages} messages (partitions ${partitions.join(", ")}) after ${attempts} sends`,
    );
  }
}

/** What a partial send left, for a log line. */
export interface PartialSend {
  attempt: number;
  messages: number;
  partitions: string[];
}

/**
 * Sends `batch` with `send` (kafkajs's sendBatch, its partitioner `placingPartitioner(placements)`)
 * until every message's partition has answered, at most `attempts` times.
 */
export async function sendCompletely(
  send: (batch: ProducerBatch) => Promise<RecordMetadata[]>,
  batch: ProducerBatch,
  placements: Placements,
  options: {
    attempts?: number;
    onPartial?: (partial: PartialSend) => void;
    /** Messages not sent again when unanswered ({@link unwritten}). */
    bestEffort?: (message: Message) => boolean;
  } = {},
): Promise<RecordMetadata[]> {
  const attempts = options.attempts ?? 3;
  const answered: RecordMetadata[] = [];
  let pending = batch.topicMessages ?? [];
  for (let attempt = 1; ; attempt += 1) {
    const written = await send({ ...batch, topicMessages: pending });
    answered.push(...written);
    pending = unwritten(pending, written, placements, options.bestEffort);
    if (pending.length === 0) return answered;
    const messages = pending.reduce((sum, { messages }) => sum + messages.length, 0);
    const partitions = [
      ...new Set(
        pending.flatMap(({ topic, messages }) =>
          messages.map((message) => `${topic}-${placements.get(message) ?? "?"}`),
        ),
      ),
    ].sort();
    if (attempt >= attempts) throw new IncompleteSendError(messages, partitions, attempt);
    options.onPartial?.({ attempt, messages, partitions });
  }
}
