/**
 * Exactly-once RSVP counts per city, per UTC day and all time, from at-least-once Kafka
 * batches, without transactions. Pure: it decodes a batch and plans single-item DynamoDB
 * writes from the items the table already holds; the store (counts-store.ts) does the I/O.
 * The rule itself is in rsvp-state.ts.
 *
 * Why no transactions: a write inside TransactWriteItems costs twice its units, and at New
 * York's rate (about one RSVP a second, 1-second batches) a batch holds 1.6 RSVPs on average,
 * so a transaction of states and the two counters they move costs 2 + 4/1.6 = 4.5 WRU per RSVP
 * at best. Single-item writes are atomic on their own; what a transaction added, that a crash
 * between a state write and its counter write neither loses nor doubles a count, comes here
 * from fences (README, "Exactly-once counts"):
 *
 * - Every RSVP has one state item (`RSVP#<rsvpId>`): its current version, earliest mtime,
 *   answer, guests and city, a version number, and its pending changes. Each pending change
 *   names the topic-partition and the RSVP's last offset in the batch that caused it (a batch
 *   that covers that offset holds the RSVP, whatever its boundaries), and the counted form of
 *   the RSVP before and after (country, city key, day, answer, guests).
 * - Every counter item keeps, per topic-partition, a fence: the offset up to which changes
 *   caused on that partition are in its counts. A change (tp, o) is in counter K exactly when
 *   K's fence for tp is at least o.
 * - A batch is counted per partition, partitions side by side. For each: fold its messages per
 *   RSVP, read those RSVPs' states and the fences of every counter they touch, write each
 *   changed state (one conditional write, with its new pending change, the changes every
 *   counter has taken dropped), then write each counter once with the sum of the pending
 *   changes of this partition it has not taken, its fence moved to the batch's last offset,
 *   conditioned on the fence it read. A crash after the states leaves their pending changes
 *   behind: the batch comes again (its offsets were not committed), finds its messages already
 *   folded in and nothing new to write, and the counters take the changes the states still
 *   name.
 * - A lost race (a state's version changed since it was read: another event source on the
 *   same topic, or an RSVP's version on another partition; or a counter's fence: another event
 *   source) re-reads and plans again; what was written is read back and not written twice.
 * - A batch the event source sets aside after a run wrote its states and no run wrote all its
 *   counters: the partition's next batches would move the fences past those changes without
 *   reading the states that hold them. So a run that fails records its batch's RSVPs first
 *   (`UNSETTLED#<tp>`, {@link unsettledWrites}; no write while nothing fails), and every run
 *   of the partition reads them with its own and takes their changes before it moves a fence.
 *   The changes stay in the states, which expire: the ingest's tick records (one to every
 *   partition each hour, ../shared/partition-tick.ts) give a quiet partition that next run.
 *   A record the failure refused too stays with the container, whose next run writes it
 *   first (ProcessBatchDependencies.unwrittenRecords), and a run stops at a deadline before the
 *   function's timeout so that it reaches that path. What this cannot hold (a run that dies
 *   before its error path, an outage past the retries, two invocations of one partition at
 *   once) and why a message read again at an offset a fence has passed is a dead letter
 *   (`behind_fence`): docs/streaming-and-counting.md.
 * - Writes per batch and partition: one per changed RSVP, plus one per (day, city) and per
 *   city touched. Exact duplicates and stale versions write nothing (they are found by reading,
 *   so no failed condition is paid for), unless the state would expire before the topic could
 *   deliver the message again: then the state is written unchanged with a later expiry.
 */
import { createHash } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { KafkaMessage } from "../shared/msk-event.js";
import { deadLetterText, RSVP_RECORD_FORMAT } from "../shared/rsvp/dead-letter-text.js";
import { type CountableRecord, countableRecordSchema } from "../shared/rsvp/record-schema.js";
import { cutToBytes } from "../shared/rsvp/text.js";
import type { CountedCity, Counts, RsvpState } from "./rsvp-state.js";
import { countDay, foldMessage, mergeStates, sameState } from "./rsvp-state.js";

/** A dead letter's raw value is cut to this many UTF-8 bytes, so the item stays far below 4 KB. */
export const MAX_DEAD_LETTER_RAW_BYTES = 2048;

/**
 * What a dead letter keeps of a record's value: the fields of the record the ingest writes
 * (an allow-list, dead-letter-text.ts: another producer's `attendee.name` or a free-text field
 * keeps only its name), cut to {@link MAX_DEAD_LETTER_RAW_BYTES}.
 */
export const deadLetterRaw = (value: string) =>
  cutToBytes(deadLetterText(value, RSVP_RECORD_FORMAT), MAX_DEAD_LETTER_RAW_BYTES);
const MAX_DEAD_LETTER_DETAIL_CHARS = 300;

export interface PoisonRecord {
  /** `topic-partition@offset` */
  source: string;
  reason: "no_value" | "not_json" | "invalid_record" | "behind_fence";
  detail: string;
  /** The value, personal data removed, capped. */
  raw: string;
}

export interface DecodedBatch {
  /** Per RSVP, its messages of this batch folded in arrival order. */
  rsvps: Map<number, RsvpState>;
  /** Per RSVP, the offset of its last message in the batch: where its change is fenced. */
  lastOffsets: Map<number, number>;
  /** Per RSVP, its messages in the batch (for a dead letter of them all). */
  messagesByRsvp: Map<number, KafkaMessage[]>;
  /** Countable messages in the batch. */
  messages: number;
  /** Tick records (partition-tick.ts): they count nothing; their batch settles the partition. */
  ticks: number;
  poison: PoisonRecord[];
}

export function decodeBatch(kafkaMessages: KafkaMessage[]): DecodedBatch {
  const rsvps = new Map<number, RsvpState>();
  const lastOffsets = new Map<number, number>();
  const messagesByRsvp = new Map<number, KafkaMessage[]>();
  const poison: PoisonRecord[] = [];
  let messages = 0;
  let ticks = 0;
  for (const message of kafkaMessages) {
    if (message.tick) {
      ticks += 1;
      continue;
    }
    const source = `${message.topic}-${message.partition}@${message.offset}`;
    if (message.value === null) {
      poison.push({ source, reason: "no_value", detail: "the record has no value", raw: "" });
      continue;
    }
    const value = message.value;
    // Only a dead letter keeps its text: valid messages are not cut down for nothing.
    const deadLetterText = () => deadLetterRaw(value);
    let json: unknown;
    try {
      json = JSON.parse(message.value);
    } catch {
      poison.push({
        source,
        reason: "not_json",
        detail: "the value is not JSON",
        raw: deadLetterText(),
      });
      continue;
    }
    const parsed = countableRecordSchema.safeParse(json);
    if (!parsed.success) {
      // Stored with the dead letter and capped: the first problem, on one line, with its path.
      const issue = parsed.error.issues[0];
      const detail = issue
        ? `${issue.path.map(String).join(".") || "(value)"}: ${issue.message}`
        : "invalid";
      poison.push({
        source,
        reason: "invalid_record",
        detail: detail.slice(0, MAX_DEAD_LETTER_DETAIL_CHARS),
        raw: deadLetterText(),
      });
      continue;
    }
    const record: CountableRecord = parsed.data;
    messages += 1;
    rsvps.set(record.rsvpId, foldMessage(rsvps.get(record.rsvpId) ?? null, record));
    lastOffsets.set(record.rsvpId, Math.max(lastOffsets.get(record.rsvpId) ?? -1, message.offset));
    const ofRsvp = messagesByRsvp.get(record.rsvpId);
    if (ofRsvp) ofRsvp.push(message);
    else messagesByRsvp.set(record.rsvpId, [message]);
  }
  return { rsvps, lastOffsets, messagesByRsvp, messages, ticks, poison };
}

/**
 * Dead letters for the messages of an RSVP whose change is behind a counter's fence
 * ({@link StateWritesPlan.behind}): not counted where they were read, counted when produced
 * again (a new offset).
 */
export function behindFenceLetters(messages: KafkaMessage[]): PoisonRecord[] {
  return messages.map((message) => ({
    source: `${message.topic}-${message.partition}@${message.offset}`,
    reason: "behind_fence",
    detail: `a counter's fence for partition ${message.partition} is past offset ${message.offset}: the event source skipped it once (a batch set aside) and read it again; produce the record again to count it`,
    raw: deadLetterRaw(message.value ?? ""),
  }));
}

/** The table's item keys. One table holds RSVP states, counters and dead letters. */
export const itemKeys = {
  /** Counters of one country and day share a partition: the counts API ranks them with one Query. */
  day: (day: string, city: Pick<CountedCity, "key" | "country">) => ({
    pk: `DAY#${day}#${city.country}`,
    sk: city.key,
  }),
  allTime: (city: Pick<CountedCity, "key" | "country">) => ({
    pk: `ALL#${city.country}`,
    sk: city.key,
  }),
  rsvp: (rsvpId: number) => ({ pk: `RSVP#${rsvpId}`, sk: "STATE" }),
  /** One item per day a country has counts on: the counts API finds the latest with one Query. */
  countedDay: (day: string, country: string) => ({ pk: `DAYS#${country}`, sk: day }),
  /**
   * Dead letters of one topic-partition share a partition key: one partition is read by one
   * invocation at a time, so a flood of poison records cannot push one key past DynamoDB's
   * 1,000 WRU/s while the other partitions' letters wait (one key for all used to).
   */
  deadLetter: (source: string) => ({
    pk: `DEADLETTER#${source.slice(0, source.lastIndexOf("@"))}`,
    sk: source,
  }),
  /**
   * The RSVPs of a partition's batch that failed after it may have written their states
   * ({@link unsettledWrites}): one partition key per partition, one item per batch (its offsets)
   * and chunk, so a run that could not read the partition's others never overwrites them.
   */
  unsettled: (tp: string, sk: string) => ({ pk: `UNSETTLED#${tp}`, sk }),
};

export interface ItemKey {
  pk: string;
  sk: string;
}

export const keyId = (key: ItemKey) => `${key.pk}\u0000${key.sk}`;

/** An RSVP's state as the table holds it, with the version a conditional write checks. */
export interface StoredState {
  state: RsvpState;
  version: number;
  /** Changes this RSVP caused that some counter may not have taken yet (see the file comment). */
  pending: PendingChange[];
  /** Epoch seconds when DynamoDB's TTL may delete it. */
  expiresAt: number;
}

export interface PlanOptions {
  tableName: string;
  nowMs: number;
  /**
   * How long a state lives after its last write (and after its event): the dedup horizon plus
   * how long the topic keeps a record (handler.ts), so a copy read late finds it.
   */
  stateTtlSeconds: number;
  /**
   * How long after a message is read the topic may deliver it again (retention, segment roll
   * and the broker's retention check: topic-retention.ts): a state that would expire sooner is
   * written again with a later expiry.
   */
  keepAliveSeconds: number;
  /**
   * Day markers (`<country>#<day>`) this writer has already written: each day's marker is
   * written once per writer (a Lambda container), before the day's first counter writes.
   */
  markedDays?: ReadonlySet<string>;
}

/** An event further ahead than this counts as this far: a hostile event time cannot pin a state. */
export const MAX_EVENT_AHEAD_SECONDS = 400 * 86_400;

/**
 * When an RSVP's state may expire: the dedup horizon after the later of now and its event, so
 * a change made shortly before an event months away still finds the state its first answer
 * left (the event time capped at 400 days ahead).
 */
export function expiresAtOf(state: RsvpState, nowMs: number, ttlSeconds: number): number {
  const now = Math.floor(nowMs / 1000);
  const event =
    state.eventTime === null
      ? now
      : Math.min(Math.floor(state.eventTime / 1000), now + MAX_EVENT_AHEAD_SECONDS);
  return Math.max(now, event) + ttlSeconds;
}

/**
 * Most pending changes one state item keeps. A change leaves the item at the item's next write
 * once every counter it moves has taken it, so more than one or two means counter writes have
 * kept failing after state writes: the batch fails (and is retried) rather than grow the item.
 * Three at their largest (capped city keys on both sides, each `"` and `\` of them doubled by
 * the JSON they are kept in) keep the item under 4 KB.
 */
export const MAX_PENDING_CHANGES = 3;

/** What an RSVP adds to its city's counters: all a pending change needs to remember of it. */
export interface CountedForm {
  country: string;
  cityKey: string;
  /** UTC day it counts on. */
  day: string;
  response: "yes" | "no";
  guests: number;
}

/** A change of an RSVP's counted form, caused by the message at `tp`@`offset`. */
export interface PendingChange {
  /** `<topic>-<partition>`: the partition whose counting writes it to the counters. */
  tp: string;
  /** The offset of the RSVP's last message in the batch that made the change. */
  offset: number;
  before: CountedForm | null;
  after: CountedForm;
}

/** Per counter item (by {@link keyId}), its fences: per `<topic>-<partition>`, an offset. */
export type Fences = ReadonlyMap<string, ReadonlyMap<string, number>>;

/**
 * The partition a change is fenced by: `<topic>-<partition>`, tagged with a hash of the
 * cluster's ARN when the event names it. A cluster replaced under the same topic name (a
 * stack update that replaces it) starts its offsets at 0 again; without the tag, the counters'
 * fences from the old cluster would take every new change for one they have.
 */
export function partitionIdOf(
  message: Pick<KafkaMessage, "topic" | "partition" | "eventSourceArn">,
) {
  // A topic name may have 249 characters, and the id is in every fence's attribute name and
  // every pending change: a long one keeps a prefix and a hash, as city keys do.
  const topic =
    message.topic.length <= MAX_TOPIC_IN_ID
      ? message.topic
      : `${message.topic.slice(0, MAX_TOPIC_IN_ID - 9)}~${hash8(message.topic)}`;
  const tp = `${topic}-${message.partition}`;
  return message.eventSourceArn === undefined ? tp : `${tp}@${hash8(message.eventSourceArn)}`;
}

/** Longest topic name a partition id keeps whole. */
const MAX_TOPIC_IN_ID = 32;
const hash8 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);

/** The counter attribute holding a partition's fence. */
export const fenceAttribute = (tp: string) => `at#${tp}`;

export function countedFormOf(state: RsvpState): CountedForm {
  return {
    country: state.city.country,
    cityKey: state.city.key,
    day: countDay(state),
    response: state.response,
    guests: state.guests,
  };
}

const sameForm = (a: CountedForm | null, b: CountedForm | null) =>
  a !== null &&
  b !== null &&
  a.country === b.country &&
  a.cityKey === b.cityKey &&
  a.day === b.day &&
  a.response === b.response &&
  a.guests === b.guests;

/** The day and all-time counters a counted form adds to. */
function counterKeysOf(form: CountedForm): ItemKey[] {
  const city = { key: form.cityKey, country: form.country };
  return [itemKeys.day(form.day, city), itemKeys.allTime(city)];
}

/** Every counter a change moves (before and after, day and all time), each once. */
export function counterKeysOfChange(change: PendingChange): ItemKey[] {
  const keys = [
    ...(change.before ? counterKeysOf(change.before) : []),
    ...counterKeysOf(change.after),
  ];
  return [...new Map(keys.map((key) => [keyId(key), key])).values()];
}

/** The offset up to which counter `key` has taken the changes of partition `tp` (-1: none). */
export const fenceOf = (fences: Fences, key: ItemKey, tp: string) =>
  fences.get(keyId(key))?.get(tp) ?? -1;

/** True once every counter the change moves has taken it: the state item may forget it. */
export const isSettled = (change: PendingChange, fences: Fences) =>
  counterKeysOfChange(change).every((key) => fenceOf(fences, key, change.tp) >= change.offset);

/** The counters any of these states' current forms or pending changes touch: the fences to read. */
export function counterKeysToRead(states: Iterable<RsvpState | StoredState>): ItemKey[] {
  const keys = new Map<string, ItemKey>();
  const add = (key: ItemKey) => keys.set(keyId(key), key);
  for (const entry of states) {
    const state = "state" in entry ? entry.state : entry;
    for (const key of counterKeysOf(countedFormOf(state))) add(key);
    if ("pending" in entry)
      for (const change of entry.pending) counterKeysOfChange(change).forEach(add);
  }
  return [...keys.values()];
}

/** One RSVP whose state this batch writes. */
export interface StateChange {
  before: StoredState | null;
  after: RsvpState;
  /** Written only to expire later, or to keep an earlier arrival stamp: nothing counted changes. */
  refresh?: true;
}

/**
 * The state writes of a batch: new and changed RSVPs, and unchanged ones whose state would
 * expire before the topic could deliver the same message again. Exact duplicates and stale
 * versions otherwise drop out here.
 */
export function stateChanges(
  batch: ReadonlyMap<number, RsvpState>,
  stored: ReadonlyMap<number, StoredState>,
  { nowMs, keepAliveSeconds }: Pick<PlanOptions, "nowMs" | "keepAliveSeconds">,
): StateChange[] {
  const changes: StateChange[] = [];
  for (const [rsvpId, folded] of batch) {
    const before = stored.get(rsvpId) ?? null;
    if (before === null) {
      changes.push({ before, after: folded });
      continue;
    }
    const after = mergeStates(before.state, folded);
    if (!sameState(before.state, after)) {
      // Only the arrival stamp moved (a state stored without one, before stamps existed, meets
      // a stamped copy): kept, so a later tie ranks against it, but nothing counted changes.
      const stampOnly = sameState({ ...before.state, arrival: after.arrival }, after);
      changes.push(stampOnly ? { before, after, refresh: true } : { before, after });
    } else if (before.expiresAt < Math.floor(nowMs / 1000) + keepAliveSeconds)
      changes.push({ before, after, refresh: true });
  }
  return changes;
}

/** A single-item write: a conditional Put of a state, or an Update of a counter. */
export interface WriteAction {
  Put?: {
    TableName: string;
    Item: Record<string, AttributeValue>;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  };
  Update?: {
    TableName: string;
    Key: Record<string, AttributeValue>;
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  };
}

export class PendingChangesOverflowError extends Error {
  override readonly name = "PendingChangesOverflowError";
}

export type StateWriteKind = "new" | "changed" | "refreshed";

export interface StateWritesPlan {
  writes: WriteAction[];
  /** Per write, what it does: counts an RSVP for the first time, changes a counted one, or
   * only writes it again so it outlives a possible redelivery. */
  kinds: StateWriteKind[];
  /** The batch's RSVPs as the table holds them once the writes are applied. */
  statesAfter: Map<number, StoredState>;
  /**
   * RSVPs whose change this batch would cause at an offset some counter's fence for the
   * partition has passed: a message the event source skipped (set aside) and reads again at
   * its offset, or a race with another writer of the partition (read again to tell). No write
   * is planned for them: written, the counters would take the change as one they have.
   */
  behind: number[];
}

/**
 * Phase one of a partition's batch: one conditional write per changed state, carrying the
 * change it causes to the counters (tagged with the partition and the RSVP's last offset) and
 * whichever of its earlier changes some counter has not yet taken.
 */
export function planStateWrites(
  changes: StateChange[],
  stored: ReadonlyMap<number, StoredState>,
  {
    tp,
    lastOffsets,
    fences,
  }: { tp: string; lastOffsets: ReadonlyMap<number, number>; fences: Fences },
  options: PlanOptions,
): StateWritesPlan {
  const statesAfter = new Map(stored);
  const writes: WriteAction[] = [];
  const kinds: StateWriteKind[] = [];
  const behind: number[] = [];
  for (const change of changes) {
    const { rsvpId } = change.after;
    const kept = (change.before?.pending ?? []).filter((pending) => !isSettled(pending, fences));
    const before = change.before ? countedFormOf(change.before.state) : null;
    const after = countedFormOf(change.after);
    const offset = lastOffsets.get(rsvpId);
    if (offset === undefined) throw new Error(`RSVP ${rsvpId} has no message in this batch`);
    const caused: PendingChange | null =
      change.refresh || sameForm(before, after) ? null : { tp, offset, before, after };
    if (
      caused !== null &&
      counterKeysOfChange(caused).some((key) => fenceOf(fences, key, tp) >= offset)
    ) {
      // A counter's fence is past it already: whoever moved the fence skipped this message.
      behind.push(rsvpId);
      continue;
    }
    const pending = caused === null ? kept : [...kept, caused];
    if (pending.length > MAX_PENDING_CHANGES) {
      throw new PendingChangesOverflowError(
        `RSVP ${rsvpId} has ${pending.length} changes its counters have not taken; counter writes keep failing`,
      );
    }
    const version = (change.before?.version ?? 0) + 1;
    const expiresAt = expiresAtOf(change.after, options.nowMs, options.stateTtlSeconds);
    writes.push(stateWrite(change, { version, expiresAt, pending }, options.tableName));
    kinds.push(change.before === null ? "new" : change.refresh ? "refreshed" : "changed");
    statesAfter.set(rsvpId, { state: change.after, version, expiresAt, pending });
  }
  return { writes, kinds, statesAfter, behind };
}

export interface CounterWritesPlan {
  writes: WriteAction[];
  /** Day markers (`<country>#<day>`) to write first: days these counts add to, not yet marked. */
  markedDays: string[];
}

const zeroCounts = (): Counts => ({ rsvps: 0, yes: 0, no: 0, guests: 0 });

function contributionOfForm(form: CountedForm): Counts {
  const yes = form.response === "yes";
  return { rsvps: 1, yes: yes ? 1 : 0, no: yes ? 0 : 1, guests: yes ? form.guests : 0 };
}

interface CounterDelta {
  key: ItemKey;
  counts: Counts;
  /** The city's display names, from a state counted there now (absent: left as they are). */
  city?: CountedCity;
}

/**
 * Phase two: per counter, the sum of this partition's pending changes (up to `lastOffset`) it
 * has not taken, one write each, its fence moved to `lastOffset` on the condition that it is
 * still the one read. A counter whose changes cancel out is written too, for its fence.
 */
export function planCounterWrites(
  states: Iterable<StoredState>,
  { tp, lastOffset, fences }: { tp: string; lastOffset: number; fences: Fences },
  options: PlanOptions,
): CounterWritesPlan {
  const deltas = new Map<string, CounterDelta>();
  const markers = new Set<string>();
  for (const { state, pending } of states) {
    for (const change of pending) {
      if (change.tp !== tp || change.offset > lastOffset) continue;
      const sides: [CountedForm | null, 1 | -1][] = [
        [change.before, -1],
        [change.after, 1],
      ];
      for (const [form, sign] of sides) {
        if (form === null) continue;
        for (const key of counterKeysOf(form)) {
          if (fenceOf(fences, key, tp) >= change.offset) continue;
          const id = keyId(key);
          const delta = deltas.get(id) ?? { key, counts: zeroCounts() };
          const contribution = contributionOfForm(form);
          delta.counts.rsvps += sign * contribution.rsvps;
          delta.counts.yes += sign * contribution.yes;
          delta.counts.no += sign * contribution.no;
          delta.counts.guests += sign * contribution.guests;
          if (state.city.key === form.cityKey && state.city.country === form.country)
            delta.city = state.city;
          deltas.set(id, delta);
          if (sign === 1) markers.add(`${form.country}#${form.day}`);
        }
      }
    }
  }
  return {
    writes: [...deltas.values()].map((delta) =>
      counterUpdate(delta, fenceOf(fences, delta.key, tp), { tp, lastOffset }, options),
    ),
    markedDays: [...markers].filter((marker) => !options.markedDays?.has(marker)),
  };
}

/** The Put of a day marker (`<country>#<day>`): the counts API finds a country's latest day by it. */
export function dayMarkerWrite(marker: string, tableName: string): WriteAction {
  const [country = "", day = ""] = marker.split("#");
  const key = itemKeys.countedDay(day, country);
  return {
    Put: {
      TableName: tableName,
      Item: { pk: { S: key.pk }, sk: { S: key.sk }, day: { S: day }, country: { S: country } },
    },
  };
}

/** `<country>#<day>`: a day marker, as {@link PlanOptions.markedDays} holds it. */
export function countedDayMarkerOf(state: RsvpState): string {
  return `${state.city.country}#${countDay(state)}`;
}

/** A pending change as the state item stores it: `[tp, offset, before, after]`, forms as tuples. */
type FormTuple = [
  country: string,
  cityKey: string,
  day: string,
  response: "y" | "n",
  guests: number,
];

const formTuple = (form: CountedForm): FormTuple => [
  form.country,
  form.cityKey,
  form.day,
  form.response === "yes" ? "y" : "n",
  form.guests,
];

function formOfTuple(tuple: unknown): CountedForm | null {
  if (!Array.isArray(tuple) || tuple.length !== 5) return null;
  const [country, cityKey, day, response, guests] = tuple as unknown[];
  if (
    typeof country !== "string" ||
    typeof cityKey !== "string" ||
    typeof day !== "string" ||
    !/^\d{4}-\d{2}-\d{2}$/.test(day) ||
    (response !== "y" && response !== "n") ||
    !Number.isSafeInteger(guests)
  )
    return null;
  return {
    country,
    cityKey,
    day,
    response: response === "y" ? "yes" : "no",
    guests: guests as number,
  };
}

/** The `pending` attribute's text (JSON: short, and sized as one string). */
export const pendingText = (pending: PendingChange[]) =>
  JSON.stringify(
    pending.map((change) => [
      change.tp,
      change.offset,
      change.before ? formTuple(change.before) : null,
      formTuple(change.after),
    ]),
  );

/** Pending changes read back; null when the text is not what {@link pendingText} writes. */
export function pendingOfText(text: string): PendingChange[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const changes: PendingChange[] = [];
  for (const entry of parsed) {
    if (!Array.isArray(entry) || entry.length !== 4) return null;
    const [tp, offset, beforeTuple, afterTuple] = entry as unknown[];
    const before = beforeTuple === null ? null : formOfTuple(beforeTuple);
    const after = formOfTuple(afterTuple);
    if (typeof tp !== "string" || !Number.isSafeInteger(offset) || after === null) return null;
    if (beforeTuple !== null && before === null) return null;
    changes.push({ tp, offset: offset as number, before, after });
  }
  return changes;
}

/** The attributes of a state item, keys included. */
export function stateItem(
  state: RsvpState,
  version: number,
  expiresAt: number,
  pending: PendingChange[] = [],
): Record<string, AttributeValue> {
  const key = itemKeys.rsvp(state.rsvpId);
  return {
    pk: { S: key.pk },
    sk: { S: key.sk },
    mtime: { N: String(state.mtime) },
    firstMtime: { N: String(state.firstMtime) },
    response: { S: state.response },
    guests: { N: String(state.guests) },
    cityKey: { S: state.city.key },
    country: { S: state.city.country },
    state: state.city.state === null ? { NULL: true } : { S: state.city.state },
    city: { S: state.city.name },
    eventTime: state.eventTime === null ? { NULL: true } : { N: String(state.eventTime) },
    ...(state.arrival === null ? {} : { arrival: { N: String(state.arrival) } }),
    version: { N: String(version) },
    expiresAt: { N: String(expiresAt) },
    ...(pending.length === 0 ? {} : { pending: { S: pendingText(pending) } }),
  };
}

/** A state item read back; null when it is not one this code wrote. */
export function storedStateOf(item: Record<string, AttributeValue>): StoredState | null {
  const rsvpId = Number(item.pk?.S?.replace(/^RSVP#/, ""));
  const response = item.response?.S;
  const number = (name: string) => Number(item[name]?.N);
  const city: CountedCity = {
    key: item.cityKey?.S ?? "",
    country: item.country?.S ?? "",
    state: item.state?.S ?? null,
    name: item.city?.S ?? "",
  };
  const state: RsvpState = {
    rsvpId,
    mtime: number("mtime"),
    firstMtime: number("firstMtime"),
    response: response === "no" ? "no" : "yes",
    guests: number("guests"),
    city,
    eventTime: item.eventTime?.N === undefined ? null : Number(item.eventTime.N),
    arrival: item.arrival?.N === undefined ? null : Number(item.arrival.N),
  };
  const version = number("version");
  const expiresAt = number("expiresAt");
  const pending = item.pending === undefined ? [] : pendingOfText(item.pending.S ?? "");
  const valid =
    Number.isSafeInteger(rsvpId) &&
    (response === "yes" || response === "no") &&
    [state.mtime, state.firstMtime, state.guests, version, expiresAt].every(Number.isSafeInteger) &&
    (state.eventTime === null || Number.isSafeInteger(state.eventTime)) &&
    (state.arrival === null || Number.isSafeInteger(state.arrival)) &&
    city.key !== "" &&
    city.country !== "" &&
    pending !== null;
  return valid && pending !== null ? { state, version, expiresAt, pending } : null;
}

/** The fences of a counter item read back: its `at#<tp>` attributes. */
export function fencesOfItem(item: Record<string, AttributeValue>): Map<string, number> {
  const fences = new Map<string, number>();
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith("at#")) continue;
    const offset = Number(value.N);
    if (!Number.isSafeInteger(offset)) throw new Error(`unreadable fence ${name} on ${item.pk?.S}`);
    fences.set(name.slice(3), offset);
  }
  return fences;
}

function stateWrite(
  change: StateChange,
  stored: Pick<StoredState, "version" | "expiresAt" | "pending">,
  tableName: string,
): WriteAction {
  return {
    Put: {
      TableName: tableName,
      Item: stateItem(change.after, stored.version, stored.expiresAt, stored.pending),
      // The version read when planning: a concurrent writer fails this, and the batch is re-read.
      ...(change.before === null
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "#version = :read",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":read": { N: String(change.before.version) } },
          }),
    },
  };
}

function counterUpdate(
  { key, city, counts }: CounterDelta,
  readFence: number,
  { tp, lastOffset }: { tp: string; lastOffset: number },
  { tableName, nowMs }: PlanOptions,
): WriteAction {
  const display = city ? ", #country = :country, #state = :state, #city = :city" : "";
  return {
    Update: {
      TableName: tableName,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      // REMOVE: a counter never expires (one a version before this wrote carried a TTL).
      UpdateExpression: `ADD #rsvps :rsvps, #yes :yes, #no :no, #guests :guests SET #fence = :fence${display}, #updatedAt = :now REMOVE #expiresAt`,
      // The fence read when planning: another writer of this partition's changes fails this.
      ConditionExpression: readFence < 0 ? "attribute_not_exists(#fence)" : "#fence = :readFence",
      ExpressionAttributeNames: {
        "#rsvps": "rsvps",
        "#yes": "yes",
        "#no": "no",
        "#guests": "guests",
        "#fence": fenceAttribute(tp),
        ...(city ? { "#country": "country", "#state": "state", "#city": "city" } : {}),
        "#updatedAt": "updatedAt",
        "#expiresAt": "expiresAt",
      },
      ExpressionAttributeValues: {
        ":rsvps": { N: String(counts.rsvps) },
        ":yes": { N: String(counts.yes) },
        ":no": { N: String(counts.no) },
        ":guests": { N: String(counts.guests) },
        ":fence": { N: String(lastOffset) },
        ...(readFence < 0 ? {} : { ":readFence": { N: String(readFence) } }),
        ...(city
          ? {
              ":country": { S: city.country },
              ":state": city.state === null ? { NULL: true } : { S: city.state },
              ":city": { S: city.name },
            }
          : {}),
        ":now": { N: String(nowMs) },
      },
    },
  };
}

/** RSVP ids per unsettled-batch item: a number set of 250 ids of up to 16 digits stays under 4 KB. */
export const MAX_UNSETTLED_IDS_PER_ITEM = 250;

/**
 * A partition's record of a batch that failed, read back: the RSVPs whose states may hold
 * changes some counter has not taken.
 */
export interface UnsettledBatch {
  /** Its sort key (`<first offset>-<last offset>#<chunk>`), to forget it by once settled. */
  sk: string;
  /** The failed batch's last offset in the partition: a run up to it takes all its changes. */
  lastOffset: number;
  rsvpIds: number[];
}

/**
 * The Puts that record a failed batch's RSVPs for its partition's next runs. Keyed by the
 * batch's offsets, so each run of one batch writes the same items again (no condition needed),
 * and items of other batches stay until a run that read them has settled them.
 */
export function unsettledWrites(
  tp: string,
  { firstOffset, lastOffset }: { firstOffset: number; lastOffset: number },
  rsvpIds: Iterable<number>,
  {
    tableName,
    nowMs,
    stateTtlSeconds,
  }: Pick<PlanOptions, "tableName" | "nowMs" | "stateTtlSeconds">,
): WriteAction[] {
  const ids = [...new Set(rsvpIds)].sort((a, b) => a - b);
  const writes: WriteAction[] = [];
  for (let i = 0; i < ids.length; i += MAX_UNSETTLED_IDS_PER_ITEM) {
    const key = itemKeys.unsettled(
      tp,
      `${firstOffset}-${lastOffset}#${i / MAX_UNSETTLED_IDS_PER_ITEM}`,
    );
    writes.push({
      Put: {
        TableName: tableName,
        Item: {
          pk: { S: key.pk },
          sk: { S: key.sk },
          lastOffset: { N: String(lastOffset) },
          rsvpIds: { NS: ids.slice(i, i + MAX_UNSETTLED_IDS_PER_ITEM).map(String) },
          failedAt: { N: String(nowMs) },
          // As long as any state written now may live (expiresAtOf: the horizon past an
          // event up to 400 days ahead), whatever this run or an earlier run of the same batch
          // (same key) wrote: the record must outlive every change it points to. Settled, it
          // is deleted; only a partition that never runs again leaves it to the TTL.
          expiresAt: {
            N: String(Math.floor(nowMs / 1000) + MAX_EVENT_AHEAD_SECONDS + stateTtlSeconds),
          },
        },
      },
    });
  }
  return writes;
}

/** An unsettled-batch item read back; null when it is not one {@link unsettledWrites} wrote. */
export function unsettledBatchOf(item: Record<string, AttributeValue>): UnsettledBatch | null {
  const sk = item.sk?.S;
  const lastOffset = Number(item.lastOffset?.N);
  const rsvpIds = (item.rsvpIds?.NS ?? []).map(Number);
  if (
    sk === undefined ||
    !Number.isSafeInteger(lastOffset) ||
    rsvpIds.length === 0 ||
    !rsvpIds.every(Number.isSafeInteger)
  )
    return null;
  return { sk, lastOffset, rsvpIds };
}
