/**
 * Exactly-once RSVP counts per city, per UTC day and all time, from at-least-once Kafka
 * batches. Pure: it decodes a batch and plans DynamoDB transactions from the RSVP states the
 * table already holds; the store (counts-store.ts) does the I/O. The rule itself is in
 * rsvp-state.ts.
 *
 * The scheme (README, "Exactly-once counts"):
 * - Every RSVP has one state item (`RSVP#<rsvpId>`): its current version, earliest mtime,
 *   answer, guests and city, and a version number. Its size is bounded (capped city names and
 *   keys), whatever the traffic.
 * - A batch folds its messages per RSVP, reads those RSVPs' states (strongly consistent),
 *   merges, and for every RSVP whose state changes derives the counter deltas
 *   (contribution after − contribution before) of its day counter and its all-time counter.
 * - Each transaction holds some state changes and exactly the summed counter deltas they
 *   cause, every state write conditioned on the version it read. So a crash between two
 *   transactions, a redelivered or re-cut batch, or a concurrent invocation on the same RSVP
 *   can neither lose nor double a count: what was applied is read back as state next time and
 *   changes nothing, and a lost race fails the condition and the batch is re-read.
 * - Writes per batch: one per changed RSVP, plus one per (day, city) and per city touched.
 *   Exact duplicates and stale versions write nothing, unless the state would expire before
 *   the topic could deliver the message again: then the state is written unchanged with a later
 *   expiry (no counter moves). A state lives the dedup horizon after its last write and after
 *   its event (see {@link expiresAtOf}).
 */
import type { AttributeValue, TransactWriteItem } from "@aws-sdk/client-dynamodb";
import type { KafkaMessage } from "../shared/msk-event.js";
import { type CountableRecord, countableRecordSchema } from "../shared/rsvp/record-schema.js";
import { redactPersonalData } from "../shared/rsvp/redact.js";
import { cutToBytes } from "../shared/rsvp/text.js";
import type { CountedCity, Counts, RsvpState } from "./rsvp-state.js";
import { contributionOf, countDay, foldMessage, mergeStates, sameState } from "./rsvp-state.js";

/** DynamoDB's limit of actions in one TransactWriteItems call. */
export const MAX_TRANSACTION_ACTIONS = 100;
/** A dead letter's raw value is cut to this many UTF-8 bytes, so the item stays far below 4 KB. */
export const MAX_DEAD_LETTER_RAW_BYTES = 2048;
const MAX_DEAD_LETTER_DETAIL_CHARS = 300;

export interface PoisonRecord {
  /** `topic-partition@offset` */
  source: string;
  reason: "no_value" | "not_json" | "invalid_record";
  detail: string;
  /** The value, personal data removed, capped. */
  raw: string;
}

export interface DecodedBatch {
  /** Per RSVP, its messages of this batch folded in arrival order. */
  rsvps: Map<number, RsvpState>;
  /** Countable messages in the batch. */
  messages: number;
  poison: PoisonRecord[];
}

export function decodeBatch(kafkaMessages: KafkaMessage[]): DecodedBatch {
  const rsvps = new Map<number, RsvpState>();
  const poison: PoisonRecord[] = [];
  let messages = 0;
  for (const message of kafkaMessages) {
    const source = `${message.topic}-${message.partition}@${message.offset}`;
    if (message.value === null) {
      poison.push({ source, reason: "no_value", detail: "the record has no value", raw: "" });
      continue;
    }
    const value = message.value;
    // Only a dead letter keeps its text: valid messages are not redacted and cut for nothing.
    const deadLetterText = () => cutToBytes(redactPersonalData(value), MAX_DEAD_LETTER_RAW_BYTES);
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
  }
  return { rsvps, messages, poison };
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
  /** Epoch seconds when DynamoDB's TTL may delete it. */
  expiresAt: number;
}

export interface PlanOptions {
  tableName: string;
  nowMs: number;
  /** The dedup horizon: how long a state lives after its last write (and after its event). */
  stateTtlSeconds: number;
  /**
   * How long after a message is read the topic may deliver it again (retention, segment roll
   * and the broker's retention check: topic-retention.ts): a state that would expire sooner is
   * written again with a later expiry.
   */
  keepAliveSeconds: number;
  /**
   * Day markers (`<country>#<day>`) this writer has already written: each day's marker is
   * written once per writer (a Lambda container), in the transaction of the day's first counts.
   */
  markedDays?: ReadonlySet<string>;
}

/** An event further ahead than this counts as this far: a hostile event time cannot pin a state. */
const MAX_EVENT_AHEAD_SECONDS = 400 * 86_400;

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

/** One RSVP whose state this batch writes. */
export interface StateChange {
  before: StoredState | null;
  after: RsvpState;
  /** Written only to expire later, or to keep an earlier arrival stamp: nothing counted changes. */
  refresh?: true;
}

export interface PlannedTransaction {
  actions: TransactWriteItem[];
  /** RSVPs this transaction counts for the first time. */
  newRsvps: number;
  /** RSVPs already counted whose answer, guests, day or city this transaction changes. */
  changedRsvps: number;
  /** RSVPs written again only so their state outlives a possible redelivery. */
  refreshedRsvps: number;
  /** Day markers (`<country>#<day>`) this transaction writes. */
  markedDays: string[];
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

interface CounterDelta {
  key: ItemKey;
  /** The city as the newest state touching this counter names it (for display). */
  city: CountedCity;
  counts: Counts;
}

const zeroCounts = (): Counts => ({ rsvps: 0, yes: 0, no: 0, guests: 0 });

function addCounts(into: Counts, counts: Counts, sign: 1 | -1): void {
  into.rsvps += sign * counts.rsvps;
  into.yes += sign * counts.yes;
  into.no += sign * counts.no;
  into.guests += sign * counts.guests;
}

function isZero(counts: Counts): boolean {
  return counts.rsvps === 0 && counts.yes === 0 && counts.no === 0 && counts.guests === 0;
}

/** Adds what one state change does to the counters into `deltas` (by counter key id). */
function addCounterDeltas(change: StateChange, deltas: Map<string, CounterDelta>): void {
  const apply = (state: RsvpState, sign: 1 | -1) => {
    const contribution = contributionOf(state);
    for (const key of [itemKeys.day(countDay(state), state.city), itemKeys.allTime(state.city)]) {
      const id = keyId(key);
      const delta = deltas.get(id) ?? { key, city: state.city, counts: zeroCounts() };
      addCounts(delta.counts, contribution, sign);
      if (sign === 1) delta.city = state.city;
      deltas.set(id, delta);
    }
  };
  if (change.before !== null) apply(change.before.state, -1);
  apply(change.after, 1);
}

/** The counter keys a change may touch (before and after, day and all time), and the marker
 * of the day it counts on unless `markedDays` has it. */
function counterKeysOf(change: StateChange, markedDays: ReadonlySet<string>): string[] {
  const states = change.before === null ? [change.after] : [change.before.state, change.after];
  const marker = countedDayMarkerOf(change.after);
  return [
    ...new Set([
      ...states.flatMap((state) => [
        keyId(itemKeys.day(countDay(state), state.city)),
        keyId(itemKeys.allTime(state.city)),
      ]),
      ...(markedDays.has(marker) ? [] : [marker]),
    ]),
  ];
}

/** `<country>#<day>`: a day marker, as {@link PlanOptions.markedDays} holds it. */
export function countedDayMarkerOf(state: RsvpState): string {
  return `${state.city.country}#${countDay(state)}`;
}

/**
 * Packs the changes into transactions of at most {@link MAX_TRANSACTION_ACTIONS} actions,
 * each with its state writes and exactly the counter deltas they cause. Changes of one city
 * go together, so a city's counters are written once per transaction, not once per RSVP.
 */
export function planTransactions(
  changes: StateChange[],
  options: PlanOptions,
): PlannedTransaction[] {
  const ordered = [...changes].sort(
    (a, b) =>
      a.after.city.key.localeCompare(b.after.city.key) ||
      a.after.firstMtime - b.after.firstMtime ||
      a.after.rsvpId - b.after.rsvpId,
  );
  const groups: StateChange[][] = [];
  let group: StateChange[] = [];
  let counterKeys = new Set<string>();
  for (const change of ordered) {
    const keys = counterKeysOf(change, options.markedDays ?? new Set());
    const added = keys.filter((key) => !counterKeys.has(key)).length;
    if (group.length > 0 && group.length + 1 + counterKeys.size + added > MAX_TRANSACTION_ACTIONS) {
      groups.push(group);
      group = [];
      counterKeys = new Set();
    }
    group.push(change);
    for (const key of keys) counterKeys.add(key);
  }
  if (group.length > 0) groups.push(group);
  return groups.map((changesOfTransaction) => toTransaction(changesOfTransaction, options));
}

function toTransaction(changes: StateChange[], options: PlanOptions): PlannedTransaction {
  const deltas = new Map<string, CounterDelta>();
  for (const change of changes) addCounterDeltas(change, deltas);
  const actions: TransactWriteItem[] = changes.map((change) => stateWrite(change, options));
  for (const delta of deltas.values()) {
    // Changes that cancel out (one yes→no and another no→yes of a city-day) write nothing.
    if (!isZero(delta.counts)) actions.push(counterUpdate(delta, options));
  }
  const markedDays = [
    ...new Set(
      changes
        .filter((change) => !change.refresh)
        .map((change) => countedDayMarkerOf(change.after))
        .filter((marker) => !options.markedDays?.has(marker)),
    ),
  ];
  for (const marker of markedDays) {
    const [country, day] = marker.split("#") as [string, string];
    const key = itemKeys.countedDay(day, country);
    actions.push({
      Put: {
        TableName: options.tableName,
        Item: { pk: { S: key.pk }, sk: { S: key.sk }, day: { S: day }, country: { S: country } },
      },
    });
  }
  const newRsvps = changes.filter((change) => change.before === null).length;
  const refreshedRsvps = changes.filter((change) => change.refresh).length;
  return {
    actions,
    newRsvps,
    changedRsvps: changes.length - newRsvps - refreshedRsvps,
    refreshedRsvps,
    markedDays,
  };
}

/** The attributes of a state item, keys included. */
export function stateItem(
  state: RsvpState,
  version: number,
  expiresAt: number,
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
  const valid =
    Number.isSafeInteger(rsvpId) &&
    (response === "yes" || response === "no") &&
    [state.mtime, state.firstMtime, state.guests, version, expiresAt].every(Number.isSafeInteger) &&
    (state.eventTime === null || Number.isSafeInteger(state.eventTime)) &&
    (state.arrival === null || Number.isSafeInteger(state.arrival)) &&
    city.key !== "" &&
    city.country !== "";
  return valid ? { state, version, expiresAt } : null;
}

function stateWrite(change: StateChange, { tableName, nowMs, stateTtlSeconds }: PlanOptions) {
  const expiresAt = expiresAtOf(change.after, nowMs, stateTtlSeconds);
  const version = (change.before?.version ?? 0) + 1;
  const action: TransactWriteItem = {
    Put: {
      TableName: tableName,
      Item: stateItem(change.after, version, expiresAt),
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
  return action;
}

function counterUpdate(
  { key, city, counts }: CounterDelta,
  { tableName, nowMs }: PlanOptions,
): TransactWriteItem {
  return {
    Update: {
      TableName: tableName,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      // REMOVE: a counter never expires (one a version before this wrote carried a TTL).
      UpdateExpression:
        "ADD #rsvps :rsvps, #yes :yes, #no :no, #guests :guests SET #country = :country, #state = :state, #city = :city, #updatedAt = :now REMOVE #expiresAt",
      ExpressionAttributeNames: {
        "#rsvps": "rsvps",
        "#yes": "yes",
        "#no": "no",
        "#guests": "guests",
        "#country": "country",
        "#state": "state",
        "#city": "city",
        "#updatedAt": "updatedAt",
        "#expiresAt": "expiresAt",
      },
      ExpressionAttributeValues: {
        ":rsvps": { N: String(counts.rsvps) },
        ":yes": { N: String(counts.yes) },
        ":no": { N: String(counts.no) },
        ":guests": { N: String(counts.guests) },
        ":country": { S: city.country },
        ":state": city.state === null ? { NULL: true } : { S: city.state },
        ":city": { S: city.name },
        ":now": { N: String(nowMs) },
      },
    },
  };
}
