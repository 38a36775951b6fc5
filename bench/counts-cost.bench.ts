/**
 * What counting costs in DynamoDB write units, computed from the items the city-counts code
 * writes, by DynamoDB's documented rules (local/dynamodb/write-units.ts): moto's
 * ConsumedCapacity is a constant, not a measurement.
 *
 * - One city's feed at three rates, in 1-second batches (the event source's window): a quiet
 *   city (10 RSVPs/hour), New York (3,600/hour) and ten times New York. 8 % of the messages
 *   re-send an earlier RSVP with a newer version (as the real feed does). The batches run
 *   through the real processBatch against a store that keeps the item images and charges each
 *   write by the larger of its before and after sizes, doubled in a transaction. Beside it, the
 *   previous design (an hourly seen-set of message ids per city, rewritten by every batch).
 * - Every partition key's write units per second at ten times New York's rate, the whole US
 *   feed around it (the synthetic feed's city mix, scaled), on a 6-partition topic keyed by city.
 * - A check of the item images against moto: the same batches on the real engine, every item
 *   read back and sized, must give the same sizes.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  DynamoDBClient,
  type TransactWriteItem,
} from "@aws-sdk/client-dynamodb";
import type { StoredState } from "../functions/city-counts/counting.js";
import { itemKeys, keyId, storedStateOf } from "../functions/city-counts/counting.js";
import { type CountsStore, dynamoCountsStore } from "../functions/city-counts/counts-store.js";
import { processBatch } from "../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../functions/shared/msk-event.js";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import type { CountableRecord } from "../functions/shared/rsvp/record-schema.js";
import { itemSizeBytes, writeUnits } from "../local/dynamodb/write-units.js";
import { Random } from "../local/feed/synthetic/random.js";
import { syntheticRecords } from "../local/feed/synthetic/sample.js";
import { awsClientConfig } from "../local/stack/aws-endpoint.js";
import { startLocalStack } from "../local/stack/stack.js";

type Item = Record<string, AttributeValue>;

/** Keeps item images, applies our two write shapes to them, and charges write units. */
class CostModelStore implements CountsStore {
  readonly images = new Map<string, Item>();
  writeUnits = 0;
  /** Write units per partition key, per second of feed time (set by the caller). */
  readonly perKeySecond = new Map<string, number>();
  second = 0;
  largestItem = 0;

  async readStates(rsvpIds: number[]): Promise<Map<number, StoredState>> {
    const states = new Map<number, StoredState>();
    for (const rsvpId of rsvpIds) {
      const image = this.images.get(keyId(itemKeys.rsvp(rsvpId)));
      const stored = image ? storedStateOf(image) : null;
      if (stored) states.set(rsvpId, stored);
    }
    return states;
  }

  async applyTransaction(actions: TransactWriteItem[]): Promise<"applied"> {
    for (const action of actions) {
      const key = action.Put?.Item ?? action.Update?.Key;
      const id = keyId({ pk: key?.pk?.S ?? "", sk: key?.sk?.S ?? "" });
      const before = this.images.get(id);
      const after = action.Put?.Item ?? applyUpdate(before, action.Update);
      const beforeBytes = before ? itemSizeBytes(before) : 0;
      const afterBytes = itemSizeBytes(after);
      const units = writeUnits(beforeBytes, afterBytes, true);
      this.writeUnits += units;
      this.largestItem = Math.max(this.largestItem, afterBytes);
      const perKey = `${this.second}\u0000${key?.pk?.S}`;
      this.perKeySecond.set(perKey, (this.perKeySecond.get(perKey) ?? 0) + units);
      this.images.set(id, after);
    }
    return "applied";
  }

  async putDeadLetters(): Promise<void> {}
}

/** `ADD #a :a, ... SET #b = :b, ... REMOVE #c`, applied to an item image: how counters are written. */
function applyUpdate(image: Item | undefined, update: TransactWriteItem["Update"]): Item {
  if (!update?.Key || !update.UpdateExpression) throw new Error("not an update");
  const names = update.ExpressionAttributeNames ?? {};
  const values = update.ExpressionAttributeValues ?? {};
  const next: Item = { ...(image ?? {}), ...update.Key };
  const [, add = "", set = "", remove = ""] =
    /^ADD (.*?)(?: SET (.*?))?(?: REMOVE (.*))?$/.exec(update.UpdateExpression) ?? [];
  for (const part of add.split(", ").filter(Boolean)) {
    const [name = "", value = ""] = part.split(" ");
    const attribute = names[name] ?? name;
    next[attribute] = {
      N: String(Number(next[attribute]?.N ?? 0) + Number(values[value]?.N ?? Number.NaN)),
    };
  }
  for (const part of set.split(", ").filter(Boolean)) {
    const [name = "", value = ""] = part.split(" = ");
    next[names[name] ?? name] = values[value] as AttributeValue;
  }
  for (const name of remove.split(", ").filter(Boolean)) delete next[names[name] ?? name];
  return next;
}

/** One city's feed: Poisson arrivals, 8 % re-sends of a recent RSVP with a newer version. */
function cityFeed(perHour: number, hours: number, seed: string): CountableRecord[] {
  const random = Random.derive(seed, "city-feed");
  const city = { key: "us/ny/new york", country: "us", state: "NY", name: "New York" };
  const records: CountableRecord[] = [];
  let mtime = Date.UTC(2026, 11, 4, 0, 0, 0);
  const end = mtime + hours * 3_600_000;
  let nextId = 1_800_000_000;
  for (;;) {
    mtime += Math.max(1, Math.round(random.exponential(3_600_000 / perHour)));
    if (mtime >= end) break;
    const earlier =
      records.length > 0 && random.chance(0.08) ? random.pick(records.slice(-500)) : undefined;
    const yes = random.chance(0.8);
    records.push(
      earlier
        ? { ...earlier, mtime, response: earlier.response === "yes" ? "no" : "yes" }
        : {
            v: 1,
            rsvpId: nextId++,
            mtime,
            response: yes ? "yes" : "no",
            guests: random.int(0, 2),
            city,
          },
    );
  }
  return records;
}

/** Records in batches of `windowSeconds` (by mtime), as a batching window would cut them. */
function secondBatches(records: CountableRecord[], windowSeconds = 1): KafkaMessage[][] {
  const batches = new Map<number, KafkaMessage[]>();
  records.forEach((record, offset) => {
    const second = Math.floor(record.mtime / (1000 * windowSeconds));
    const batch = batches.get(second) ?? [];
    batch.push({ topic: "meetup", partition: 0, offset, value: JSON.stringify(record) });
    batches.set(second, batch);
  });
  return [...batches.values()];
}

/**
 * The design this replaced: per (day, city, hour of mtime) a seen item of message ids
 * (`rsvpId@mtime`, a string set) rewritten by every batch with the counters, in one
 * transaction. Its write units per batch, by the same rules, until an item passes 400 KB.
 */
function seenSetDesign(batches: KafkaMessage[][]): {
  units: number;
  failsAfterSeconds: number | null;
} {
  const seen = new Map<string, Set<string>>();
  let units = 0;
  let elapsed = 0;
  for (const batch of batches) {
    elapsed += 1;
    const groups = new Map<string, string[]>();
    for (const message of batch) {
      const record = JSON.parse(message.value ?? "{}") as CountableRecord;
      const iso = new Date(record.mtime).toISOString();
      const key = `SEEN#${iso.slice(0, 10)}#${record.city.key}\u0000H${iso.slice(11, 13)}`;
      groups.set(key, [...(groups.get(key) ?? []), `${record.rsvpId}@${record.mtime}`]);
    }
    for (const [key, ids] of groups) {
      const set = seen.get(key) ?? new Set<string>();
      const item = (ids: Set<string>): Item => ({
        pk: { S: key.split("\u0000")[0] ?? "" },
        sk: { S: key.split("\u0000")[1] ?? "" },
        ids: { SS: [...ids] },
        version: { N: "12345" },
        expiresAt: { N: "1796000000" },
      });
      const before = set.size > 0 ? itemSizeBytes(item(set)) : 0;
      for (const id of ids) set.add(id);
      seen.set(key, set);
      const after = itemSizeBytes(item(set));
      if (after > 400 * 1024) return { units, failsAfterSeconds: elapsed };
      // The seen item, the day counter and the all-time counter (each under 1 KB).
      units += writeUnits(before, after, true) + 2 * writeUnits(300, 300, true);
    }
  }
  return { units, failsAfterSeconds: null };
}

async function costOf(records: CountableRecord[], windowSeconds = 1) {
  const store = new CostModelStore();
  const batches = secondBatches(records, windowSeconds);
  for (const batch of batches) {
    await processBatch(batch, {
      store,
      tableName: "counts",
      stateTtlSeconds: 14 * 86_400,
      keepAliveSeconds: 170 * 3_600,
    });
  }
  const rsvps = new Set(records.map((r) => r.rsvpId)).size;
  return { store, batches, rsvps };
}

export async function run(print: (line: string) => void): Promise<void> {
  print("write units (WRU) by DynamoDB's size rules, transactions doubled; 1-second batches");
  print(
    "feed                        | RSVPs  | messages | WRU/RSVP | WRU/message | largest item | seen-set design (before)",
  );
  const series = [
    { name: "quiet city, 10 RSVPs/hour", perHour: 10, hours: 24 },
    { name: "New York, 3,600/hour", perHour: 3_600, hours: 1 },
    { name: "10 x New York, 36,000/hour", perHour: 36_000, hours: 1 },
  ];
  for (const { name, perHour, hours } of series) {
    const records = cityFeed(perHour, hours, name);
    const { store, batches, rsvps } = await costOf(records);
    const old = seenSetDesign(batches);
    const oldText =
      old.failsAfterSeconds === null
        ? `${(old.units / new Set(records.map((r) => `${r.rsvpId}@${r.mtime}`)).size).toFixed(1)} WRU/message`
        : `fails after ${(old.failsAfterSeconds / 60).toFixed(0)} min (seen item over 400 KB), ${(old.units / batches.slice(0, old.failsAfterSeconds).flat().length).toFixed(1)} WRU/message until then`;
    print(
      `${name.padEnd(27)} | ${String(rsvps).padStart(6)} | ${String(records.length).padStart(8)} | ${(store.writeUnits / rsvps).toFixed(2).padStart(8)} | ${(store.writeUnits / records.length).toFixed(2).padStart(11)} | ${String(store.largestItem).padStart(8)} B   | ${oldText}`,
    );
  }
  const alone = await costOf(cityFeed(3_600, 1, "alone").slice(0, 1));
  const changeAlone = await costOf(
    cityFeed(3_600, 1, "alone")
      .slice(0, 1)
      .flatMap((r) => [
        r,
        {
          ...r,
          mtime: r.mtime + 5_000,
          response: r.response === "yes" ? ("no" as const) : ("yes" as const),
        },
      ]),
  );
  print(
    `an RSVP alone in its batch: ${alone.store.writeUnits} WRU (its state, its day and all-time counters, each under 1 KB, doubled in the transaction); a change of answer alone: ${changeAlone.store.writeUnits - alone.store.writeUnits} WRU`,
  );
  print(
    "n RSVPs of one city in a batch share its two counters: 2 + 4/n WRU per RSVP, whatever the volume; New York's rate by batching window:",
  );
  const newYork = cityFeed(3_600, 1, "window");
  const windows: string[] = [];
  for (const windowSeconds of [0.25, 0.5, 1, 2, 4, 8]) {
    const { store, rsvps } = await costOf(newYork, windowSeconds);
    windows.push(`${windowSeconds} s: ${(store.writeUnits / rsvps).toFixed(2)}`);
  }
  print(`  WRU/RSVP at 3,600/hour with a window of ${windows.join(", ")}`);

  await hottestKeys(print);
  await checkOnMoto(print);
}

/** Write units per partition key per second at ten times New York, the US feed around it. */
async function hottestKeys(print: (line: string) => void): Promise<void> {
  const parse = createRsvpParser({ pseudonymKey: "counts-cost-bench-key-0123456789abcdef" });
  // The synthetic feed's city mix; its share of New York sets the time scale.
  const sample: CountableRecord[] = [];
  const feed = syntheticRecords(
    { seed: "counts-cost", malformedShare: 0, meanIntervalMs: 1000 },
    parse,
  );
  for (const record of feed) {
    if (record.city.country === "us") sample.push(record);
    if (sample.length === 60_000) break;
  }
  const newYork = sample.filter((r) => r.city.key === "us/ny/new york city").length / sample.length;
  const usPerSecond = 10 / newYork;
  const seconds = Math.floor(sample.length / usPerSecond);
  const start = Date.UTC(2026, 11, 4, 12);
  const records = sample.slice(0, Math.floor(seconds * usPerSecond)).map((r, i) => ({
    ...r,
    mtime: start + Math.floor((i / usPerSecond) * 1000),
  }));
  const store = new CostModelStore();
  const partitionOf = (cityKey: string) => {
    let hash = 0;
    for (const c of cityKey) hash = (hash * 31 + (c.codePointAt(0) ?? 0)) | 0;
    return Math.abs(hash) % 6;
  };
  for (let second = 0; second < seconds; second++) {
    store.second = second;
    const inSecond = records.filter(
      (r) => r.mtime >= start + second * 1000 && r.mtime < start + (second + 1) * 1000,
    );
    for (let partition = 0; partition < 6; partition++) {
      const batch = inSecond
        .filter((r) => partitionOf(r.city.key) === partition)
        .map((r, offset) => ({ topic: "meetup", partition, offset, value: JSON.stringify(r) }));
      if (batch.length > 0)
        await processBatch(batch, {
          store,
          tableName: "counts",
          stateTtlSeconds: 14 * 86_400,
          keepAliveSeconds: 170 * 3_600,
        });
    }
  }
  const byKey = new Map<string, number>();
  for (const [key, units] of store.perKeySecond) {
    const pk = key.split("\u0000")[1] ?? "";
    const kind = pk.startsWith("RSVP#") ? "RSVP#<id> (any one)" : pk;
    byKey.set(kind, Math.max(byKey.get(kind) ?? 0, units));
  }
  const top = [...byKey].sort((a, b) => b[1] - a[1]).slice(0, 4);
  print("");
  print(
    `partition keys at 10 x New York (${usPerSecond.toFixed(0)} US RSVPs/s, New York ${(newYork * 100).toFixed(1)} % of them in the synthetic mix, ${seconds} s, 6 partitions, 1-second batches): highest WRU/s per key`,
  );
  for (const [key, units] of top)
    print(`  ${key.padEnd(24)} ${units} WRU/s (DynamoDB's per-partition limit: 1,000)`);
}

/** The model's item images against the real engine's: same batches, every item read back. */
async function checkOnMoto(print: (line: string) => void): Promise<void> {
  const stack = await startLocalStack({ kafka: false, aws: true });
  const dynamodb = new DynamoDBClient(awsClientConfig(stack.aws as NonNullable<typeof stack.aws>));
  try {
    const tableName = stack.resources.tables.CityCountsTable as string;
    const moto = dynamoCountsStore(dynamodb, tableName);
    const model = new CostModelStore();
    const records = cityFeed(3_600, 0.05, "moto-check");
    for (const batch of secondBatches(records)) {
      await processBatch(batch, {
        store: moto,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
      });
      await processBatch(batch, {
        store: model,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
      });
    }
    let compared = 0;
    let differing = 0;
    const keys = [...model.images.values()].map((item) => ({
      pk: item.pk as AttributeValue,
      sk: item.sk as AttributeValue,
    }));
    for (let i = 0; i < keys.length; i += 100) {
      const result = await dynamodb.send(
        new BatchGetItemCommand({
          RequestItems: { [tableName]: { Keys: keys.slice(i, i + 100) } },
        }),
      );
      for (const item of result.Responses?.[tableName] ?? []) {
        const image = model.images.get(keyId({ pk: item.pk?.S ?? "", sk: item.sk?.S ?? "" }));
        compared += 1;
        // updatedAt is the wall clock of each write: the same digits count either way.
        if (!image || itemSizeBytes(image) !== itemSizeBytes(item)) differing += 1;
      }
    }
    print("");
    print(
      `item images checked on moto: ${compared} items of ${records.length} messages read back, ${differing} of a size other than the model's`,
    );
  } finally {
    dynamodb.destroy();
    await stack.stop();
  }
}
