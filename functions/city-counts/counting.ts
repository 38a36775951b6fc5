/**
 * Exactly-once RSVP counts per city and UTC day, from at-least-once Kafka batches. Pure: it
 * decodes a batch and plans DynamoDB transactions from what the table already holds; the
 * store (counts-store.ts) does the I/O.
 *
 * The scheme (see the README, "Exactly-once counts"):
 * - A message is identified by (rsvpId, mtime); a count is the number of distinct ones.
 * - For every (day, city, hour of mtime) a "seen" item holds the ids already counted and a
 *   version number. A batch reads the seen items of its messages, counts only ids not in
 *   them, and writes each (day, city) group in ONE transaction: the day counter, the city's
 *   all-time counter, and its seen items, each seen item conditioned on the version it read.
 * - So counter and seen-set change together or not at all: a redelivered batch, a retry with
 *   other boundaries, a crash between two transactions, or the same message twice on the topic
 *   finds its ids already seen and adds nothing. A concurrent writer makes a condition fail,
 *   and the batch is re-read and re-planned.
 * - Writes grow with the distinct (day, city, hour) keys of a batch, not with its records.
 */
import type { TransactWriteItem } from "@aws-sdk/client-dynamodb";
import type { KafkaMessage } from "../shared/msk-event.js";
import { type CountableRecord, countableRecordSchema } from "../shared/rsvp/record-schema.js";
import { redactPersonalData } from "../shared/rsvp/redact.js";

/** DynamoDB's limit of actions in one TransactWriteItems call. */
export const MAX_TRANSACTION_ACTIONS = 100;
const MAX_DEAD_LETTER_RAW_CHARS = 4096;

export interface CountedMessage {
  /** `rsvpId@mtime`: the identity of one message. */
  id: string;
  /** UTC day of mtime, `YYYY-MM-DD`. */
  day: string;
  /** UTC hour of mtime, `00`..`23`: the seen-set shard. */
  hour: string;
  record: CountableRecord;
}

export interface PoisonRecord {
  /** `topic-partition@offset` */
  source: string;
  reason: "no_value" | "not_json" | "invalid_record";
  detail: string;
  /** The value, personal data removed, capped. */
  raw: string;
}

export interface DecodedBatch {
  messages: CountedMessage[];
  poison: PoisonRecord[];
  /** Messages that came twice in this very batch (counted once). */
  duplicatesInBatch: number;
}

export function decodeBatch(kafkaMessages: KafkaMessage[]): DecodedBatch {
  const byId = new Map<string, CountedMessage>();
  const poison: PoisonRecord[] = [];
  let duplicatesInBatch = 0;
  for (const message of kafkaMessages) {
    const source = `${message.topic}-${message.partition}@${message.offset}`;
    if (message.value === null) {
      poison.push({ source, reason: "no_value", detail: "the record has no value", raw: "" });
      continue;
    }
    const raw = redactPersonalData(message.value).slice(0, MAX_DEAD_LETTER_RAW_CHARS);
    let json: unknown;
    try {
      json = JSON.parse(message.value);
    } catch {
      poison.push({ source, reason: "not_json", detail: "the value is not JSON", raw });
      continue;
    }
    const parsed = countableRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const detail = issue
        ? `${issue.path.map(String).join(".") || "(value)"}: ${issue.message}`
        : "invalid";
      poison.push({ source, reason: "invalid_record", detail, raw });
      continue;
    }
    const record = parsed.data;
    const id = `${record.rsvpId}@${record.mtime}`;
    if (byId.has(id)) {
      duplicatesInBatch += 1;
      continue;
    }
    const iso = new Date(record.mtime).toISOString();
    byId.set(id, { id, day: iso.slice(0, 10), hour: iso.slice(11, 13), record });
  }
  return { messages: [...byId.values()], poison, duplicatesInBatch };
}

/** The table's item keys. One table holds counters, seen-sets and dead letters. */
export const itemKeys = {
  /** Counters of one country and day share a partition: the counts API ranks them with one Query. */
  day: (day: string, city: { key: string; country: string }) => ({
    pk: `DAY#${day}#${city.country}`,
    sk: city.key,
  }),
  allTime: (city: { key: string; country: string }) => ({
    pk: `ALL#${city.country}`,
    sk: city.key,
  }),
  seen: (day: string, cityKey: string, hour: string) => ({
    pk: `SEEN#${day}#${cityKey}`,
    sk: `H${hour}`,
  }),
  deadLetter: (source: string) => ({ pk: "DEADLETTER", sk: source }),
};

export interface ItemKey {
  pk: string;
  sk: string;
}

export const keyId = (key: ItemKey) => `${key.pk}\u0000${key.sk}`;

export function seenKeyOf(message: CountedMessage): ItemKey {
  return itemKeys.seen(message.day, message.record.city.key, message.hour);
}

/** A seen item as read: the ids it holds and its version (null when the item does not exist). */
export interface SeenShard {
  ids: ReadonlySet<string>;
  version: number | null;
}

export interface PlanOptions {
  tableName: string;
  nowMs: number;
  /** Lifetime of per-day counters and seen items after their last update. */
  ttlSeconds: number;
}

export interface Plan {
  transactions: TransactWriteItem[][];
  /** Messages this plan counts. */
  counted: number;
  /** Messages already counted by an earlier delivery. */
  alreadyCounted: number;
}

interface Delta {
  rsvps: number;
  yes: number;
  no: number;
  guests: number;
}

interface DayCityGroup {
  day: string;
  city: CountableRecord["city"];
  delta: Delta;
  /** Seen item key id → the new ids to add to it. */
  shards: Map<string, { key: ItemKey; ids: string[] }>;
}

export function planTransactions(
  messages: CountedMessage[],
  seen: ReadonlyMap<string, SeenShard>,
  options: PlanOptions,
): Plan {
  const groups = new Map<string, DayCityGroup>();
  let alreadyCounted = 0;
  for (const message of messages) {
    const seenKey = seenKeyOf(message);
    if (seen.get(keyId(seenKey))?.ids.has(message.id)) {
      alreadyCounted += 1;
      continue;
    }
    const groupId = `${message.day}\u0000${message.record.city.key}`;
    let group = groups.get(groupId);
    if (!group) {
      group = {
        day: message.day,
        city: message.record.city,
        delta: emptyDelta(),
        shards: new Map(),
      };
      groups.set(groupId, group);
    }
    addTo(group.delta, message.record);
    const shardId = keyId(seenKey);
    const shard = group.shards.get(shardId) ?? { key: seenKey, ids: [] };
    shard.ids.push(message.id);
    group.shards.set(shardId, shard);
  }

  // Pack whole (day, city) groups into transactions; one all-time update per city in each.
  const transactions: TransactWriteItem[][] = [];
  let current: { groups: DayCityGroup[]; cities: Set<string>; actions: number } = {
    groups: [],
    cities: new Set(),
    actions: 0,
  };
  const close = () => {
    if (current.groups.length > 0) transactions.push(toTransaction(current.groups, seen, options));
    current = { groups: [], cities: new Set(), actions: 0 };
  };
  for (const group of groups.values()) {
    // Its day counter, its seen items, and its city's all-time counter unless already there.
    const cost = () => 1 + group.shards.size + (current.cities.has(group.city.key) ? 0 : 1);
    if (current.actions + cost() > MAX_TRANSACTION_ACTIONS) close();
    current.actions += cost();
    current.groups.push(group);
    current.cities.add(group.city.key);
  }
  close();
  const counted = messages.length - alreadyCounted;
  return { transactions, counted, alreadyCounted };
}

function emptyDelta(): Delta {
  return { rsvps: 0, yes: 0, no: 0, guests: 0 };
}

function addTo(delta: Delta, record: CountableRecord): void {
  delta.rsvps += 1;
  if (record.response === "yes") delta.yes += 1;
  else delta.no += 1;
  delta.guests += record.guests;
}

const COUNTER_NAMES = {
  "#rsvps": "rsvps",
  "#yes": "yes",
  "#no": "no",
  "#guests": "guests",
  "#country": "country",
  "#state": "state",
  "#city": "city",
  "#updatedAt": "updatedAt",
};

function counterUpdate(
  tableName: string,
  key: ItemKey,
  city: CountableRecord["city"],
  delta: Delta,
  nowMs: number,
  expiresAt: number | null,
): TransactWriteItem {
  const names: Record<string, string> = { ...COUNTER_NAMES };
  let set = "#country = :country, #state = :state, #city = :city, #updatedAt = :now";
  const values: NonNullable<NonNullable<TransactWriteItem["Update"]>["ExpressionAttributeValues"]> =
    {
      ":rsvps": { N: String(delta.rsvps) },
      ":yes": { N: String(delta.yes) },
      ":no": { N: String(delta.no) },
      ":guests": { N: String(delta.guests) },
      ":country": { S: city.country },
      ":state": city.state === null ? { NULL: true } : { S: city.state },
      ":city": { S: city.name },
      ":now": { N: String(nowMs) },
    };
  if (expiresAt !== null) {
    names["#expiresAt"] = "expiresAt";
    values[":expiresAt"] = { N: String(expiresAt) };
    set += ", #expiresAt = :expiresAt";
  }
  return {
    Update: {
      TableName: tableName,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      UpdateExpression: `ADD #rsvps :rsvps, #yes :yes, #no :no, #guests :guests SET ${set}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

function toTransaction(
  groups: DayCityGroup[],
  seen: ReadonlyMap<string, SeenShard>,
  { tableName, nowMs, ttlSeconds }: PlanOptions,
): TransactWriteItem[] {
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  const actions: TransactWriteItem[] = [];
  const allTime = new Map<string, { city: CountableRecord["city"]; delta: Delta }>();
  for (const group of groups) {
    actions.push(
      counterUpdate(
        tableName,
        itemKeys.day(group.day, group.city),
        group.city,
        group.delta,
        nowMs,
        expiresAt,
      ),
    );
    for (const { key, ids } of group.shards.values()) {
      const version = seen.get(keyId(key))?.version ?? null;
      actions.push({
        Update: {
          TableName: tableName,
          Key: { pk: { S: key.pk }, sk: { S: key.sk } },
          UpdateExpression: "ADD #ids :ids SET #version = :next, #expiresAt = :expiresAt",
          // The version read when planning: a concurrent writer fails this, and the batch is re-planned.
          ConditionExpression: version === null ? "attribute_not_exists(pk)" : "#version = :read",
          ExpressionAttributeNames: {
            "#ids": "ids",
            "#version": "version",
            "#expiresAt": "expiresAt",
          },
          ExpressionAttributeValues: {
            ":ids": { SS: ids },
            ":next": { N: String((version ?? 0) + 1) },
            ":expiresAt": { N: String(expiresAt) },
            ...(version === null ? {} : { ":read": { N: String(version) } }),
          },
        },
      });
    }
    const total = allTime.get(group.city.key) ?? { city: group.city, delta: emptyDelta() };
    total.delta.rsvps += group.delta.rsvps;
    total.delta.yes += group.delta.yes;
    total.delta.no += group.delta.no;
    total.delta.guests += group.delta.guests;
    allTime.set(group.city.key, total);
  }
  for (const { city, delta } of allTime.values()) {
    actions.push(counterUpdate(tableName, itemKeys.allTime(city), city, delta, nowMs, null));
  }
  return actions;
}
