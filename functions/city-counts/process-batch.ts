/**
 * One MSK batch, each partition on its own and the partitions side by side: decode, then
 * read-plan-write until every RSVP's state and the counters reflect it (counting.ts has the
 * scheme). Poison records are dead-lettered and skipped, so they never block their partition;
 * only an infrastructure error (DynamoDB unreachable, throttled past the SDK's retries) fails
 * the batch.
 */
import { backoffPause } from "../shared/backoff.js";
import type { KafkaMessage } from "../shared/msk-event.js";
import {
  behindFenceLetters,
  counterKeysToRead,
  dayMarkerWrite,
  decodeBatch,
  keyId,
  type PoisonRecord,
  partitionIdOf,
  planCounterWrites,
  planStateWrites,
  type StoredState,
  stateChanges,
  type UnsettledBatch,
  unsettledWrites,
  type WriteAction,
} from "./counting.js";
import type { CountsStore, StoreCallOptions } from "./counts-store.js";

export class ConcurrentUpdateError extends Error {
  override readonly name = "ConcurrentUpdateError";
}

/**
 * The run reached its deadline ({@link ProcessBatchDependencies.signal}) and stopped where it
 * stood, its batch's RSVPs recorded: not transient (the time is spent), so the invocation fails
 * and the event source runs the batch again.
 */
export class OutOfTimeError extends Error {
  override readonly name = "OutOfTimeError";
}

/** How long a failed run may take to record its batch's RSVPs, by default. */
export const RECORD_WRITE_TIMEOUT_MS = 5_000;

export interface ProcessBatchDependencies {
  store: CountsStore;
  tableName: string;
  /**
   * Lifetime of an RSVP's state (and of a dead letter) after its last write: the dedup horizon
   * plus how long the topic keeps a record (handler.ts).
   */
  stateTtlSeconds: number;
  /** How long after reading a message the topic may deliver it again (topic-retention.ts). */
  keepAliveSeconds: number;
  now?: () => number;
  /** Re-reads after a lost race on a state item, before giving the batch back to Lambda's retry. */
  maxAttempts?: number;
  /** Waits between attempts (jittered, growing); tests pass a no-op. */
  pause?: (attempt: number) => Promise<void>;
  /**
   * Day markers this writer has written (see PlanOptions.markedDays); grows as markers are
   * written. Kept across batches by the handler (one set per container); absent, every batch
   * writes the markers of its days again.
   */
  markedDays?: Set<string>;
  /**
   * Records of failed batches (unsettledWrites) this writer could not write when its run
   * failed, by item: its next run writes them before anything else. Kept across batches by the
   * handler (one map per container), so an outage that refused the record and outlasts the
   * event source's retries loses nothing while this container counts on.
   */
  unwrittenRecords?: Map<string, WriteAction>;
  /**
   * The run's deadline: once aborted, every DynamoDB call of the run ends where it stands, the
   * failed partitions' records are written (bounded by `recordWriteTimeoutMs` alone, since this
   * signal is spent) and the batch fails with {@link OutOfTimeError}. The handler aborts it
   * before the function's timeout: a run the timeout ends reaches no error path, so its batch's
   * changes, left in states, would have no record, and the container, with any record an outage
   * refused, would be replaced.
   */
  signal?: AbortSignal;
  /** Bound of the record writes of a failed run ({@link RECORD_WRITE_TIMEOUT_MS}). */
  recordWriteTimeoutMs?: number;
}

export interface BatchResult {
  /** Kafka records in the batch. */
  records: number;
  /**
   * Tick records of the ingest (functions/shared/partition-tick.ts): counted as nothing, but
   * their batch takes the changes of the partition's set-aside batches.
   */
  ticks: number;
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
  /** State items written. */
  stateWrites: number;
  /** Counter items written (each once per batch and partition that moves it). */
  counterWrites: number;
  /** Re-reads after another writer changed a state or a counter's fence first. */
  conflicts: number;
}

/**
 * What a batch's runs have applied. The handler runs a batch again after a transient failure
 * (retryTransient) and passes the same tally to each run: a run reads back what the runs before
 * it applied as state, and without the tally would report those RSVPs as unchanged.
 */
export type AppliedTally = Pick<
  BatchResult,
  "counted" | "changed" | "refreshed" | "stateWrites" | "counterWrites" | "conflicts"
>;

export const nothingApplied = (): AppliedTally => ({
  counted: 0,
  changed: 0,
  refreshed: 0,
  stateWrites: 0,
  counterWrites: 0,
  conflicts: 0,
});

export async function processBatch(
  kafkaMessages: KafkaMessage[],
  dependencies: ProcessBatchDependencies,
  applied: AppliedTally = nothingApplied(),
): Promise<BatchResult> {
  try {
    return await countBatch(kafkaMessages, dependencies, applied);
  } catch (error) {
    // Past the deadline, whatever failed first (another partition's throttle, say) is not a
    // reason to run the batch again with the time spent.
    if (!dependencies.signal?.aborted || error instanceof OutOfTimeError) throw error;
    throw new OutOfTimeError(
      "the run reached its deadline before the function's timeout and stopped; the failed partitions' RSVPs are recorded for their next runs, and the event source runs the batch again",
      { cause: error },
    );
  }
}

/** The batch's work; {@link processBatch} maps a failure past the deadline. */
async function countBatch(
  kafkaMessages: KafkaMessage[],
  dependencies: ProcessBatchDependencies,
  applied: AppliedTally,
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
    unwrittenRecords = new Map<string, WriteAction>(),
    signal,
    recordWriteTimeoutMs = RECORD_WRITE_TIMEOUT_MS,
  } = dependencies;
  const call: StoreCallOptions = signal ? { abortSignal: signal } : {};
  if (unwrittenRecords.size > 0) {
    // Before this batch can move a fence past the changes they point to.
    const records = [...unwrittenRecords.values()];
    await store.applyWrites(records, undefined, call);
    for (const record of records) unwrittenRecords.delete(recordId(record));
  }
  const poison: PoisonRecord[] = [];
  let messages = 0;
  let ticks = 0;
  // A partition's changes are fenced by its offsets, so each partition is counted on its own.
  const partitions = new Map<string, KafkaMessage[]>();
  for (const message of kafkaMessages) {
    const tp = partitionIdOf(message);
    const messagesOfTp = partitions.get(tp);
    if (messagesOfTp) messagesOfTp.push(message);
    else partitions.set(tp, [message]);
  }
  const parts = [...partitions].map(([tp, partitionMessages]) => {
    const decoded = decodeBatch(partitionMessages);
    poison.push(...decoded.poison);
    messages += decoded.messages;
    ticks += decoded.ticks;
    return { tp, decoded, offsets: partitionMessages.map((message) => message.offset) };
  });
  // Side by side: each partition has its own fences, and what two partitions share (an RSVP
  // whose versions name two cities) is a race the state's version settles, as between two
  // invocations. Every partition ends before the batch does, so a failed one's record is
  // written before the event source retries.
  const outcomes = await Promise.allSettled(
    parts.map(async ({ tp, decoded, offsets }) => {
      const lastOffset = Math.max(...offsets);
      try {
        await countPartition(tp, decoded, lastOffset);
      } catch (error) {
        // Before the batch goes back: should the event source set it aside, the partition's
        // next batches take the changes its states may hold from this record (counting.ts).
        // Best effort: what refused the batch may refuse this too, and the batch's own error is
        // the one to report.
        if (decoded.rsvps.size > 0) {
          const range = { firstOffset: Math.min(...offsets), lastOffset };
          const options = { tableName, nowMs: now(), stateTtlSeconds };
          const records = unsettledWrites(tp, range, decoded.rsvps.keys(), options);
          const bounded = { abortSignal: AbortSignal.timeout(recordWriteTimeoutMs) };
          await store.applyWrites(records, undefined, bounded).catch(() => {
            for (const record of records) unwrittenRecords.set(recordId(record), record);
          });
        }
        throw error;
      }
    }),
  );
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  const newLetters = await store.putDeadLetters(poison, now(), stateTtlSeconds, call);
  return {
    records: kafkaMessages.length,
    ticks,
    ...applied,
    unchanged: messages - applied.counted - applied.changed,
    deadLettered: newLetters,
    deadLetteredBefore: poison.length - newLetters,
  };

  /** Reads, plans and writes one partition's part of the batch until nothing conflicts. */
  async function countPartition(
    tp: string,
    decoded: ReturnType<typeof decodeBatch>,
    lastOffset: number,
  ): Promise<void> {
    const batchIds = [...decoded.rsvps.keys()];
    // Failed batches of this partition, read once: their RSVPs are read with the batch's own.
    let unsettled: UnsettledBatch[] | null = null;
    // Read again once before a change behind a fence is taken for a skipped message: another
    // writer may have written its state between this run's two reads.
    let lookedAgainBehind = false;
    for (let attempt = 1; ; attempt++) {
      let stored: Map<number, StoredState>;
      if (unsettled === null) {
        [stored, unsettled] = await Promise.all([
          store.readStates(batchIds, call),
          store.readUnsettled(tp, call),
        ]);
        const owed = owedIds(unsettled, decoded.rsvps);
        for (const [rsvpId, state] of owed.length > 0 ? await store.readStates(owed, call) : [])
          stored.set(rsvpId, state);
      } else
        stored = await store.readStates([...batchIds, ...owedIds(unsettled, decoded.rsvps)], call);
      const nowMs = now();
      const options = { tableName, nowMs, stateTtlSeconds, keepAliveSeconds, markedDays };
      const changes = stateChanges(decoded.rsvps, stored, { nowMs, keepAliveSeconds });
      // Every counter a change may move: the merged states' (an RSVP that moves city and
      // keeps an earlier day counts on a counter neither its stored nor its batch state names).
      const fences = await store.readFences(
        counterKeysToRead([...stored.values(), ...changes.map((change) => change.after)]),
        call,
      );
      const states = planStateWrites(
        changes,
        stored,
        { tp, lastOffsets: decoded.lastOffsets, fences },
        options,
      );
      if (states.behind.length > 0 && !lookedAgainBehind) {
        lookedAgainBehind = true;
        attempt -= 1;
        continue;
      }
      for (const rsvpId of states.behind) {
        const behindMessages = decoded.messagesByRsvp.get(rsvpId) ?? [];
        for (const letter of behindFenceLetters(behindMessages)) {
          if (!poison.some((known) => known.source === letter.source)) poison.push(letter);
        }
      }
      // Tallied as each write ends, so a run that fails midway reports what it applied.
      const stateOutcomes = await store.applyWrites(
        states.writes,
        (i, outcome) => {
          if (outcome === "conflict") return;
          applied.stateWrites += 1;
          const kind = states.kinds[i];
          if (kind === "new") applied.counted += 1;
          else if (kind === "changed") applied.changed += 1;
          else applied.refreshed += 1;
        },
        call,
      );
      let conflict = stateOutcomes.includes("conflict");
      if (!conflict) {
        const counters = planCounterWrites(
          states.statesAfter.values(),
          { tp, lastOffset, fences },
          options,
        );
        // Markers first: a crash after them leaves a day the counts API finds, whose counts
        // the batch's next run writes; after the counts, a crash would leave counts unfound.
        const markers = counters.markedDays.map((marker) => dayMarkerWrite(marker, tableName));
        if ((await store.applyWrites(markers, undefined, call)).includes("conflict"))
          throw new Error("a day marker write reported a failed condition it does not have");
        for (const marker of counters.markedDays) markedDays.add(marker);
        const counterOutcomes = await store.applyWrites(
          counters.writes,
          (_, outcome) => {
            if (outcome === "applied") applied.counterWrites += 1;
          },
          call,
        );
        conflict = counterOutcomes.includes("conflict");
      }
      if (!conflict) break;
      // What was written before the conflict is read back and not written again; another
      // writer of the partition may have failed meanwhile, so its records are read again too.
      applied.conflicts += 1;
      unsettled = null;
      if (attempt >= maxAttempts) {
        throw new ConcurrentUpdateError(
          `RSVP states or counters kept changing under this batch (${attempt} attempts)`,
        );
      }
      await pause(attempt);
    }
    // Every change their states hold up to lastOffset is in the counters now. A failed batch
    // past it (read by a run of an older batch, late) is left for the runs that reach it.
    const settled = (unsettled ?? []).filter((batch) => batch.lastOffset <= lastOffset);
    if (settled.length > 0) await store.forgetUnsettled(tp, settled, call);
  }
}

/** A record's item, by its key: the same batch's runs write the same items. */
const recordId = (record: WriteAction) =>
  keyId({ pk: record.Put?.Item.pk?.S ?? "", sk: record.Put?.Item.sk?.S ?? "" });

/** The RSVPs of failed batches that are not in this one: read beside the batch's own. */
const owedIds = (unsettled: UnsettledBatch[], batch: ReadonlyMap<number, unknown>) => [
  ...new Set(unsettled.flatMap((b) => b.rsvpIds).filter((rsvpId) => !batch.has(rsvpId))),
];

/** Full jitter over a growing cap: concurrent writers of one RSVP stop colliding. */
const jitteredPause = (attempt: number) => backoffPause(attempt, { baseMs: 20, capMs: 1000 });
