/**
 * What counting costs in DynamoDB write units, computed from the items the city-counts code
 * writes, by DynamoDB's documented rules (local/dynamodb/write-units.ts): moto's
 * ConsumedCapacity is a constant, not a measurement. The code writes single items, no
 * transactions (functions/city-counts/counting.ts): a write costs 1 WRU per started KB of the
 * larger of its item's sizes before and after it. Reads (the states and the counters' fences)
 * cost read units, which are not counted here.
 *
 * - One city's feed at three rates, in 1-second batches (the event source's window): a quiet
 *   city (10 RSVPs/hour), New York (3,600/hour) and ten times New York. 8 % of the messages
 *   re-send an earlier RSVP with a newer version (as the real feed does). The batches run
 *   through the real processBatch against a store that keeps the item images and charges each
 *   write. Beside it, the two designs before this one: the transactional design it replaces
 *   (the same state, counter and day-marker writes in TransactWriteItems, each doubled, a
 *   counter whose changes cancel out left unwritten, as that design did) and the seen-set
 *   design before that (an hourly seen-set of message ids per city, rewritten by every batch).
 * - The cost per RSVP by batching window (0.25 to 8 s), at New York's rate and at ten times it.
 * - Every partition key's write units per second at ten times New York's rate, the whole US
 *   feed around it (the synthetic feed's city mix, scaled), on a 6-partition topic keyed by city.
 * - Issue 11's targets, each said met or not.
 * - A check of the item images against moto: the same batches on the real engine, every item
 *   read back and sized, must give the same sizes.
 */
import { type AttributeValue, BatchGetItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { keyId, type WriteAction } from "../functions/city-counts/counting.js";
import { dynamoCountsStore } from "../functions/city-counts/counts-store.js";
import { processBatch } from "../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../functions/shared/msk-event.js";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import type { CountableRecord } from "../functions/shared/rsvp/record-schema.js";
import { CostModelStore, type Item } from "../local/dynamodb/cost-model-store.js";
import { itemSizeBytes, writeUnits } from "../local/dynamodb/write-units.js";
import { Random } from "../local/feed/synthetic/random.js";
import { syntheticRecords } from "../local/feed/synthetic/sample.js";
import { awsClientConfig } from "../local/stack/aws-endpoint.js";
import { startLocalStack } from "../local/stack/stack.js";

/**
 * One city's feed: Poisson arrivals, 8 % re-sends of a recent RSVP with a newer version. Each
 * record carries the arrival stamp the ingest gives it (microseconds; here at its mtime), so
 * the state items are the size the deployed code writes.
 */
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
        ? {
            ...earlier,
            mtime,
            arrival: mtime * 1000,
            response: earlier.response === "yes" ? "no" : "yes",
          }
        : {
            v: 1,
            rsvpId: nextId++,
            mtime,
            arrival: mtime * 1000,
            response: yes ? "yes" : "no",
            guests: random.int(0, 2),
            city,
          },
    );
  }
  return records;
}

/**
 * Records in batches of `windowSeconds` (by mtime), as a batching window would cut them, at
 * offsets from `firstOffset` on: the counters fence by offset, so a partition's offsets only rise.
 */
function secondBatches(
  records: CountableRecord[],
  windowSeconds = 1,
  firstOffset = 0,
): KafkaMessage[][] {
  const batches = new Map<number, KafkaMessage[]>();
  records.forEach((record, index) => {
    const second = Math.floor(record.mtime / (1000 * windowSeconds));
    const batch = batches.get(second) ?? [];
    const offset = firstOffset + index;
    batch.push({ topic: "meetup", partition: 0, offset, value: JSON.stringify(record) });
    batches.set(second, batch);
  });
  return [...batches.values()];
}

/**
 * The design before the transactional one: per (day, city, hour of mtime) a seen item of
 * message ids (`rsvpId@mtime`, a string set) rewritten by every batch with the counters, in one
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

/** Most actions in one TransactWriteItems call: the transactional design split bigger batches. */
const MAX_TRANSACTION_ACTIONS = 100;

/**
 * The cost model, also charging the same writes as the transactional design this code replaces
 * charged them: every state write and day marker, and each counter once per batch, inside a
 * transaction, so each doubled (2 WRU for an item under 1 KB); a counter whose changes cancel
 * out left unwritten (that design wrote none; this one writes it for its fence). Sized by this
 * code's items, which carry pending changes and fences that design's did not: the same units
 * while every item stays under 1 KB (`largestItem`), the only case the figure is printed for.
 */
class DesignsCostStore extends CostModelStore {
  transactionalUnits = 0;
  /** Most state writes of one batch: past what one transaction holds with its counters and
   * marker, that design split the batch and wrote the counters once per transaction. */
  mostStateWrites = 0;

  override async applyWrites(actions: WriteAction[]): Promise<"applied"[]> {
    let stateWrites = 0;
    for (const action of actions) {
      const key = action.Put?.Item ?? action.Update?.Key;
      const id = keyId({ pk: key?.pk?.S ?? "", sk: key?.sk?.S ?? "" });
      const before = this.images.get(id);
      await super.applyWrites([action]);
      const after = this.images.get(id);
      if (isCancelledOut(action)) continue;
      if (key?.pk?.S?.startsWith("RSVP#")) stateWrites += 1;
      this.transactionalUnits += writeUnits(
        before ? itemSizeBytes(before) : 0,
        after ? itemSizeBytes(after) : 0,
        true,
      );
    }
    this.mostStateWrites = Math.max(this.mostStateWrites, stateWrites);
    return actions.map(() => "applied" as const);
  }

  /**
   * The transactional design's figure, `units` per `per` to `digits` decimals: "n/a" once an
   * item of this code passes 1 KB (its extra attributes would then change the units), ">=" once
   * a batch held more states than one transaction took beside its counters and marker.
   */
  transactional(units: number, per: number, digits = 2): string {
    if (this.largestItem > 1024) return "n/a (an item over 1 KB)";
    const split = this.mostStateWrites > MAX_TRANSACTION_ACTIONS - 3;
    return `${split ? ">= " : ""}${(units / per).toFixed(digits)}`;
  }
}

/** A counter write whose deltas are all zero: changes of one batch that cancel out. */
function isCancelledOut(action: WriteAction): boolean {
  const values = action.Update?.ExpressionAttributeValues;
  return (
    values !== undefined &&
    [":rsvps", ":yes", ":no", ":guests"].every((name) => Number(values[name]?.N) === 0)
  );
}

/**
 * Counts `records` in batches of `windowSeconds` through the real processBatch, as one Lambda
 * container does: its day markers (`markedDays`) are kept across batches, as the handler keeps
 * them, so a container marks each day once. Pass a store and markers to go on counting in the
 * same table and container, and the offset its partition has reached. `units` are this code's
 * write units, `transactionalUnits` those of the same writes in the transactional design
 * (DesignsCostStore); `perBatch` each batch's messages and units.
 */
async function costOf(
  records: CountableRecord[],
  windowSeconds = 1,
  store = new DesignsCostStore(),
  markedDays = new Set<string>(),
  firstOffset = 0,
) {
  const unitsBefore = store.writeUnits;
  const transactionalBefore = store.transactionalUnits;
  const batches = secondBatches(records, windowSeconds, firstOffset);
  const perBatch: { messages: number; units: number }[] = [];
  for (const batch of batches) {
    const before = store.writeUnits;
    await processBatch(batch, {
      store,
      tableName: "counts",
      stateTtlSeconds: 14 * 86_400,
      keepAliveSeconds: 170 * 3_600,
      markedDays,
    });
    perBatch.push({ messages: batch.length, units: store.writeUnits - before });
  }
  const rsvps = new Set(records.map((r) => r.rsvpId)).size;
  return {
    store,
    batches,
    perBatch,
    rsvps,
    units: store.writeUnits - unitsBefore,
    transactionalUnits: store.transactionalUnits - transactionalBefore,
  };
}

/** WRU per message of the first and the second half of a feed's batches. */
function halves(perBatch: { messages: number; units: number }[]): [number, number] {
  const middle = Math.floor(perBatch.length / 2);
  const rate = (part: typeof perBatch) =>
    part.reduce((sum, b) => sum + b.units, 0) / part.reduce((sum, b) => sum + b.messages, 0);
  return [rate(perBatch.slice(0, middle)), rate(perBatch.slice(middle))];
}

/** The batching windows swept, in seconds: Lambda's 0.5 s default for Kafka among them. */
const BATCHING_WINDOWS_SECONDS = [0.25, 0.5, 1, 2, 4, 8];

/** DynamoDB's write throughput limit per partition, which one partition key cannot pass. */
const PARTITION_LIMIT_WRU_PER_SECOND = 1_000;

const met = (holds: boolean) => (holds ? "met" : "NOT MET");

export async function run(print: (line: string) => void): Promise<void> {
  print(
    "write units (WRU) by DynamoDB's size rules: single-item writes, 1 WRU per started KB of the larger of an item's before and after sizes; 1-second batches",
  );
  print(
    "feed                        | RSVPs  | messages | WRU/RSVP | WRU/message | largest item | transactional design it replaces, WRU/RSVP | seen-set design before that",
  );
  const series = [
    { name: "quiet city, 10 RSVPs/hour", perHour: 10, hours: 24 },
    { name: "New York, 3,600/hour", perHour: 3_600, hours: 1 },
    { name: "10 x New York, 36,000/hour", perHour: 36_000, hours: 1 },
  ];
  const feeds: {
    perRsvp: number;
    largestItem: number;
    halves: [number, number];
  }[] = [];
  for (const { name, perHour, hours } of series) {
    const records = cityFeed(perHour, hours, name);
    const { store, batches, perBatch, rsvps, units, transactionalUnits } = await costOf(records);
    const old = seenSetDesign(batches);
    const oldText =
      old.failsAfterSeconds === null
        ? `${(old.units / new Set(records.map((r) => `${r.rsvpId}@${r.mtime}`)).size).toFixed(1)} WRU/message`
        : `fails after ${(old.failsAfterSeconds / 60).toFixed(0)} min (seen item over 400 KB), ${(old.units / batches.slice(0, old.failsAfterSeconds).flat().length).toFixed(1)} WRU/message until then`;
    feeds.push({
      perRsvp: units / rsvps,
      largestItem: store.largestItem,
      halves: halves(perBatch),
    });
    print(
      `${name.padEnd(27)} | ${String(rsvps).padStart(6)} | ${String(records.length).padStart(8)} | ${(units / rsvps).toFixed(2).padStart(8)} | ${(units / records.length).toFixed(2).padStart(11)} | ${String(store.largestItem).padStart(8)} B   | ${store.transactional(transactionalUnits, rsvps).padStart(42)} | ${oldText}`,
    );
  }
  // One container: its first RSVP of the day also writes the day's marker; the next RSVP, alone
  // in its batch, and then a change of its answer, alone too, pay only their own writes.
  const [first, second] = cityFeed(3_600, 1, "alone").filter(
    (record, index, all) => all.findIndex((r) => r.rsvpId === record.rsvpId) === index,
  );
  if (!first || !second) throw new Error("the feed has fewer than two RSVPs");
  const container = { store: new DesignsCostStore(), markedDays: new Set<string>(), offset: 0 };
  const inContainer = (record: CountableRecord) =>
    costOf([record], 1, container.store, container.markedDays, container.offset++);
  const firstOfDay = await inContainer(first);
  const alone = await inContainer(second);
  const changeAlone = await inContainer({
    ...second,
    mtime: second.mtime + 5_000,
    response: second.response === "yes" ? "no" : "yes",
  });
  print(
    `an RSVP alone in its batch: ${alone.units} WRU (its state, its day and all-time counters, each under 1 KB, one write each); a change of answer alone: ${changeAlone.units} WRU; a container's first counts of a UTC day also mark the day (${firstOfDay.units - alone.units} WRU, once: ${firstOfDay.units} WRU for that batch)`,
  );
  print(
    `  the transactional design it replaces, same writes doubled: ${container.store.transactional(alone.transactionalUnits, 1, 0)} WRU alone, ${container.store.transactional(changeAlone.transactionalUnits, 1, 0)} for a change alone, ${container.store.transactional(firstOfDay.transactionalUnits, 1, 0)} with the day's marker`,
  );
  print(
    "n RSVPs of one city in a batch share its two counters: 1 + 2/n WRU per RSVP (the transactional design: 2 + 4/n), whatever the volume; by batching window (0.5 s: Lambda's default for Kafka, CityCountsBatchingWindowSeconds -1):",
  );
  const sweeps = new Map<number, Map<number, number>>();
  for (const { perHour, seed } of [
    { perHour: 3_600, seed: "window" },
    { perHour: 36_000, seed: "window, 10 x New York" },
  ]) {
    const feed = cityFeed(perHour, 1, seed);
    const windows: string[] = [];
    const transactional: string[] = [];
    const byWindow = new Map<number, number>();
    for (const windowSeconds of BATCHING_WINDOWS_SECONDS) {
      const { store, rsvps, units, transactionalUnits } = await costOf(feed, windowSeconds);
      byWindow.set(windowSeconds, units / rsvps);
      windows.push(`${windowSeconds} s: ${(units / rsvps).toFixed(2)}`);
      transactional.push(`${windowSeconds} s: ${store.transactional(transactionalUnits, rsvps)}`);
    }
    sweeps.set(perHour, byWindow);
    print(
      `  WRU/RSVP at ${perHour.toLocaleString("en-US")}/hour with a window of ${windows.join(", ")}`,
    );
    print(`    the transactional design it replaces: ${transactional.join(", ")}`);
  }

  const hottest = await hottestKeys(print);

  // Issue 11's targets, on the figures above (1-second batches: the issue's premise). Growth:
  // the cost per RSVP must not rise with the rate, a feed's second half may cost at most 5 %
  // more per message than its first, and the largest item must stay under 1 KB and within a
  // quarter of the quiet city's. "Near" 1,000 WRU/s: half of it or more.
  const [quiet, newYork, tenTimes] = feeds as [
    (typeof feeds)[0],
    (typeof feeds)[0],
    (typeof feeds)[0],
  ];
  const falls = quiet.perRsvp >= newYork.perRsvp && newYork.perRsvp >= tenTimes.perRsvp;
  const steady = feeds.every(({ halves: [early, late] }) => late <= early * 1.05);
  const items = Math.max(...feeds.map((feed) => feed.largestItem));
  const bounded = items <= 1024 && tenTimes.largestItem <= quiet.largestItem * 1.25;
  const atWindow = (perHour: number, seconds: number) =>
    (sweeps.get(perHour)?.get(seconds) ?? Number.NaN).toFixed(2);
  const [hottestKey = "-", hottestUnits = 0] = hottest[0] ?? [];
  print("");
  print("issue 11's targets (1-second batches, the issue's premise):");
  print(`  an RSVP alone in its batch at most 6 WRU: ${alone.units} WRU: ${met(alone.units <= 6)}`);
  print(
    `  at most 3 WRU per RSVP at New York's rate and above: New York ${newYork.perRsvp.toFixed(2)}, 10 x New York ${tenTimes.perRsvp.toFixed(2)} (window sweep at 1 s: ${atWindow(3_600, 1)}, ${atWindow(36_000, 1)}): ${met(newYork.perRsvp <= 3 && tenTimes.perRsvp <= 3)}`,
  );
  print(
    `    at the deployed 0.5 s window, beside the target: New York ${atWindow(3_600, 0.5)}, 10 x New York ${atWindow(36_000, 0.5)} WRU/RSVP`,
  );
  print(
    `  nothing that grows with volume: WRU/RSVP ${feeds.map((f) => f.perRsvp.toFixed(2)).join(", ")} from 10 to 36,000 RSVPs/hour (${falls ? "falls" : "RISES"}); WRU/message in each feed's first and second half ${feeds.map((f) => `${f.halves[0].toFixed(2)}/${f.halves[1].toFixed(2)}`).join(", ")} (${steady ? "steady" : "GROWS"}); largest item ${feeds.map((f) => f.largestItem).join(", ")} B (${bounded ? "bounded" : "GROWS"}): ${met(falls && steady && bounded)}`,
  );
  print(
    `  no key near 1,000 WRU/s at 10 x New York: highest ${hottestUnits} WRU/s (${hottestKey}), under half the limit: ${met(hottestUnits < PARTITION_LIMIT_WRU_PER_SECOND / 2)}`,
  );

  await checkOnMoto(print);
}

/** Write units per partition key per second at ten times New York, the US feed around it. */
async function hottestKeys(print: (line: string) => void): Promise<[string, number][]> {
  const parse = createRsvpParser();
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
  const records = sample.slice(0, Math.floor(seconds * usPerSecond)).map((r, i) => {
    const mtime = start + Math.floor((i / usPerSecond) * 1000);
    return { ...r, mtime, arrival: mtime * 1000 + i };
  });
  const store = new CostModelStore();
  // One container per partition (the event source's pollers), each keeping its day markers.
  const markedDaysOf = Array.from({ length: 6 }, () => new Set<string>());
  // Each partition's offsets go on rising across batches, as Kafka's do: counters fence by them.
  const nextOffsetOf = Array.from({ length: 6 }, () => 0);
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
      const firstOffset = nextOffsetOf[partition] ?? 0;
      const batch = inSecond
        .filter((r) => partitionOf(r.city.key) === partition)
        .map((r, i) => ({
          topic: "meetup",
          partition,
          offset: firstOffset + i,
          value: JSON.stringify(r),
        }));
      nextOffsetOf[partition] = firstOffset + batch.length;
      if (batch.length > 0)
        await processBatch(batch, {
          store,
          tableName: "counts",
          stateTtlSeconds: 14 * 86_400,
          keepAliveSeconds: 170 * 3_600,
          markedDays: markedDaysOf[partition],
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
  return top;
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
    // Each store as one container with its day markers, as the handler keeps them.
    const [motoMarkedDays, modelMarkedDays] = [new Set<string>(), new Set<string>()];
    for (const batch of secondBatches(records)) {
      await processBatch(batch, {
        store: moto,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
        markedDays: motoMarkedDays,
      });
      await processBatch(batch, {
        store: model,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
        markedDays: modelMarkedDays,
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
        // updatedAt is the wall clock of each write, not the same on the two stores, and its size
        // is not either when one ends in zeros (a number is sized by its significant digits):
        // the model's stands in for moto's.
        const read =
          image?.updatedAt && item.updatedAt ? { ...item, updatedAt: image.updatedAt } : item;
        if (!image || itemSizeBytes(image) !== itemSizeBytes(read)) differing += 1;
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
