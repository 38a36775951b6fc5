/**
 * One MSK batch: decode, then read-plan-apply until every RSVP's state and counts reflect it.
 * Poison records are dead-lettered and skipped, so they never block their partition; only an
 * infrastructure error (DynamoDB unreachable, throttled past the SDK's retries) fails the batch.
 */
import { backoffPause } from "../shared/backoff.js";
import type { KafkaMessage } from "../shared/msk-event.js";
import { decodeBatch, planTransactions, stateChanges } from "./counting.js";
import type { CountsStore } from "./counts-store.js";

export class ConcurrentUpdateError extends Error {
  override readonly name = "ConcurrentUpdateError";
}

export interface ProcessBatchDependencies {
  store: CountsStore;
  tableName: string;
  /** Lifetime of an RSVP's state (and of a dead letter) after its last write: the dedup horizon. */
  stateTtlSeconds: number;
  /** How long after reading a message the topic may deliver it again (topic-retention.ts). */
  keepAliveSeconds: number;
  now?: () => number;
  /** Re-reads after a lost race on a state item, before giving the batch back to Lambda's retry. */
  maxAttempts?: number;
  /** Waits between attempts (jittered, growing); tests pass a no-op. */
  pause?: (attempt: number) => Promise<void>;
  /**
   * Day markers this writer has written (see PlanOptions.markedDays); grows as transactions
   * succeed. Kept across batches by the handler (one set per container); absent, every batch
   * writes the markers of its days again.
   */
  markedDays?: Set<string>;
}

export interface BatchResult {
  /** Kafka records in the batch. */
  records: number;
  /** RSVPs counted for the first time. */
  counted: number;
  /** RSVPs already counted whose answer, guests, day or city changed. */
  changed: number;
  /** Unchanged RSVPs written again only to outlive a redelivery from the topic. */
  refreshed: number;
  /**
   * Countable messages that changed nothing by themselves: exact duplicates, stale versions,
   * and versions a newer one of the same batch superseded.
   */
  unchanged: number;
  /** Poison records dead-lettered for the first time. */
  deadLettered: number;
  /** Poison records of a batch delivered again, whose dead letters were already kept. */
  deadLetteredBefore: number;
  transactions: number;
  /** Re-reads after another writer changed a state first (or held an item). */
  conflicts: number;
}

/**
 * What a batch's runs have applied. The handler runs a batch again after a transient failure
 * (retryTransient) and passes the same tally to each run: a run reads back what the runs before
 * it applied as state, and without the tally would report those RSVPs as unchanged.
 */
export type AppliedTally = Pick<
  BatchResult,
  "counted" | "changed" | "refreshed" | "transactions" | "conflicts"
>;

export const nothingApplied = (): AppliedTally => ({
  counted: 0,
  changed: 0,
  refreshed: 0,
  transactions: 0,
  conflicts: 0,
});

export async function processBatch(
  kafkaMessages: KafkaMessage[],
  dependencies: ProcessBatchDependencies,
  applied: AppliedTally = nothingApplied(),
): Promise<BatchResult> {
  const {
    store,
    tableName,
    stateTtlSeconds,
    keepAliveSeconds,
    now = Date.now,
    maxAttempts = 8,
    pause = jitteredPause,
    markedDays = new Set<string>(),
  } = dependencies;
  const { rsvps, messages, poison } = decodeBatch(kafkaMessages);

  for (let attempt = 1; ; attempt++) {
    const stored = await store.readStates([...rsvps.keys()]);
    const nowMs = now();
    const changes = stateChanges(rsvps, stored, { nowMs, keepAliveSeconds });
    const plan = planTransactions(changes, {
      tableName,
      nowMs,
      stateTtlSeconds,
      keepAliveSeconds,
      markedDays,
    });
    let conflict = false;
    for (const transaction of plan) {
      if ((await store.applyTransaction(transaction.actions)) === "conflict") {
        conflict = true;
        break;
      }
      applied.transactions += 1;
      for (const marker of transaction.markedDays) markedDays.add(marker);
      applied.counted += transaction.newRsvps;
      applied.changed += transaction.changedRsvps;
      applied.refreshed += transaction.refreshedRsvps;
    }
    if (!conflict) break;
    // What was applied before the conflict is read back as state and not applied again.
    applied.conflicts += 1;
    if (attempt >= maxAttempts) {
      throw new ConcurrentUpdateError(
        `RSVP states kept changing under this batch (${attempt} attempts)`,
      );
    }
    await pause(attempt);
  }
  const newLetters = await store.putDeadLetters(poison, now(), stateTtlSeconds);
  return {
    records: kafkaMessages.length,
    ...applied,
    unchanged: messages - applied.counted - applied.changed,
    deadLettered: newLetters,
    deadLetteredBefore: poison.length - newLetters,
  };
}

/** Full jitter over a growing cap: concurrent writers of one RSVP stop colliding. */
const jitteredPause = (attempt: number) => backoffPause(attempt, { baseMs: 20, capMs: 1000 });
