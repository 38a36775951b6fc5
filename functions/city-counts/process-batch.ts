/**
 * One MSK batch: decode, then read-plan-apply until every message is counted exactly once.
 * Poison records are dead-lettered and skipped, so they never block their partition.
 */
import type { KafkaMessage } from "../shared/msk-event.js";
import { decodeBatch, type Plan, planTransactions, seenKeyOf } from "./counting.js";
import type { CountsStore } from "./counts-store.js";

export class ConcurrentUpdateError extends Error {
  override readonly name = "ConcurrentUpdateError";
}

export interface ProcessBatchDependencies {
  store: CountsStore;
  tableName: string;
  ttlSeconds: number;
  now?: () => number;
  /** Re-plans after a lost race on a seen item, before giving the batch back to Lambda's retry. */
  maxAttempts?: number;
}

export interface BatchResult {
  /** Kafka records in the batch. */
  records: number;
  /** Messages counted by this invocation. */
  counted: number;
  /** Messages counted before (a redelivery, a retry, the same message twice). */
  duplicates: number;
  deadLettered: number;
  transactions: number;
}

export async function processBatch(
  kafkaMessages: KafkaMessage[],
  dependencies: ProcessBatchDependencies,
): Promise<BatchResult> {
  const { store, tableName, ttlSeconds, now = Date.now, maxAttempts = 5 } = dependencies;
  const { messages, poison, duplicatesInBatch } = decodeBatch(kafkaMessages);
  const result: BatchResult = {
    records: kafkaMessages.length,
    counted: 0,
    duplicates: duplicatesInBatch,
    deadLettered: poison.length,
    transactions: 0,
  };

  let firstPlan: Plan | undefined;
  for (let attempt = 1; ; attempt++) {
    const seen = await store.readSeen(messages.map(seenKeyOf));
    const plan = planTransactions(messages, seen, { tableName, nowMs: now(), ttlSeconds });
    firstPlan ??= plan;
    let conflict = false;
    for (const transaction of plan.transactions) {
      if ((await store.applyTransaction(transaction)) === "conflict") {
        conflict = true;
        break;
      }
      result.transactions += 1;
    }
    if (!conflict) break;
    // What was applied before the conflict is seen on the next read and not counted again.
    if (attempt >= maxAttempts) {
      throw new ConcurrentUpdateError(
        `seen items kept changing under this batch (${attempt} attempts)`,
      );
    }
  }
  // As seen when the batch started: only a concurrent writer (there should be none, one
  // partition feeds one invocation at a time) could have counted some of these in between.
  result.counted = firstPlan.counted;
  result.duplicates += firstPlan.alreadyCounted;
  await store.putDeadLetters(poison, now(), ttlSeconds);
  return result;
}
