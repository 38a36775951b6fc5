import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  type CountedForm,
  type DecodedBatch,
  dayMarkerWrite,
  decodeBatch,
  expiresAtOf,
  type Fences,
  fenceAttribute,
  type ItemKey,
  itemKeys,
  keyId,
  MAX_PENDING_CHANGES,
  MAX_UNSETTLED_IDS_PER_ITEM,
  type PendingChange,
  PendingChangesOverflowError,
  type PlanOptions,
  type PoisonRecord,
  partitionIdOf,
  pendingOfText,
  pendingText,
  planCounterWrites,
  planStateWrites,
  type StoredState,
  stateChanges,
  stateItem,
  storedStateOf,
  unsettledWrites,
  type WriteAction,
} from "../../functions/city-counts/counting.js";
import {
  type CountsStore,
  dynamoCountsStore,
  type WriteOutcome,
} from "../../functions/city-counts/counts-store.js";
import {
  ConcurrentUpdateError,
  nothingApplied,
  OutOfTimeError,
  processBatch,
} from "../../functions/city-counts/process-batch.js";
import { countDay, foldMessage, type RsvpState } from "../../functions/city-counts/rsvp-state.js";
import { isTransientAwsError, retryTransient } from "../../functions/shared/aws-errors.js";
import { type KafkaMessage, messagesOf, mskEventSchema } from "../../functions/shared/msk-event.js";
import { tickValue } from "../../functions/shared/partition-tick.js";
import { MAX_CITY_KEY_BYTES } from "../../functions/shared/rsvp/record-schema.js";
import { MAX_DISPLAY_NAME_BYTES } from "../../functions/shared/rsvp/text.js";
import { CostModelStore } from "../../local/dynamodb/cost-model-store.js";
import { itemSizeBytes, writeUnits } from "../../local/dynamodb/write-units.js";
import { countsByRule, type RuleRecord } from "../support/counting-rule.js";
import { countsOfItems } from "../support/counts-table.js";
import {
  abortError,
  crashing,
  failingAfter,
  hangingAfter,
  SimulatedCrash,
} from "../support/crashing-store.js";

const fixture = mskEventSchema.parse(
  JSON.parse(readFileSync(new URL("../../events/msk-city-counts.json", import.meta.url), "utf8")),
);
const options = {
  tableName: "counts",
  nowMs: Date.UTC(2026, 10, 27),
  stateTtlSeconds: 14 * 86_400,
  keepAliveSeconds: 170 * 3_600,
} satisfies PlanOptions;
/** processBatch's dependencies for a test: the fixed clock, no pauses, a container's markers. */
const deps = (store: CountsStore, markedDays?: Set<string>) => ({
  ...options,
  store,
  now: () => options.nowMs,
  pause: async () => {},
  ...(markedDays ? { markedDays } : {}),
});
const DAY1 = Date.UTC(2026, 0, 1, 23, 50);
const DAY2 = Date.UTC(2026, 0, 2, 0, 10);

function record(
  rsvpId: number,
  mtime: number,
  response: "yes" | "no" = "yes",
  cityKey = "us/or/portland",
  guests = 0,
) {
  return {
    v: 1 as const,
    rsvpId,
    mtime,
    response,
    guests,
    city: { key: cityKey, country: "us", state: "OR", name: cityKey.split("/")[2] ?? cityKey },
  };
}

/** Folds records in arrival order, as a sequence of one-record batches would. */
function fold(...records: ReturnType<typeof record>[]): RsvpState | null {
  return records.reduce<RsvpState | null>((state, r) => foldMessage(state, r), null);
}

/**
 * A table in memory (the cost model's item images) that checks the conditions the counting's
 * writes carry, as DynamoDB does; `conflictOn(call)` makes every write of that applyWrites call
 * fail its condition, as if another writer had got there first.
 */
function conditionalTable(conflictOn: (call: number) => boolean = () => false) {
  const model = new CostModelStore();
  /** Per readStates call, the RSVPs it found. */
  const reads: number[][] = [];
  const letters = new Set<string>();
  let calls = 0;
  const holds = (action: WriteAction) => {
    const write = action.Put ?? action.Update;
    const key = action.Put?.Item ?? action.Update?.Key;
    const image = model.images.get(keyId({ pk: key?.pk?.S ?? "", sk: key?.sk?.S ?? "" }));
    const values = write?.ExpressionAttributeValues ?? {};
    const fence = image?.[write?.ExpressionAttributeNames?.["#fence"] ?? ""];
    switch (write?.ConditionExpression) {
      case undefined:
        return true;
      case "attribute_not_exists(pk)":
        return image === undefined;
      case "#version = :read":
        return image?.version?.N !== undefined && image.version.N === values[":read"]?.N;
      case "attribute_not_exists(#fence)":
        return fence === undefined;
      case "#fence = :readFence":
        return fence?.N !== undefined && fence.N === values[":readFence"]?.N;
      default:
        throw new Error(`no model of the condition ${write?.ConditionExpression}`);
    }
  };
  const store: CountsStore = {
    readStates: async (rsvpIds) => {
      const states = await model.readStates(rsvpIds);
      reads.push([...states.keys()]);
      return states;
    },
    readFences: (keys) => model.readFences(keys),
    readUnsettled: (tp) => model.readUnsettled(tp),
    forgetUnsettled: (tp, batches) => model.forgetUnsettled(tp, batches),
    applyWrites: async (actions, onOutcome) => {
      if (conflictOn(++calls)) {
        for (const index of actions.keys()) onOutcome?.(index, "conflict");
        return actions.map(() => "conflict");
      }
      const outcomes: WriteOutcome[] = [];
      for (const [index, action] of actions.entries()) {
        const [outcome = "applied"] = holds(action)
          ? await model.applyWrites([action])
          : (["conflict"] as const);
        onOutcome?.(index, outcome);
        outcomes.push(outcome);
      }
      return outcomes;
    },
    putDeadLetters: async (poison: PoisonRecord[]) => {
      const fresh = poison.filter((letter) => !letters.has(letter.source));
      for (const letter of poison) letters.add(letter.source);
      return fresh.length;
    },
  };
  /** The counters, keyed as countsByRule keys them; all-zero ones (no RSVP left) left out. */
  const counts = () => countsOfItems(model.images.values());
  return { store, model, reads, counts };
}

/** DynamoDB's throttling error, as the SDK throws it once its own retries are spent. */
const throttled = () =>
  Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" });

/** A failed batch's record of its RSVPs (another key, `UNSETTLED#`). */
const isRecordWrite = (action: WriteAction) =>
  Boolean(action.Put?.Item?.pk?.S?.startsWith("UNSETTLED#"));

/** The failed-batch records a {@link conditionalTable} holds. */
const unsettledItems = (table: ReturnType<typeof conditionalTable>) =>
  [...table.model.images.values()].filter((item) => item.pk?.S?.startsWith("UNSETTLED#"));

/**
 * `store`, refusing every write after `writesBeforeFailure` with a throttle, as a hot key or a
 * table refusing for longer than the retries does, except a failed batch's record of its RSVPs,
 * which it lets through.
 */
const failingWrites = (store: CountsStore, writesBeforeFailure: number) =>
  failingAfter(store, writesBeforeFailure, throttled, isRecordWrite);

/** The rule's counts of these records, shaped as {@link conditionalTable}'s `counts`. */
const ruleCounts = (records: ReturnType<typeof record>[]) =>
  new Map(
    [...countsByRule(records as RuleRecord[]).counts].map(([id, c]) => [
      id,
      { rsvps: c.rsvps, yes: c.yes, no: c.no, guests: c.guests },
    ]),
  );

/**
 * The container's next batch (a new RSVP at `offset`, DynamoDB answering again) writes the
 * records it kept first; the table then counts `earlier` and that RSVP by the rule.
 */
async function nextRunWritesKeptRecords(
  table: ReturnType<typeof conditionalTable>,
  unwrittenRecords: Map<string, WriteAction>,
  earlier: ReturnType<typeof record>[],
  offset: number,
) {
  const next = record(900, DAY1);
  await processBatch(messagesOfRecords([next], offset), {
    ...deps(table.store),
    unwrittenRecords,
  });
  expect(unwrittenRecords.size).toBe(0);
  expect(table.counts()).toEqual(ruleCounts([...earlier, next]));
}

/** Records as the MSK event Lambda would invoke the handler with: one partition, from offset 0. */
const mskEventOf = (records: ReturnType<typeof record>[]) => ({
  eventSource: "aws:kafka",
  records: {
    "meetup-0": records.map((r, offset) => ({
      topic: "meetup",
      partition: 0,
      offset,
      timestamp: DAY1,
      timestampType: "CREATE_TIME",
      value: Buffer.from(JSON.stringify(r)).toString("base64"),
      headers: [],
    })),
  },
});

/** Records as one partition's messages, at offsets from `firstOffset`. */
const messagesOfRecords = (records: ReturnType<typeof record>[], firstOffset = 0): KafkaMessage[] =>
  records.map((r, i) => ({
    topic: "meetup",
    partition: 0,
    offset: firstOffset + i,
    value: JSON.stringify(r),
  }));

describe("the counting rule (rsvp-state.ts)", () => {
  it("takes the greatest mtime as the state; among equal mtimes the first to arrive", () => {
    expect(fold(record(1, DAY1, "yes"), record(1, DAY1 + 60_000, "no"))?.response).toBe("no");
    expect(fold(record(1, DAY1 + 60_000, "no"), record(1, DAY1, "yes"))?.response).toBe("no");
    expect(fold(record(1, DAY1, "yes"), record(1, DAY1, "no"))?.response).toBe("yes");
  });

  it("among equal mtimes, the smaller arrival stamp wins whatever the order the counting sees them in", () => {
    const stamped = (r: ReturnType<typeof record>, arrival: number) => ({ ...r, arrival });
    const first = stamped(record(1, DAY1, "yes", "us/or/portland"), 1_000);
    const second = stamped(record(1, DAY1, "no", "us/wa/seattle"), 2_000);
    for (const order of [
      [first, second],
      [second, first],
    ]) {
      const state = order.reduce<RsvpState | null>((s, r) => foldMessage(s, r), null);
      expect(state).toMatchObject({ response: "yes", city: { key: "us/or/portland" } });
      expect(state?.arrival).toBe(1_000);
    }
    // A record without a stamp (another producer) ranks after every stamped one of its mtime;
    // between unstamped ones the first seen stays.
    const unstamped = record(1, DAY1, "no", "us/wa/seattle");
    expect(fold(unstamped, first)?.response).toBe("yes");
    expect(fold(first, unstamped)?.response).toBe("yes");
    expect(fold(record(1, DAY1, "no"), record(1, DAY1, "yes"))?.response).toBe("no");
    // A greater mtime still wins over any stamp.
    expect(fold(first, stamped(record(1, DAY1 + 1, "no"), 9_000))?.response).toBe("no");
  });

  it("counts on the UTC day of the earliest mtime seen, in whatever order the versions come", () => {
    expect(countDay(fold(record(1, DAY2), record(1, DAY1)) as RsvpState)).toBe("2026-01-01");
    expect(countDay(fold(record(1, DAY1), record(1, DAY2, "no")) as RsvpState)).toBe("2026-01-01");
    expect(countDay(fold(record(1, DAY2)) as RsvpState)).toBe("2026-01-02");
  });
});

describe("decodeBatch (events/msk-city-counts.json)", () => {
  const decoded = decodeBatch(messagesOf(fixture));

  it("folds every partition's records per RSVP, and counts the countable messages", () => {
    expect([...decoded.rsvps.keys()]).toEqual([1700000001, 1700000002, 1700000003]);
    expect(decoded.messages).toBe(4);
    expect(decoded.rsvps.get(1700000003)?.city.key).toBe("us/me/portland");
  });

  it("reads an event whose records carry headers of any shape (they are never read)", () => {
    const raw = JSON.parse(
      readFileSync(new URL("../../events/msk-city-counts.json", import.meta.url), "utf8"),
    ) as { records: Record<string, Record<string, unknown>[]> };
    for (const records of Object.values(raw.records))
      for (const [i, record] of records.entries())
        record.headers = i % 2 ? [{ "trace-id": null }, { origin: [104, 105] }] : { odd: true };
    const event = mskEventSchema.parse(raw);
    expect([...decodeBatch(messagesOf(event)).rsvps.keys()]).toEqual([...decoded.rsvps.keys()]);
    const headers = Object.values(event.records).flatMap((records) =>
      records.map((record) => record.headers),
    );
    expect(headers).toContainEqual([{ "trace-id": null }, { origin: [104, 105] }]);
    expect(headers).toContain(undefined);
  });

  it("takes the ingest's tick for a tick (Lambda's header form): counted as nothing, not a dead letter", () => {
    const tick = messagesOf(fixture).find((message) => message.offset === 41);
    expect(tick).toMatchObject({ partition: 3, tick: true });
    expect(decoded.ticks).toBe(1);
    expect(decoded.poison.map((letter) => letter.source)).not.toContain("meetup-3@41");
  });

  it("takes a record for a tick only with both the header and a tick's value: others count or are dead-lettered", () => {
    const raw = fixture.records["meetup-3"] ?? [];
    const [portland, tick] = raw;
    if (!portland || !tick) throw new Error("the fixture's meetup-3 records changed");
    const event = (records: typeof raw) =>
      mskEventSchema.parse({ ...fixture, records: { "meetup-3": records } });
    // An RSVP under the tick header is counted, not skipped.
    const rsvpWithHeader = decodeBatch(messagesOf(event([{ ...portland, headers: tick.headers }])));
    expect([rsvpWithHeader.ticks, rsvpWithHeader.messages]).toEqual([0, 1]);
    // A tick's value without the header, or with headers in a shape the schema sets aside: a
    // dead letter that says so, not a silent skip.
    for (const headers of [[], { odd: true }]) {
      const unmarked = decodeBatch(messagesOf(event([{ ...tick, headers } as (typeof raw)[0]])));
      expect([unmarked.ticks, unmarked.messages]).toEqual([0, 0]);
      expect(unmarked.poison).toMatchObject([{ source: "meetup-3@41", reason: "invalid_record" }]);
    }
  });

  it("turns a poison record into a dead letter with its source and reason", () => {
    expect(decoded.poison).toEqual([
      {
        source: "meetup-0@103",
        reason: "not_json",
        detail: "the value is not JSON",
        // Its words are no field of the record the ingest writes: masked, the shape kept.
        raw: "{… …",
      },
    ]);
  });

  it("keeps only the fields of the ingest's record in a dead letter: another producer's personal or free text stays out", () => {
    const value = JSON.stringify({
      v: 1,
      rsvpId: 5,
      mtime: 1526812000000,
      response: "maybe",
      attendee: { name: "Jane Roe" },
      comment: "call Jane Roe on 555-0100",
      city: { key: "us/or/portland", country: "us", name: "Portland", note: "Jane Roe" },
    });
    const [letter] = decodeBatch([{ topic: "meetup", partition: 1, offset: 8, value }]).poison;
    expect(letter?.raw).not.toMatch(/Jane|555/);
    expect(JSON.parse(letter?.raw ?? "{}")).toMatchObject({
      rsvpId: 5,
      mtime: 1526812000000,
      response: "maybe",
      city: { key: "us/or/portland", country: "us", name: "Portland" },
    });
    // Cut text that is not JSON keeps the record's fields where they stand, and no other value.
    const cut = decodeBatch([
      { topic: "meetup", partition: 1, offset: 9, value: value.slice(0, 120) },
    ]).poison[0];
    expect(cut?.raw).toContain('"rsvpId":5');
    expect(cut?.raw).not.toMatch(/Jane|555/);
  });

  it("names the field that makes a record unusable, and keeps personal data out of the raw text", () => {
    const value = JSON.stringify({
      v: 1,
      rsvpId: 5,
      mtime: 1526812000000,
      response: "maybe",
      member: { member_name: "Jane" },
    });
    const { poison } = decodeBatch([{ topic: "meetup", partition: 1, offset: 7, value }]);
    expect(poison[0]).toMatchObject({ source: "meetup-1@7", reason: "invalid_record" });
    expect(poison[0]?.detail).toMatch(/^response: /);
    expect(poison[0]?.raw).not.toContain("Jane");
    expect(
      decodeBatch([{ topic: "meetup", partition: 1, offset: 8, value: null }]).poison[0]?.reason,
    ).toBe("no_value");
  });

  it("dead-letters a record from elsewhere with a lone surrogate or more guests than any RSVP has", () => {
    // JSON can escape a lone surrogate, which UTF-8 (and so DynamoDB) cannot store.
    const surrogate = JSON.stringify(record(5, DAY1)).replace(
      '"name":"portland"',
      '"name":"port\\ud800land"',
    );
    expect(surrogate).toContain("\\ud800");
    const tooManyGuests = JSON.stringify(record(6, DAY1, "yes", "us/or/portland", 1001));
    const { poison, messages } = decodeBatch([
      { topic: "meetup", partition: 0, offset: 1, value: surrogate },
      { topic: "meetup", partition: 0, offset: 2, value: tooManyGuests },
    ]);
    expect(messages).toBe(0);
    expect(poison.map((p) => [p.source, p.reason, p.detail])).toEqual([
      ["meetup-0@1", "invalid_record", "city.name: not well-formed Unicode (a lone surrogate)"],
      ["meetup-0@2", "invalid_record", expect.stringMatching(/^guests: /)],
    ]);
  });

  it("dead-letters a record from elsewhere whose city text the ingest would have cleaned", () => {
    // Control characters in a city name would reach the terminal that shows the counts
    // (npm start) as escape sequences: the ingest removes them (cleanText), so a record
    // holding them came from another producer.
    const hostile = [
      '"name":"\\u001b]0;owned\\u0007\\u001b[2JNYC"',
      '"name":"port\\u202eland"',
      '"name":"port  land"',
    ];
    const values = hostile.map((name) =>
      JSON.stringify(record(7, DAY1)).replace('"name":"portland"', name),
    );
    for (const value of values) expect(value).not.toContain('"name":"portland"');
    const { poison, messages } = decodeBatch(
      values.map((value, offset) => ({ topic: "meetup", partition: 0, offset, value })),
    );
    expect(messages).toBe(0);
    expect(poison.map((p) => [p.reason, p.detail])).toEqual(
      hostile.map(() => [
        "invalid_record",
        "city.name: not as the ingest cleans text: control, invisible or replacement characters, or spaces other than single ones between words",
      ]),
    );
    // Ingest-written names, accents and emoji included, still count, as do names in another
    // Unicode form (an earlier ingest's "Α͂" lowercased: "\u03B1\u0342").
    const decomposed = JSON.stringify(record(9, DAY1)).replace(
      '"name":"portland"',
      '"name":"\\u03b1\\u0342thens"',
    );
    expect(
      decodeBatch([{ topic: "meetup", partition: 0, offset: 10, value: decomposed }]).messages,
    ).toBe(1);
    const clean = JSON.stringify(record(8, DAY1)).replace('"name":"portland"', '"name":"Zürich 🏔"');
    expect(decodeBatch([{ topic: "meetup", partition: 0, offset: 9, value: clean }]).messages).toBe(
      1,
    );
  });

  it("caps a dead letter's raw text so the item stays small, whatever the record", () => {
    // In a field the dead letter keeps (a cut frame: not JSON), two bytes a character.
    const value = `{"city":{"name":"${"é".repeat(40_000)}`;
    const { poison } = decodeBatch([{ topic: "meetup", partition: 0, offset: 1, value }]);
    const bytes = Buffer.byteLength(poison[0]?.raw ?? "", "utf8");
    expect(bytes).toBeLessThanOrEqual(2048);
    expect(bytes).toBeGreaterThan(2000);
    expect(poison[0]?.raw).toMatch(/^\{"city":\{"name":"é+$/);
    expect(poison[0]?.raw).not.toContain("\uFFFD");
  });
});

describe("stateChanges, planStateWrites and planCounterWrites", () => {
  /** The partition every batch here comes from, as partitionIdOf names it (no ARN). */
  const TP = "meetup-0";
  const portland = { key: "us/or/portland", country: "us" };
  const salem = { key: "us/or/salem", country: "us" };
  const dayCounter = (day: string, city = portland) => itemKeys.day(day, city);
  const allTimeCounter = (city = portland) => itemKeys.allTime(city);
  /** A state as stored a moment ago: it expires a full horizon from now. */
  const stored = (state: RsvpState, version = 1, pending: PendingChange[] = []): StoredState => ({
    state,
    version,
    expiresAt: options.nowMs / 1000 + options.stateTtlSeconds,
    pending,
  });
  /** What an RSVP adds to its counters, as a pending change names it. */
  const form = (
    day: string,
    response: "yes" | "no" = "yes",
    guests = 0,
    cityKey = "us/or/portland",
  ): CountedForm => ({ country: "us", cityKey, day, response, guests });
  /** Per counter, the fence of {@link TP} it holds. */
  const fencesOf = (...entries: [ItemKey, number][]): Fences =>
    new Map(entries.map(([key, offset]) => [keyId(key), new Map([[TP, offset]])]));
  /** These records as one batch of partition 0, at offsets from `firstOffset`, decoded. */
  const batchOf = (records: ReturnType<typeof record>[], firstOffset = 100) =>
    decodeBatch(messagesOfRecords(records, firstOffset));

  /**
   * One attempt at a partition's batch, planned as processBatch plans it: the state writes,
   * then the counter writes from the states as those writes leave them.
   */
  function plan(
    batch: DecodedBatch,
    held: StoredState[] = [],
    fences: Fences = new Map(),
    planOptions: PlanOptions = options,
  ) {
    const storedStates = new Map(held.map((s) => [s.state.rsvpId, s]));
    const changes = stateChanges(batch.rsvps, storedStates, planOptions);
    const states = planStateWrites(
      changes,
      storedStates,
      { tp: TP, lastOffsets: batch.lastOffsets, fences },
      planOptions,
    );
    const lastOffset = Math.max(...batch.lastOffsets.values());
    const counters = planCounterWrites(
      states.statesAfter.values(),
      { tp: TP, lastOffset, fences },
      planOptions,
    );
    return {
      changes,
      kinds: states.kinds,
      puts: states.writes.map((write) => write.Put),
      /** Per state write, the pending changes the item carries, read back. */
      pending: states.writes.map((write) => storedStateOf(write.Put?.Item ?? {})?.pending),
      updates: counters.writes.map((write) => write.Update),
      markedDays: counters.markedDays,
    };
  }
  type Update = ReturnType<typeof plan>["updates"][number];
  const keyOf = (update: Update) => `${update?.Key?.pk?.S} ${update?.Key?.sk?.S}`;
  const counterWrite = (updates: Update[], key: ItemKey) =>
    updates.find((update) => keyOf(update) === `${key.pk} ${key.sk}`);
  const delta = (update: Update) => ({
    rsvps: Number(update?.ExpressionAttributeValues?.[":rsvps"]?.N),
    yes: Number(update?.ExpressionAttributeValues?.[":yes"]?.N),
    no: Number(update?.ExpressionAttributeValues?.[":no"]?.N),
    guests: Number(update?.ExpressionAttributeValues?.[":guests"]?.N),
  });
  /** The fence a counter write reads (null: none) and the one it sets. */
  const fenceMove = (update: Update) => ({
    fence: update?.ExpressionAttributeNames?.["#fence"],
    condition: update?.ConditionExpression,
    read: update?.ExpressionAttributeValues?.[":readFence"]?.N ?? null,
    set: update?.ExpressionAttributeValues?.[":fence"]?.N,
  });

  it("writes a new RSVP's state only if it does not exist, its change pending, and both counters", () => {
    const planned = plan(batchOf([record(1, DAY1, "yes", undefined, 2)], 7));
    expect(planned.kinds).toEqual(["new"]);
    expect(planned.puts[0]?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(planned.puts[0]?.Item?.version).toEqual({ N: "1" });
    expect(planned.puts[0]?.Item?.expiresAt).toEqual({
      N: String(options.nowMs / 1000 + options.stateTtlSeconds),
    });
    // The change, tagged with its partition and offset: before it, nothing was counted.
    expect(planned.pending).toEqual([
      [{ tp: TP, offset: 7, before: null, after: form("2026-01-01", "yes", 2) }],
    ]);
    expect(planned.updates.map(keyOf).sort()).toEqual([
      "ALL#us us/or/portland",
      "DAY#2026-01-01#us us/or/portland",
    ]);
    for (const update of planned.updates) {
      expect(delta(update)).toEqual({ rsvps: 1, yes: 1, no: 0, guests: 2 });
      expect(update?.ExpressionAttributeValues?.[":city"]).toEqual({ S: "portland" });
    }
  });

  it("moves each counter's fence to the batch's last offset, on the condition that it is the one read", () => {
    // Portland's RSVP is at offset 10, the batch ends at 11 (Salem's).
    const batch = batchOf([record(1, DAY1), record(2, DAY1, "yes", "us/or/salem")], 10);
    const unread = plan(batch);
    for (const update of unread.updates) {
      expect(fenceMove(update)).toEqual({
        fence: "at#meetup-0",
        condition: "attribute_not_exists(#fence)",
        read: null,
        set: "11",
      });
    }
    // Another partition's fence on a counter is not this partition's.
    const fences: Fences = new Map([
      [keyId(dayCounter("2026-01-01")), new Map([[TP, 3]])],
      [
        keyId(allTimeCounter()),
        new Map([
          [TP, 9],
          ["meetup-1", 50],
        ]),
      ],
      [keyId(dayCounter("2026-01-01", salem)), new Map([["meetup-1", 50]])],
    ]);
    const read = plan(batch, [], fences);
    const moves = (key: ItemKey) => fenceMove(counterWrite(read.updates, key));
    expect(moves(dayCounter("2026-01-01"))).toEqual({
      fence: "at#meetup-0",
      condition: "#fence = :readFence",
      read: "3",
      set: "11",
    });
    expect(moves(allTimeCounter())).toMatchObject({ condition: "#fence = :readFence", read: "9" });
    expect(moves(dayCounter("2026-01-01", salem))).toMatchObject({
      condition: "attribute_not_exists(#fence)",
      read: null,
    });
    expect(fenceAttribute(TP)).toBe("at#meetup-0");
  });

  it("moves a yes→no change from yes to no on its day (rsvps and the day unchanged), guests with it", () => {
    const before = stored(fold(record(1, DAY1, "yes", undefined, 2)) as RsvpState, 3);
    const planned = plan(batchOf([record(1, DAY2, "no")], 20), [before]);
    expect(planned.kinds).toEqual(["changed"]);
    expect(planned.puts[0]?.ConditionExpression).toBe("#version = :read");
    expect(planned.puts[0]?.ExpressionAttributeValues).toEqual({ ":read": { N: "3" } });
    expect(planned.puts[0]?.Item?.version).toEqual({ N: "4" });
    expect(planned.pending).toEqual([
      [
        {
          tp: TP,
          offset: 20,
          before: form("2026-01-01", "yes", 2),
          after: form("2026-01-01", "no", 0),
        },
      ],
    ]);
    expect(delta(counterWrite(planned.updates, dayCounter("2026-01-01")))).toEqual({
      rsvps: 0,
      yes: -1,
      no: 1,
      guests: -2,
    });
    expect(delta(counterWrite(planned.updates, allTimeCounter()))).toEqual({
      rsvps: 0,
      yes: -1,
      no: 1,
      guests: -2,
    });
    expect(planned.updates).toHaveLength(2);
  });

  it("a state stored without a stamp meeting a stamped copy keeps the stamp, counting nothing", () => {
    const held = stored(fold(record(1, DAY1, "yes")) as RsvpState);
    expect(held.state.arrival).toBe(null);
    const stamped = { ...record(1, DAY1, "yes"), arrival: 1_700_000_000_000_000 };
    const batch = decodeBatch([
      { topic: "meetup", partition: 0, offset: 5, value: JSON.stringify(stamped) },
    ]);
    const planned = plan(batch, [held]);
    expect(planned.changes).toHaveLength(1);
    expect(planned.changes[0]?.refresh).toBe(true);
    expect(planned.kinds).toEqual(["refreshed"]);
    // No new pending change, and so no counter write.
    expect(planned.pending).toEqual([[]]);
    expect(planned.puts[0]?.Item?.pending).toBeUndefined();
    expect(planned.updates).toEqual([]);
    expect(planned.puts[0]?.Item?.arrival).toEqual({ N: "1700000000000000" });
    // A stamp of null is no stamp (another producer may send one).
    const nullStamp = decodeBatch([
      {
        topic: "meetup",
        partition: 0,
        offset: 1,
        value: JSON.stringify({ ...record(2, DAY1), arrival: null }),
      },
    ]);
    expect(nullStamp.poison).toEqual([]);
    expect(nullStamp.rsvps.get(2)?.arrival).toBe(null);
  });

  it("changes nothing for an exact duplicate or an older version of the same day", () => {
    const held = stored(fold(record(1, DAY1 + 5_000, "no")) as RsvpState);
    const duplicate = plan(batchOf([record(1, DAY1 + 5_000, "no")]), [held]);
    expect(duplicate).toMatchObject({ changes: [], puts: [], updates: [], markedDays: [] });
    const older = plan(batchOf([record(1, DAY1, "yes")]), [held]);
    expect(older.changes).toHaveLength(1);
    // The earlier mtime is kept in the state, but nothing counted moves: the day is the same.
    expect(older.pending).toEqual([[]]);
    expect(older.updates).toEqual([]);
    expect(older.puts[0]?.Item?.firstMtime).toEqual({ N: String(DAY1) });
    expect(older.puts[0]?.Item?.response).toEqual({ S: "no" });
  });

  it("moves the count to the earlier day when an older version from the day before arrives late", () => {
    const held = stored(fold(record(1, DAY2, "yes")) as RsvpState);
    const planned = plan(batchOf([record(1, DAY1, "no")], 30), [held]);
    expect(planned.pending).toEqual([
      [{ tp: TP, offset: 30, before: form("2026-01-02"), after: form("2026-01-01") }],
    ]);
    expect(delta(counterWrite(planned.updates, dayCounter("2026-01-02")))).toEqual({
      rsvps: -1,
      yes: -1,
      no: 0,
      guests: 0,
    });
    expect(delta(counterWrite(planned.updates, dayCounter("2026-01-01")))).toEqual({
      rsvps: 1,
      yes: 1,
      no: 0,
      guests: 0,
    });
    // All time: the same RSVP, the same answer, a zero delta; still written, for its fence:
    // the change leaves the state only once every counter it moves has taken it.
    const allTime = counterWrite(planned.updates, allTimeCounter());
    expect(delta(allTime)).toEqual({ rsvps: 0, yes: 0, no: 0, guests: 0 });
    expect(fenceMove(allTime).set).toBe("30");
    expect(planned.updates).toHaveLength(3);
    // Only the day the count moves to is marked.
    expect(planned.markedDays).toEqual(["us#2026-01-01"]);
  });

  it("writes an unchanged state again, counting nothing, when it would expire before the topic could redeliver", () => {
    const nowSec = options.nowMs / 1000;
    const state = fold(record(1, DAY1, "yes")) as RsvpState;
    const fresh = {
      state,
      version: 4,
      expiresAt: nowSec + options.keepAliveSeconds + 60,
      pending: [],
    };
    expect(
      stateChanges(batchOf([record(1, DAY1, "yes")]).rsvps, new Map([[1, fresh]]), options),
    ).toEqual([]);
    const ageing = { ...fresh, expiresAt: nowSec + options.keepAliveSeconds - 60 };
    const batch = batchOf([record(1, DAY1, "yes")]);
    expect(stateChanges(batch.rsvps, new Map([[1, ageing]]), options)).toEqual([
      { before: ageing, after: state, refresh: true },
    ]);
    const planned = plan(batch, [ageing]);
    expect(planned.kinds).toEqual(["refreshed"]);
    expect(planned.pending).toEqual([[]]);
    expect(planned.updates).toEqual([]);
    expect(planned.puts[0]?.ConditionExpression).toBe("#version = :read");
    expect(Number(planned.puts[0]?.Item?.expiresAt?.N)).toBe(nowSec + options.stateTtlSeconds);
  });

  it("keeps a state the horizon past its event, so a late change to a distant event finds it", () => {
    const nowSec = options.nowMs / 1000;
    const inJune = {
      ...(fold(record(1, DAY1)) as RsvpState),
      eventTime: options.nowMs + 150 * 86_400_000,
    };
    expect(expiresAtOf(inJune, options.nowMs, options.stateTtlSeconds)).toBe(
      nowSec + 150 * 86_400 + options.stateTtlSeconds,
    );
    const past = { ...inJune, eventTime: options.nowMs - 86_400_000 };
    expect(expiresAtOf(past, options.nowMs, options.stateTtlSeconds)).toBe(
      nowSec + options.stateTtlSeconds,
    );
    // A hostile event time cannot pin a state for ever.
    const farOff = { ...inJune, eventTime: Date.UTC(2099, 0, 1) };
    expect(expiresAtOf(farOff, options.nowMs, options.stateTtlSeconds)).toBe(
      nowSec + 400 * 86_400 + options.stateTtlSeconds,
    );
  });

  it("takes any expiry off a counter it writes: counters never expire", () => {
    const planned = plan(batchOf([record(1, DAY1)]));
    expect(planned.updates).toHaveLength(2);
    for (const update of planned.updates) {
      expect(update?.UpdateExpression).toMatch(/ REMOVE #expiresAt$/);
      expect(update?.ExpressionAttributeNames?.["#expiresAt"]).toBe("expiresAt");
    }
  });

  it("marks each day a country has counts on once per writer, before its counts", () => {
    const batch = batchOf([record(1, DAY1), record(2, DAY2), record(3, DAY2 + 60_000)]);
    expect(plan(batch).markedDays.sort()).toEqual(["us#2026-01-01", "us#2026-01-02"]);
    // A writer that has marked a day does not mark it again.
    const later = plan(batch, [], new Map(), {
      ...options,
      markedDays: new Set(["us#2026-01-01"]),
    });
    expect(later.markedDays).toEqual(["us#2026-01-02"]);
    expect(dayMarkerWrite("us#2026-01-02", "counts")).toEqual({
      Put: {
        TableName: "counts",
        Item: {
          pk: { S: "DAYS#us" },
          sk: { S: "2026-01-02" },
          day: { S: "2026-01-02" },
          country: { S: "us" },
        },
      },
    });
  });

  it("sums a city's deltas over the batch: one counter write per (day, city) and per city", () => {
    const batch = batchOf(Array.from({ length: 30 }, (_, i) => record(100 + i, DAY1 + i)));
    const planned = plan(batch);
    expect(planned.puts).toHaveLength(30);
    expect(planned.kinds).toEqual(Array(30).fill("new"));
    expect(planned.updates.map((u) => delta(u).rsvps)).toEqual([30, 30]);
  });

  describe("fences: a change is in a counter exactly when the counter's fence has reached it", () => {
    const yes5: PendingChange = { tp: TP, offset: 5, before: null, after: form("2026-01-01") };
    const held = stored(fold(record(1, DAY1)) as RsvpState, 2, [yes5]);
    const day = dayCounter("2026-01-01");

    it("a counter that has taken a pending change is not written for it again", () => {
      // A crash left the change pending after the day counter took it, before the all-time one.
      const planned = plan(
        batchOf([record(1, DAY1)], 9),
        [held],
        fencesOf([day, 5], [allTimeCounter(), 4]),
      );
      expect(planned.puts).toEqual([]);
      expect(planned.updates.map(keyOf)).toEqual(["ALL#us us/or/portland"]);
      expect(delta(planned.updates[0])).toEqual({ rsvps: 1, yes: 1, no: 0, guests: 0 });
      expect(fenceMove(planned.updates[0])).toMatchObject({ read: "4", set: "9" });
      // Both counters have it: the batch comes again and writes nothing.
      const again = plan(
        batchOf([record(1, DAY1)], 9),
        [held],
        fencesOf([day, 5], [allTimeCounter(), 9]),
      );
      expect(again).toMatchObject({ puts: [], updates: [], markedDays: [] });
    });

    it("a state's next write drops the changes every counter has taken and keeps the others", () => {
      const no9: PendingChange = {
        tp: TP,
        offset: 9,
        before: form("2026-01-01"),
        after: form("2026-01-01", "no"),
      };
      const batch = batchOf([record(1, DAY1 + 1, "no")], 9);
      const settled = plan(batch, [held], fencesOf([day, 5], [allTimeCounter(), 6]));
      expect(settled.pending).toEqual([[no9]]);
      for (const update of settled.updates)
        expect(delta(update)).toEqual({ rsvps: 0, yes: -1, no: 1, guests: 0 });
      // The all-time counter has not taken the first change: it stays, and is added there.
      const halfTaken = plan(batch, [held], fencesOf([day, 5]));
      expect(halfTaken.pending).toEqual([[yes5, no9]]);
      expect(delta(counterWrite(halfTaken.updates, day))).toEqual({
        rsvps: 0,
        yes: -1,
        no: 1,
        guests: 0,
      });
      expect(delta(counterWrite(halfTaken.updates, allTimeCounter()))).toEqual({
        rsvps: 1,
        yes: 0,
        no: 1,
        guests: 0,
      });
      // So does a change with its counters' fences read from another partition only.
      const elsewhere = new Map([
        [keyId(day), new Map([["meetup-1", 99]])],
        [keyId(allTimeCounter()), new Map([["meetup-1", 99]])],
      ]);
      expect(plan(batch, [held], elsewhere).pending).toEqual([[yes5, no9]]);
    });

    it("applies only this partition's pending changes, up to the batch's last offset", () => {
      // Another partition's change (the RSVP came from another city's partition) and one this
      // partition made at offset 50, in a run of a longer batch that crashed before the counters.
      const other: PendingChange = {
        tp: "meetup-1",
        offset: 3,
        before: null,
        after: form("2026-01-01", "yes", 0, "us/or/salem"),
      };
      const moved: PendingChange = {
        tp: TP,
        offset: 50,
        before: form("2026-01-01", "yes", 0, "us/or/salem"),
        after: form("2026-01-01"),
      };
      const state = stored(fold(record(1, DAY1)) as RsvpState, 3, [other, moved]);
      // The batch comes again cut shorter: offsets 12 (this RSVP, unchanged) to 20 (another).
      const shorter = plan(
        batchOf(
          [
            record(1, DAY1),
            ...Array.from({ length: 8 }, (_, i) => record(40 + i, DAY1, "yes", "us/or/eugene")),
          ],
          12,
        ),
        [state],
      );
      expect(shorter.kinds).toEqual(Array(8).fill("new"));
      expect(shorter.updates.map(keyOf).sort()).toEqual([
        "ALL#us us/or/eugene",
        "DAY#2026-01-01#us us/or/eugene",
      ]);
      // Cut to reach it: offset 50 applies, meetup-1's change does not.
      const longer = plan(batchOf([record(1, DAY1)], 55), [state]);
      expect(longer.updates.map((u) => [keyOf(u), delta(u).rsvps]).sort()).toEqual([
        ["ALL#us us/or/portland", 1],
        ["ALL#us us/or/salem", -1],
        ["DAY#2026-01-01#us us/or/portland", 1],
        ["DAY#2026-01-01#us us/or/salem", -1],
      ]);
    });

    it(`keeps at most ${MAX_PENDING_CHANGES} pending changes: more means counter writes keep failing`, () => {
      const pendingYes = (offset: number): PendingChange => ({
        tp: TP,
        offset,
        before: null,
        after: form("2026-01-01"),
      });
      const withPending = (n: number) =>
        stored(
          fold(record(1, DAY1)) as RsvpState,
          2,
          Array.from({ length: n }, (_, i) => pendingYes(i + 1)),
        );
      const change = batchOf([record(1, DAY1 + 1, "no")], 20);
      const full = plan(change, [withPending(MAX_PENDING_CHANGES - 1)]);
      expect(full.pending[0]).toHaveLength(MAX_PENDING_CHANGES);
      expect(() => plan(change, [withPending(MAX_PENDING_CHANGES)])).toThrow(
        PendingChangesOverflowError,
      );
      // Counters taking them still go on: a state that is not written again is not refused.
      expect(
        plan(batchOf([record(1, DAY1)], 20), [withPending(MAX_PENDING_CHANGES)]).updates,
      ).toHaveLength(2);
    });
  });

  const arbitraryRecord = (rsvps: number, cities: number) =>
    fc
      .record({
        rsvpId: fc.integer({ min: 1, max: rsvps }),
        minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
        yes: fc.boolean(),
        guests: fc.integer({ min: 0, max: 3 }),
        city: fc.integer({ min: 0, max: cities - 1 }),
      })
      .map(({ rsvpId, minute, yes, guests, city }) =>
        record(rsvpId, DAY1 + minute * 60_000, yes ? "yes" : "no", `us/or/c${city}`, guests),
      );

  it("writes each state and each counter of a batch once, and the deltas equal the rule's counts", () => {
    // One city per RSVP, as an RSVP keeps its group.
    const oneCityEach = arbitraryRecord(300, 1).map((r) => ({
      ...r,
      city: { ...r.city, key: `us/or/c${r.rsvpId % 61}`, name: `c${r.rsvpId % 61}` },
    }));
    fc.assert(
      fc.property(fc.array(oneCityEach, { minLength: 1, maxLength: 500 }), (records) => {
        const batch = batchOf(records, 0);
        const planned = plan(batch);
        const states = planned.puts.map((put) => put?.Item?.pk?.S);
        expect(new Set(states).size).toBe(batch.rsvps.size);
        expect(states).toHaveLength(batch.rsvps.size);
        const counters = planned.updates.map(keyOf);
        expect(new Set(counters).size).toBe(counters.length);
        expect(new Map(planned.updates.map((update) => [keyOf(update), delta(update)]))).toEqual(
          ruleCounts(records),
        );
      }),
      { numRuns: 150 },
    );
  });

  it("counts by the rule across batch cuts, crashes between any two writes, and batches run again", async () => {
    // RSVPs that move between cities too. After a crash the batch comes again from the same
    // offset, cut to the next size: a crash can leave changes pending in states, or taken by
    // some counters and not others, and only the fences keep them from being lost or doubled.
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryRecord(20, 4), { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.option(fc.nat({ max: 40 })), { minLength: 1, maxLength: 6 }),
        async (records, sizes, crashes) => {
          const table = conditionalTable();
          const messages = messagesOfRecords(records);
          let position = 0;
          let crashedAt = -1;
          for (let run = 0; position < messages.length; run++) {
            const batch = messages.slice(position, position + (sizes[run % sizes.length] ?? 1));
            const crashAfter = crashedAt === position ? null : crashes[run % crashes.length];
            const store =
              crashAfter === null || crashAfter === undefined
                ? table.store
                : crashing(table.store, crashAfter);
            try {
              await processBatch(batch, deps(store));
              position += batch.length;
            } catch (error) {
              if (!(error instanceof SimulatedCrash)) throw error;
              crashedAt = position;
            }
          }
          expect(table.counts()).toEqual(ruleCounts(records));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("counts by the rule when batches whose writes kept failing are set aside, and their records produced again", async () => {
    // A run fails after any number of writes (a hot counter throttled, DynamoDB refusing for
    // longer than the retries) and the event source sets the batch aside: the partition's next
    // batches come, and later the set-aside records are produced again at new offsets, as the
    // on-failure destination's replay does. The failure lets the failed run's record of its
    // RSVPs through (a write to another key). Without that record, a set-aside batch's states
    // keep changes no counter took and the next batches move the fences past them.
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryRecord(20, 4), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.option(fc.nat({ max: 30 }), { freq: 2 }), { minLength: 1, maxLength: 6 }),
        async (records, sizes, failures) => {
          const table = conditionalTable();
          let offset = 0;
          const setAside: ReturnType<typeof record>[] = [];
          const count = async (batchRecords: ReturnType<typeof record>[], store: CountsStore) => {
            const batch = messagesOfRecords(batchRecords, offset);
            offset += batch.length;
            try {
              await processBatch(batch, deps(store));
            } catch (error) {
              if (!isTransientAwsError(error) && !(error instanceof PendingChangesOverflowError))
                throw error;
              setAside.push(...batchRecords);
            }
          };
          for (let run = 0, position = 0; position < records.length; run++) {
            const size = sizes[run % sizes.length] ?? 1;
            const failAfter = failures[run % failures.length];
            await count(
              records.slice(position, position + size),
              failAfter === null || failAfter === undefined
                ? table.store
                : failingWrites(table.store, failAfter),
            );
            position += size;
          }
          // Produced again until none is set aside: nothing fails now, but a state that kept
          // the most pending changes refuses one more until a run has settled them.
          for (let round = 0; setAside.length > 0; round++) {
            expect(round).toBeLessThan(4);
            await count(setAside.splice(0), table.store);
          }
          expect(table.counts()).toEqual(ruleCounts(records));
          // Each record was forgotten by the run that took its changes.
          expect(
            [...table.model.images.keys()].filter((id) => id.startsWith("UNSETTLED#")),
          ).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
  it("counts by the rule across partitions: RSVPs moving between them, batches cut, crashed, set aside and run side by side; ticks settle every partition", async () => {
    // The ingest keys a record by its city, so an RSVP that changes city has versions on two
    // partitions, counted by two runs that may be at work at once. Each partition's batches
    // are cut anyhow, ticks among their records; a run dies after any write (its batch comes
    // again, cut anew) or fails past its retries (set aside, its RSVPs recorded); two
    // partitions run side by side, in two invocations or in one (whose failure fails both).
    // One partition is never in two invocations at once. Then one tick per partition, with no
    // RSVP, must settle every set-aside batch, and the set-aside records produced again leave
    // the table equal to the rule. The ticks must count as nothing: no dead letter.
    type Rsvp = ReturnType<typeof record>;
    type Entry = Rsvp | "tick";
    const fault = fc.option(
      fc.record({ kind: fc.constantFrom("crash", "setAside"), after: fc.nat({ max: 8 }) }),
      { freq: 2 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryRecord(12, 5), { minLength: 1, maxLength: 70 }),
        fc.integer({ min: 2, max: 4 }),
        fc.array(
          fc.record({
            partition: fc.nat(),
            beside: fc.option(fc.nat(), { freq: 2 }),
            together: fc.boolean(),
            tick: fc.boolean(),
            size: fc.integer({ min: 1, max: 10 }),
            fault,
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (records, partitionCount, steps) => {
          const table = conditionalTable();
          const partitionOf = (rsvp: Rsvp) => Number(rsvp.city.key.slice(7)) % partitionCount;
          const logs: Entry[][] = Array.from({ length: partitionCount }, () => []);
          const positions = logs.map(() => 0);
          for (const rsvp of records) logs[partitionOf(rsvp)]?.push(rsvp);
          const setAside: Rsvp[] = [];
          const messagesOf = (partition: number, from: number, to: number): KafkaMessage[] =>
            (logs[partition] ?? []).slice(from, to).map((entry, i) => ({
              topic: "meetup",
              partition,
              offset: from + i,
              ...(entry === "tick"
                ? { value: tickValue(DAY1), tick: true as const }
                : { value: JSON.stringify(entry) }),
            }));
          /**
           * One invocation with the next `size` records of each of `partitions`, as the event
           * source would make it: a failure fails all of them.
           */
          const run = async (
            partitions: number[],
            size: number,
            failure: { kind: "crash" | "setAside"; after: number } | null,
          ) => {
            const ranges = partitions.map((partition) => {
              const from = positions[partition] ?? 0;
              return { partition, from, to: Math.min(from + size, logs[partition]?.length ?? 0) };
            });
            const messages = ranges.flatMap(({ partition, from, to }) =>
              messagesOf(partition, from, to),
            );
            if (messages.length === 0) return;
            const store =
              failure === null
                ? table.store
                : failure.kind === "crash"
                  ? crashing(table.store, failure.after)
                  : failingWrites(table.store, failure.after);
            try {
              const result = await processBatch(messages, deps(store));
              expect(result.deadLettered + result.deadLetteredBefore).toBe(0);
            } catch (error) {
              // A dead run's batch comes again (from the same offset, cut anew); a lost race
              // that kept on fails the invocation, which the event source retries the same way.
              if (error instanceof SimulatedCrash || error instanceof ConcurrentUpdateError) return;
              if (!isTransientAwsError(error) && !(error instanceof PendingChangesOverflowError))
                throw error;
              for (const { partition, from, to } of ranges)
                for (const entry of logs[partition]?.slice(from, to) ?? [])
                  if (entry !== "tick") setAside.push(entry);
            }
            for (const { partition, to } of ranges) positions[partition] = to;
          };
          for (const step of steps) {
            const partition = step.partition % partitionCount;
            const beside = step.beside === null ? null : step.beside % partitionCount;
            if (step.tick) logs[partition]?.push("tick");
            if (beside === null || beside === partition)
              await run([partition], step.size, step.fault);
            else if (step.together) await run([partition, beside], step.size, step.fault);
            else
              await Promise.all([
                run([partition], step.size, step.fault),
                run([beside], step.size, null),
              ]);
          }
          const drain = async () => {
            for (let partition = 0; partition < partitionCount; partition++) {
              for (let guard = 0; (positions[partition] ?? 0) < (logs[partition]?.length ?? 0); ) {
                expect(guard++).toBeLessThan(200);
                await run([partition], 10, null);
              }
            }
          };
          await drain();
          // A tick to each partition, and nothing else: every set-aside batch is settled.
          for (const log of logs) log.push("tick");
          await drain();
          expect(unsettledItems(table)).toEqual([]);
          // Produced again (each to its city's partition) until none is set aside.
          for (let round = 0; setAside.length > 0; round++) {
            expect(round).toBeLessThan(4);
            for (const rsvp of setAside.splice(0)) logs[partitionOf(rsvp)]?.push(rsvp);
            await drain();
          }
          expect(table.counts()).toEqual(ruleCounts(records));
          expect(unsettledItems(table)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("items stay small whatever the traffic", () => {
  const longest = {
    key: `us/${"ÿ".repeat(48)}/${"ÿ".repeat(48)}`,
    country: "us",
    state: "ÿ".repeat(MAX_DISPLAY_NAME_BYTES / 2),
    name: "ÿ".repeat(MAX_DISPLAY_NAME_BYTES / 2),
  };
  const maxNumber = Number.MAX_SAFE_INTEGER;
  const largestState: RsvpState = {
    rsvpId: maxNumber,
    mtime: maxNumber,
    firstMtime: maxNumber,
    response: "yes",
    guests: maxNumber,
    city: longest,
    eventTime: maxNumber,
    arrival: maxNumber,
  };

  it("a state item at its largest (longest capped city, largest numbers) is under 1 KB", () => {
    expect(Buffer.byteLength(longest.key, "utf8")).toBe(MAX_CITY_KEY_BYTES);
    const item = stateItem(largestState, maxNumber, maxNumber);
    expect(item.pending).toBeUndefined();
    expect(itemSizeBytes(item)).toBeLessThanOrEqual(1024);
    expect(storedStateOf(item)?.state.city).toEqual(longest);
    expect(storedStateOf(item)?.state.arrival).toBe(maxNumber);
    expect(storedStateOf(item)?.pending).toEqual([]);
  });

  it(`with ${MAX_PENDING_CHANGES} pending changes at their largest, a state item is under 4 KB`, () => {
    // Capped city keys on both sides of every change, the largest numbers, a partition tagged
    // with its cluster's hash. (Each key character JSON escapes, `"` or `\`, takes two bytes
    // in `pending`: keys of those alone would be larger than this.)
    const form: CountedForm = {
      country: "us",
      cityKey: longest.key,
      day: "2026-01-01",
      response: "yes",
      guests: maxNumber,
    };
    const pending: PendingChange[] = Array.from({ length: MAX_PENDING_CHANGES }, () => ({
      tp: "meetup-63@abcdef01",
      offset: maxNumber,
      before: form,
      after: form,
    }));
    const item = stateItem(largestState, maxNumber, maxNumber, pending);
    expect(itemSizeBytes(item)).toBeGreaterThan(2048);
    expect(itemSizeBytes(item)).toBeLessThanOrEqual(4096);
    expect(storedStateOf(item)?.pending).toEqual(pending);
  });

  it("a state without an arrival stamp is stored without one and read back as null", () => {
    const state = fold(record(7, DAY1)) as RsvpState;
    expect(state.arrival).toBe(null);
    const item = stateItem(state, 1, 2);
    expect(item.arrival).toBeUndefined();
    expect(storedStateOf(item)?.state).toEqual(state);
  });

  it("keys dead letters by their topic-partition, so no one key takes every partition's", () => {
    expect(itemKeys.deadLetter("meetup-3@1207")).toEqual({
      pk: "DEADLETTER#meetup-3",
      sk: "meetup-3@1207",
    });
    expect(itemKeys.deadLetter("rsvps-v2-0@5").pk).toBe("DEADLETTER#rsvps-v2-0");
  });

  /** A counter at its largest, with the attributes a counter write gives it and these fences. */
  const largestCounter = (tps: string[]) => {
    const key = itemKeys.day("2026-01-01", longest);
    return {
      pk: { S: key.pk },
      sk: { S: key.sk },
      rsvps: { N: String(maxNumber) },
      yes: { N: String(maxNumber) },
      no: { N: String(maxNumber) },
      guests: { N: String(maxNumber) },
      country: { S: longest.country },
      state: { S: longest.state },
      city: { S: longest.name },
      updatedAt: { N: String(maxNumber) },
      ...Object.fromEntries(tps.map((tp) => [fenceAttribute(tp), { N: String(maxNumber) }])),
    };
  };

  it("a counter item at its largest, with one partition's fence, is under 1 KB: 1 WRU a write", async () => {
    // Its attributes are the ones a counter write gives it.
    const model = new CostModelStore();
    const change = stateItem({ ...largestState, rsvpId: 1, guests: 1 }, 1, 1, [
      {
        tp: "meetup-0@abcdef01",
        offset: 3,
        before: null,
        after: {
          country: "us",
          cityKey: longest.key,
          day: "2026-01-01",
          response: "yes",
          guests: 1,
        },
      },
    ]);
    const stored = storedStateOf(change);
    if (stored === null) throw new Error("unreadable state");
    const counters = planCounterWrites(
      [stored],
      { tp: "meetup-0@abcdef01", lastOffset: 3, fences: new Map() },
      options,
    );
    await model.applyWrites(counters.writes);
    const written = model.images.get(keyId(itemKeys.day("2026-01-01", longest)));
    const counter = largestCounter(["meetup-0@abcdef01"]);
    expect(Object.keys(written ?? {}).sort()).toEqual(Object.keys(counter).sort());
    expect(itemSizeBytes(counter)).toBeLessThanOrEqual(1024);
  });

  it("a counter item at its largest, with fences of 64 partitions, is under 4 KB", () => {
    // RSVPs move between cities, so partitions other than its city's fence a counter too, and
    // a replaced cluster's partitions are new ones. Fences of 64 partitions at their largest
    // (about 2.5 KB) make each write of that counter cost 3 WRU instead of 1.
    const counter = largestCounter(Array.from({ length: 64 }, (_, i) => `meetup-${i}@abcdef01`));
    const size = itemSizeBytes(counter);
    expect(size).toBeLessThanOrEqual(4096);
    expect(writeUnits(size, size, false)).toBe(3);
  });
});

describe("pending changes and partition ids", () => {
  const yes: CountedForm = {
    country: "us",
    cityKey: "us/or/portland",
    day: "2026-01-01",
    response: "yes",
    guests: 2,
  };
  const no: CountedForm = { ...yes, cityKey: "us/wa/seattle", response: "no", guests: 0 };

  it("stores pending changes as text and reads them back as they were", () => {
    const pending: PendingChange[] = [
      { tp: "meetup-0", offset: 0, before: null, after: yes },
      { tp: "meetup-11@0a1b2c3d", offset: 9_007_199_254_740_991, before: yes, after: no },
    ];
    expect(pendingOfText(pendingText(pending))).toEqual(pending);
    expect(pendingOfText(pendingText([]))).toEqual([]);
    const state = fold(record(1, DAY1)) as RsvpState;
    expect(storedStateOf(stateItem(state, 2, 3, pending))?.pending).toEqual(pending);
    // None pending: no attribute, read back as none.
    expect(stateItem(state, 2, 3, []).pending).toBeUndefined();
  });

  it("refuses a state item whose pending changes are not what it writes", () => {
    const item = stateItem(fold(record(1, DAY1)) as RsvpState, 2, 3);
    const form = '["us","us/or/portland","2026-01-01","y",2]';
    expect(storedStateOf({ ...item, pending: { S: `[["meetup-0",4,null,${form}]]` } })).not.toBe(
      null,
    );
    for (const pending of [
      { S: "not json" },
      { S: "{}" },
      { S: `[["meetup-0",4,null]]` },
      { S: `[[0,4,null,${form}]]` },
      { S: `[["meetup-0",4.5,null,${form}]]` },
      { S: `[["meetup-0",4,["us"],${form}]]` },
      { S: `[["meetup-0",4,null,["us","us/or/portland","2026-1-1","y",2]]]` },
      { S: `[["meetup-0",4,null,["us","us/or/portland","2026-01-01","maybe",2]]]` },
      { N: "1" },
    ]) {
      expect(storedStateOf({ ...item, pending }), JSON.stringify(pending)).toBe(null);
    }
  });

  it("names a partition by topic and number, tagged with a hash of its cluster's ARN", () => {
    const arn = (cluster: string) =>
      `arn:aws:kafka:us-east-1:123456789012:cluster/${cluster}/00000000-0000-0000-0000-000000000000-1`;
    expect(partitionIdOf({ topic: "meetup", partition: 3 })).toBe("meetup-3");
    const tagged = partitionIdOf({ topic: "meetup", partition: 3, eventSourceArn: arn("a") });
    const hash = createHash("sha256").update(arn("a")).digest("hex").slice(0, 8);
    expect(tagged).toBe(`meetup-3@${hash}`);
    expect(tagged).toMatch(/^meetup-3@[0-9a-f]{8}$/);
    // A cluster replaced under the same topic name starts its offsets again: other fences.
    expect(partitionIdOf({ topic: "meetup", partition: 3, eventSourceArn: arn("b") })).not.toBe(
      tagged,
    );

    // A topic name of the 249 characters Kafka allows keeps 23 of them and a hash: the id is in
    // every fence's attribute name and every pending change. Two such topics stay apart.
    const long = (last: string) => `${"t".repeat(248)}${last}`;
    const longId = partitionIdOf({ topic: long("a"), partition: 63, eventSourceArn: arn("a") });
    expect(longId).toMatch(/^t{23}~[0-9a-f]{8}-63@[0-9a-f]{8}$/);
    expect(partitionIdOf({ topic: long("b"), partition: 63, eventSourceArn: arn("a") })).not.toBe(
      longId,
    );
    expect(partitionIdOf({ topic: "t".repeat(32), partition: 0 })).toBe(`${"t".repeat(32)}-0`);
  });

  it("fences the counters of an event's records by their tagged partition", async () => {
    const table = conditionalTable();
    await processBatch(messagesOf(fixture), {
      ...options,
      store: table.store,
      now: () => options.nowMs,
    });
    const fences = new Set(
      [...table.model.images.values()].flatMap((item) =>
        Object.keys(item).filter((name) => name.startsWith("at#")),
      ),
    );
    const tag = createHash("sha256")
      .update(fixture.eventSourceArn ?? "")
      .digest("hex")
      .slice(0, 8);
    expect([...fences].sort()).toEqual(
      [...new Set(messagesOf(fixture).map((m) => `at#${m.topic}-${m.partition}@${tag}`))].sort(),
    );
  });
});

describe("processBatch when DynamoDB pushes back", () => {
  const conditionFailed = () =>
    new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
    });
  const throttled = () =>
    new ProvisionedThroughputExceededException({
      message: "The level of configured provisioned throughput for the table was exceeded.",
      $metadata: {},
    });
  const statePut = (rsvpId: number): WriteAction => ({
    Put: {
      TableName: "counts",
      Item: { pk: { S: `RSVP#${rsvpId}` }, sk: { S: "STATE" } },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
  const counterUpdate = (pk: string): WriteAction => ({
    Update: {
      TableName: "counts",
      Key: { pk: { S: pk }, sk: { S: "us/or/portland" } },
      UpdateExpression: "ADD #rsvps :rsvps SET #fence = :fence",
      ConditionExpression: "attribute_not_exists(#fence)",
      ExpressionAttributeNames: { "#rsvps": "rsvps", "#fence": "at#meetup-0" },
      ExpressionAttributeValues: { ":rsvps": { N: "1" }, ":fence": { N: "7" } },
    },
  });
  /** A client whose writes to these keys fail with these errors; the others succeed. */
  function failingWrites(errors: Record<string, () => Error>) {
    const dynamodb = mockClient(DynamoDBClient);
    const answer = async (pk: string | undefined) => {
      const error = errors[pk ?? ""];
      if (error) throw error();
      return {};
    };
    dynamodb.on(PutItemCommand).callsFake((input) => answer(input.Item?.pk?.S));
    dynamodb.on(UpdateItemCommand).callsFake((input) => answer(input.Key?.pk?.S));
    return dynamodb;
  }

  it("maps a failed condition on a PutItem or an UpdateItem to a conflict of that write, and rethrows anything else", async () => {
    const dynamodb = failingWrites({
      "RSVP#1": conditionFailed,
      "DAY#2026-01-01#us": conditionFailed,
    });
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const actions = [
        statePut(1),
        statePut(2),
        counterUpdate("ALL#us"),
        counterUpdate("DAY#2026-01-01#us"),
      ];
      expect(await store.applyWrites(actions)).toEqual([
        "conflict",
        "applied",
        "applied",
        "conflict",
      ]);
      // Each write as planned, one call each.
      expect(dynamodb.commandCalls(PutItemCommand).map((call) => call.args[0].input)).toEqual([
        actions[0]?.Put,
        actions[1]?.Put,
      ]);
      expect(dynamodb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input)).toEqual([
        actions[2]?.Update,
        actions[3]?.Update,
      ]);
      expect(await store.applyWrites([])).toEqual([]);
      dynamodb
        .on(PutItemCommand)
        .rejects(Object.assign(new Error("bad item"), { name: "ValidationException" }));
      await expect(store.applyWrites([statePut(3)])).rejects.toThrow("bad item");
    } finally {
      dynamodb.restore();
    }
  });

  it("rethrows a write throttled beside a conflict as transient, not as a conflict", async () => {
    // A hot counter throttled while another invocation moved a fence: the conflict path's quick
    // retries would run out under a throttle that lasts, and end the batch as failed; the
    // transient path waits and runs it again.
    const throttle = throttled();
    const dynamodb = failingWrites({ "RSVP#1": conditionFailed, "ALL#us": () => throttle });
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const reported: [number, string][] = [];
      const error = await store
        .applyWrites([statePut(1), statePut(2), counterUpdate("ALL#us")], (index, outcome) =>
          reported.push([index, outcome]),
        )
        .catch((caught: unknown) => caught);
      expect(error).toBe(throttle);
      expect(isTransientAwsError(error)).toBe(true);
      // What ended before the throw is reported, so the batch's tally keeps what it applied.
      expect(reported).toEqual([
        [0, "conflict"],
        [1, "applied"],
      ]);
      // Beside another error too, the throttle is the one thrown.
      const invalid = Object.assign(new Error("bad item"), { name: "ValidationException" });
      dynamodb.on(PutItemCommand).callsFake(async () => {
        throw invalid;
      });
      const both = await store
        .applyWrites([statePut(1), counterUpdate("ALL#us")])
        .catch((caught: unknown) => caught);
      expect(both).toBe(throttle);
      expect(await store.applyWrites([statePut(1)]).catch((caught: unknown) => caught)).toBe(
        invalid,
      );
    } finally {
      dynamodb.restore();
    }
  });

  it("takes keys DynamoDB keeps holding back for a throttle, so the handler runs the batch again", async () => {
    // DynamoDB throttles BatchGetItem and BatchWriteItem by answering with UnprocessedKeys or
    // UnprocessedItems, not with an error (API Reference, BatchGetItem, BatchWriteItem). After
    // the store's own rounds, what is still held back must read as transient: the handler's
    // retryTransient then runs the batch again instead of failing it to the event source,
    // whose retries would set its records aside uncounted.
    vi.useFakeTimers();
    try {
      const dynamodb = mockClient(DynamoDBClient);
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const key = itemKeys.rsvp(7);
      const heldBack = { Keys: [{ pk: { S: key.pk }, sk: { S: key.sk } }] };
      dynamodb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { counts: heldBack } });
      const read = store.readStates([7]).catch((error: unknown) => error);
      await vi.runAllTimersAsync();
      const readError = await read;
      expect(readError).toBeInstanceOf(Error);
      expect((readError as Error).message).toBe("DynamoDB kept keys unprocessed");
      expect(isTransientAwsError(readError)).toBe(true);
      expect(dynamodb.commandCalls(BatchGetItemCommand)).toHaveLength(8);

      // The dead letter is not kept yet (the read answers), and its write is held back.
      dynamodb.on(BatchGetItemCommand).resolves({ Responses: { counts: [] } });
      dynamodb
        .on(BatchWriteItemCommand)
        .callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
      const letter = {
        source: "meetup-0@1",
        reason: "not_json" as const,
        detail: "d",
        raw: "x",
      };
      const write = store.putDeadLetters([letter], 0, 60).catch((error: unknown) => error);
      await vi.runAllTimersAsync();
      expect(isTransientAwsError(await write)).toBe(true);
      expect(dynamodb.commandCalls(BatchWriteItemCommand)).toHaveLength(8);

      // Through the handler's retry: the throttle passes and the second run reads the state.
      dynamodb.reset();
      dynamodb
        .on(BatchGetItemCommand)
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolvesOnce({ UnprocessedKeys: { counts: heldBack } })
        .resolves({ Responses: { counts: [] } });
      const retried = retryTransient(() => store.readStates([7]), { budgetMs: 30_000 });
      await vi.runAllTimersAsync();
      expect((await retried).size).toBe(0);
      expect(dynamodb.commandCalls(BatchGetItemCommand)).toHaveLength(9);
      dynamodb.restore();
    } finally {
      vi.useRealTimers();
    }
  });

  it("reads each counter's fences once, strongly consistent, by its key", async () => {
    const dynamodb = mockClient(DynamoDBClient);
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const day = itemKeys.day("2026-01-01", { key: "us/or/portland", country: "us" });
      const allTime = itemKeys.allTime({ key: "us/or/portland", country: "us" });
      dynamodb.on(BatchGetItemCommand).resolves({
        Responses: {
          counts: [
            {
              pk: { S: day.pk },
              sk: { S: day.sk },
              rsvps: { N: "3" },
              [fenceAttribute("meetup-0")]: { N: "41" },
              [fenceAttribute("meetup-2@0a1b2c3d")]: { N: "7" },
            },
          ],
        },
      });
      const fences = await store.readFences([day, allTime, day]);
      expect(fences).toEqual(
        new Map([
          [
            keyId(day),
            new Map([
              ["meetup-0", 41],
              ["meetup-2@0a1b2c3d", 7],
            ]),
          ],
        ]),
      );
      const [read] = dynamodb.commandCalls(BatchGetItemCommand);
      expect(read?.args[0].input.RequestItems?.counts?.ConsistentRead).toBe(true);
      expect(read?.args[0].input.RequestItems?.counts?.Keys).toHaveLength(2);
      // A fence that is not a number is a fault to look at, not a counter without one.
      dynamodb.on(BatchGetItemCommand).resolves({
        Responses: {
          counts: [{ pk: { S: day.pk }, sk: { S: day.sk }, "at#meetup-0": { S: "x" } }],
        },
      });
      await expect(store.readFences([day])).rejects.toThrow("unreadable fence at#meetup-0");
    } finally {
      dynamodb.restore();
    }
  });

  const batchOfOne = (id: number, mtime = DAY1) => messagesOfRecords([record(id, mtime)], id);
  /** The day markers a store's applyWrites calls wrote, in order. */
  function recordingMarkers(store: CountsStore) {
    const written: string[] = [];
    const recording: CountsStore = {
      ...store,
      applyWrites: async (actions, onOutcome) => {
        const outcomes = await store.applyWrites(actions, onOutcome);
        actions.forEach((action, i) => {
          const pk = action.Put?.Item?.pk?.S;
          if (pk?.startsWith("DAYS#") && outcomes[i] === "applied")
            written.push(action.Put?.Item?.sk?.S ?? "");
        });
        return outcomes;
      },
    };
    return { written, recording };
  }

  it("remembers a day's marker only once it is written", async () => {
    // The first attempt's state write conflicts: no marker is written, none remembered.
    const { written, recording } = recordingMarkers(conditionalTable((call) => call === 1).store);
    const markedDays = new Set<string>();
    await processBatch(batchOfOne(1), deps(recording, markedDays));
    await processBatch(batchOfOne(2), deps(recording, markedDays));
    expect(written).toEqual(["2026-01-01"]);
    expect([...markedDays]).toEqual(["us#2026-01-01"]);

    // A marker write that fails (throttled past the SDK's retries) leaves its day unmarked, and
    // the batch's next run writes it.
    const table = conditionalTable();
    let throttleMarkers = true;
    const markers = recordingMarkers({
      ...table.store,
      applyWrites: async (actions, onOutcome) => {
        if (throttleMarkers && actions.some((a) => a.Put?.Item?.pk?.S?.startsWith("DAYS#"))) {
          throttleMarkers = false;
          throw throttled();
        }
        return table.store.applyWrites(actions, onOutcome);
      },
    });
    const days = new Set<string>();
    await expect(processBatch(batchOfOne(3), deps(markers.recording, days))).rejects.toThrow(
      ProvisionedThroughputExceededException,
    );
    expect([...days]).toEqual([]);
    await processBatch(batchOfOne(3), deps(markers.recording, days));
    expect(markers.written).toEqual(["2026-01-01"]);
    expect([...days]).toEqual(["us#2026-01-01"]);
    expect(table.counts()).toEqual(ruleCounts([record(3, DAY1)]));
  });

  for (const rivalBefore of ["states", "counters"] as const) {
    it(`re-reads after another writer of the partition wrote first (before our ${rivalBefore}): nothing applied twice`, async () => {
      // 150 RSVPs in 60 cities. Another invocation holding the partition (a rebalance) counts
      // the batch's first 30 messages just before this one writes its states, or its counters.
      const records = Array.from({ length: 150 }, (_, i) =>
        record(500 + i, DAY1 + i, "yes", `us/or/c${i % 60}`),
      );
      const messages = messagesOfRecords(records);
      const table = conditionalTable();
      let rival: Awaited<ReturnType<typeof processBatch>> | undefined;
      const racing: CountsStore = {
        ...table.store,
        applyWrites: async (actions, onOutcome) => {
          const phase = actions.some((a) => a.Update) ? "counters" : "states";
          if (rival === undefined && phase === rivalBefore && actions.length > 1)
            rival = await processBatch(messages.slice(0, 30), deps(table.store));
          return table.store.applyWrites(actions, onOutcome);
        },
      };
      const result = await processBatch(messages, deps(racing));
      expect(table.counts()).toEqual(ruleCounts(records));
      expect(result.conflicts).toBe(1);
      // The re-read found every state: none is written twice.
      expect(table.reads.at(-1)).toHaveLength(150);
      if (rivalBefore === "states") {
        expect(rival).toMatchObject({ counted: 30, stateWrites: 30, counterWrites: 60 });
        expect(result).toMatchObject({ counted: 120, unchanged: 30, stateWrites: 120 });
      } else {
        expect(rival).toMatchObject({
          counted: 0,
          unchanged: 30,
          stateWrites: 0,
          counterWrites: 60,
        });
        expect(result).toMatchObject({ counted: 150, unchanged: 0, stateWrites: 150 });
      }
      // Every counter once with what the other writer had not taken.
      expect(result.counterWrites).toBe(120);
    });
  }

  it("reports what every run of a batch applied when a transient error made the handler run it again", async () => {
    // 150 RSVPs in 60 cities; DynamoDB throttles the counter writes of the first run.
    const records = Array.from({ length: 150 }, (_, i) =>
      record(500 + i, DAY1 + i, "yes", `us/or/c${i % 60}`),
    );
    const event = mskEventOf(records);
    const table = conditionalTable();
    let throttledCalls = 0;
    const throttledOnce: CountsStore = {
      ...table.store,
      applyWrites: async (actions, onOutcome) => {
        if (throttledCalls === 0 && actions.some((a) => a.Update)) {
          throttledCalls += 1;
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ThrottlingException",
          });
        }
        return table.store.applyWrites(actions, onOutcome);
      },
    };
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "counts");
    try {
      const { countCityRsvps } = await import("../../functions/city-counts/handler.js");
      const result = await countCityRsvps(event, deps(throttledOnce, new Set()));
      expect(throttledCalls).toBe(1);
      // The second run read the first run's states back: counted by the first run, not
      // "unchanged" by the second, and their writes not made twice.
      expect(table.reads).toEqual([[], records.map((r) => r.rsvpId)]);
      expect(result).toMatchObject({
        records: 150,
        counted: 150,
        changed: 0,
        unchanged: 0,
        stateWrites: 150,
        counterWrites: 120,
        conflicts: 0,
      });
      expect(table.counts()).toEqual(ruleCounts(records));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("counts a poison record dead-lettered once, when its batch comes again", async () => {
    const { store } = conditionalTable();
    const first = await processBatch(messagesOf(fixture), deps(store));
    expect(first).toMatchObject({ deadLettered: 1, deadLetteredBefore: 0 });
    const again = await processBatch(messagesOf(fixture), deps(store));
    expect(again).toMatchObject({ deadLettered: 0, deadLetteredBefore: 1 });
  });

  it("tells the dead letters the table did not hold yet, from one read of their keys", async () => {
    const dynamodb = mockClient(DynamoDBClient);
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const letter = (source: string) => ({
        source,
        reason: "not_json" as const,
        detail: "d",
        raw: "x",
      });
      const kept = itemKeys.deadLetter("meetup-0@1");
      dynamodb
        .on(BatchGetItemCommand)
        .resolves({ Responses: { counts: [{ pk: { S: kept.pk } }] } });
      dynamodb.on(BatchWriteItemCommand).resolves({});
      const fresh = await store.putDeadLetters([letter("meetup-0@1"), letter("meetup-0@2")], 0, 60);
      expect(fresh).toBe(1);
      const [read] = dynamodb.commandCalls(BatchGetItemCommand);
      expect(read?.args[0].input.RequestItems?.counts).toMatchObject({
        ConsistentRead: true,
        ProjectionExpression: "#pk",
        ExpressionAttributeNames: { "#pk": "pk" },
      });
      expect(read?.args[0].input.RequestItems?.counts?.Keys).toHaveLength(2);
      // Both are written (again): a kept letter is overwritten with its own content.
      const [write] = dynamodb.commandCalls(BatchWriteItemCommand);
      expect(write?.args[0].input.RequestItems?.counts).toHaveLength(2);

      dynamodb.resetHistory();
      expect(await store.putDeadLetters([], 0, 60)).toBe(0);
      expect(dynamodb.calls()).toEqual([]);
    } finally {
      dynamodb.restore();
    }
  });

  it("gives up after the last attempt when the states keep changing", async () => {
    const table = conditionalTable(() => true);
    await expect(
      processBatch(messagesOf(fixture), { ...deps(table.store), maxAttempts: 4 }),
    ).rejects.toThrow(ConcurrentUpdateError);
    // Each partition's four attempts (side by side), then the batch fails.
    const partitions = new Set(messagesOf(fixture).map(partitionIdOf));
    expect(partitions.size).toBeGreaterThan(1);
    expect(table.reads).toHaveLength(4 * partitions.size);
  });

  it("refuses to guess over a state item it cannot read", async () => {
    expect(
      storedStateOf({ pk: { S: "RSVP#5" }, sk: { S: "STATE" }, response: { S: "maybe" } }),
    ).toBe(null);
    const dynamodb = mockClient(DynamoDBClient);
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const item = stateItem(fold(record(5, DAY1)) as RsvpState, 1, 2);
      dynamodb
        .on(BatchGetItemCommand)
        .resolves({ Responses: { counts: [{ ...item, pending: { S: "[[" } }] } });
      await expect(store.readStates([5])).rejects.toThrow("unreadable RSVP state item RSVP#5");
      dynamodb.on(BatchGetItemCommand).resolves({ Responses: { counts: [item] } });
      expect((await store.readStates([5])).get(5)?.state).toEqual(fold(record(5, DAY1)));
    } finally {
      dynamodb.restore();
    }
  });
  it("reads a partition's failed-batch records page by page, strongly consistent, and forgets each by its key", async () => {
    const dynamodb = mockClient(DynamoDBClient);
    try {
      const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
      const [first, second] = unsettledWrites(
        "meetup-0",
        { firstOffset: 10, lastOffset: 700 },
        Array.from({ length: MAX_UNSETTLED_IDS_PER_ITEM + 1 }, (_, i) => i + 1),
        options,
      ).map((write) => write.Put?.Item ?? {});
      dynamodb
        .on(QueryCommand)
        .resolvesOnce({
          Items: [first ?? {}],
          LastEvaluatedKey: { pk: { S: "x" }, sk: { S: "y" } },
        })
        .resolvesOnce({ Items: [second ?? {}] });
      const batches = await store.readUnsettled("meetup-0");
      expect(
        batches.map(({ sk, lastOffset, rsvpIds }) => [sk, lastOffset, rsvpIds.length]),
      ).toEqual([
        ["10-700#0", 700, MAX_UNSETTLED_IDS_PER_ITEM],
        ["10-700#1", 700, 1],
      ]);
      const queries = dynamodb.commandCalls(QueryCommand).map((call) => call.args[0].input);
      expect(
        queries.map((query) => [query.ConsistentRead, query.ExpressionAttributeValues]),
      ).toEqual([
        [true, { ":pk": { S: "UNSETTLED#meetup-0" } }],
        [true, { ":pk": { S: "UNSETTLED#meetup-0" } }],
      ]);
      expect(queries[1]?.ExclusiveStartKey).toEqual({ pk: { S: "x" }, sk: { S: "y" } });
      dynamodb.on(DeleteItemCommand).resolves({});
      await store.forgetUnsettled("meetup-0", batches);
      expect(
        dynamodb.commandCalls(DeleteItemCommand).map((call) => call.args[0].input.Key),
      ).toEqual([
        { pk: { S: "UNSETTLED#meetup-0" }, sk: { S: "10-700#0" } },
        { pk: { S: "UNSETTLED#meetup-0" }, sk: { S: "10-700#1" } },
      ]);
      // Only this code writes them: one it cannot read fails the batch instead of being skipped.
      dynamodb.on(QueryCommand).resolves({ Items: [{ ...first, lastOffset: { S: "700" } }] });
      await expect(store.readUnsettled("meetup-0")).rejects.toThrow(
        "unreadable unsettled-batch item",
      );
    } finally {
      dynamodb.restore();
    }
  });
});

describe("partial runs, hostile keys and moved RSVPs", () => {
  it("a message read again at an offset the counters' fence has passed is dead-lettered, and counted when produced again", async () => {
    // Offset 0 was set aside before anything was written (DynamoDB unreachable through its
    // retries); offset 1, another RSVP of the city, was counted and moved the fence to 1.
    const table = conditionalTable();
    const first = record(1, DAY1);
    const second = record(2, DAY1 + 1);
    const [skipped, counted] = messagesOfRecords([first, second], 0);
    await processBatch([counted as KafkaMessage], deps(table.store));
    // An event source re-created at TRIM_HORIZON (or a second consumer group) reads offset 0
    // at last. Its change is behind the fence: written, the counter would take it as one it
    // has, and the state would then swallow any later copy. It is a dead letter instead.
    const reread = await processBatch([skipped, counted] as KafkaMessage[], deps(table.store));
    expect(reread).toMatchObject({ counted: 0, stateWrites: 0, counterWrites: 0, deadLettered: 1 });
    expect(table.counts()).toEqual(ruleCounts([second]));
    // A state read between another writer's state and counter writes looks the same: read
    // again once, it is not behind (reads: the batch's, then the look again).
    expect(table.reads.slice(-2)).toEqual([[2], [2]]);
    // Produced again, at a new offset, it counts.
    const [produced] = messagesOfRecords([first], 2);
    await processBatch([produced as KafkaMessage], deps(table.store));
    expect(table.counts()).toEqual(ruleCounts([first, second]));
  });

  it("a change that only looks behind the fence, another writer having counted it between two reads, is no dead letter", async () => {
    const table = conditionalTable();
    const messages = messagesOfRecords([record(1, DAY1), record(2, DAY1 + 1)], 0);
    let rivalRan = false;
    const racing: CountsStore = {
      ...table.store,
      // Another event source counts the same batch after this run read the states and before
      // it reads the fences.
      readFences: async (keys) => {
        if (!rivalRan) {
          rivalRan = true;
          await processBatch(messages, deps(table.store));
        }
        return table.store.readFences(keys);
      },
    };
    const result = await processBatch(messages, deps(racing));
    expect(result).toMatchObject({ counted: 0, stateWrites: 0, deadLettered: 0 });
    expect(table.counts()).toEqual(ruleCounts([record(1, DAY1), record(2, DAY1 + 1)]));
  });

  it("a run that fails after some of its writes applied still reports them as applied", async () => {
    const table = conditionalTable();
    let failed = false;
    const store: CountsStore = {
      ...table.store,
      // As dynamoCountsStore does: the writes go side by side, one is throttled, and the error
      // is thrown once they have all ended.
      applyWrites: async (actions, onOutcome) => {
        if (failed || actions.length < 3) return table.store.applyWrites(actions, onOutcome);
        failed = true;
        await table.store.applyWrites(actions.slice(0, -1), onOutcome);
        throw throttled();
      },
    };
    const records = [record(1, DAY1), record(2, DAY1), record(3, DAY1)];
    const applied = nothingApplied();
    const result = await retryTransient(
      () => processBatch(messagesOfRecords(records), deps(store), applied),
      { budgetMs: 30_000, pause: async () => {} },
    );
    expect(result).toMatchObject({ counted: 3, unchanged: 0, stateWrites: 3 });
  });

  it("a batch set aside after its states were written is counted by the partition's next batch, which forgets its record", async () => {
    const table = conditionalTable();
    const counted = [record(1, DAY1), record(2, DAY1, "no")];
    const failed = [record(3, DAY1), record(4, DAY1, "yes", "us/wa/seattle", 2)];
    const next = [record(5, DAY1)];
    await processBatch(messagesOfRecords(counted, 0), deps(table.store));
    // Both states written, then every counter write refused past the retries: set aside.
    await expect(
      processBatch(messagesOfRecords(failed, 2), deps(failingWrites(table.store, 2))),
    ).rejects.toThrow("throttled");
    expect(table.counts()).toEqual(ruleCounts(counted));
    const records = () =>
      [...table.model.images.values()].filter((item) => item.pk?.S?.startsWith("UNSETTLED#"));
    expect(records().map((item) => [item.pk?.S, item.sk?.S, item.rsvpIds?.NS])).toEqual([
      ["UNSETTLED#meetup-0", "2-3#0", ["3", "4"]],
    ]);
    // The next batch names neither RSVP nor Seattle, and takes both changes.
    await processBatch(messagesOfRecords(next, 4), deps(table.store));
    expect(table.counts()).toEqual(ruleCounts([...counted, ...failed, ...next]));
    expect(records()).toEqual([]);
    // Produced again (the on-failure destination replayed), they change nothing.
    await processBatch(messagesOfRecords(failed, 5), deps(table.store));
    expect(table.counts()).toEqual(ruleCounts([...counted, ...failed, ...next]));
  });

  it("a tick alone, weeks later, counts a set-aside batch: the partition needs no RSVP to settle", async () => {
    const table = conditionalTable();
    const failed = [record(3, DAY1), record(4, DAY1, "no", "us/wa/seattle")];
    await expect(
      processBatch(messagesOfRecords(failed, 0), deps(failingWrites(table.store, 2))),
    ).rejects.toThrow("throttled");
    expect(table.counts()).toEqual(new Map());
    expect(unsettledItems(table)).toHaveLength(1);
    const tick: KafkaMessage = {
      topic: "meetup",
      partition: 0,
      offset: 2,
      value: tickValue(DAY1 + 20 * 86_400_000),
      tick: true,
    };
    const result = await processBatch([tick], deps(table.store));
    expect(result).toMatchObject({ records: 1, ticks: 1, counted: 0, deadLettered: 0 });
    expect(table.counts()).toEqual(ruleCounts(failed));
    expect(unsettledItems(table)).toEqual([]);
  });

  it("a record an outage refused is written by the container's next run before it moves a fence", async () => {
    const table = conditionalTable();
    const failed = [record(3, DAY1), record(4, DAY1)];
    // The outage begins after the two state writes and refuses the record too.
    let left = 2;
    const outage: CountsStore = {
      ...table.store,
      applyWrites: async (actions, onOutcome) => {
        left -= actions.length;
        if (left < 0) throw throttled();
        return table.store.applyWrites(actions, onOutcome);
      },
    };
    const unwrittenRecords = new Map<string, WriteAction>();
    await expect(
      processBatch(messagesOfRecords(failed, 0), { ...deps(outage), unwrittenRecords }),
    ).rejects.toThrow("throttled");
    expect(unwrittenRecords.size).toBe(1);
    expect([...table.model.images.keys()].some((id) => id.startsWith("UNSETTLED#"))).toBe(false);
    // Still down for the container's next batch: it fails before writing anything, and keeps
    // the record.
    left = 0;
    await expect(
      processBatch(messagesOfRecords([record(5, DAY1)], 2), { ...deps(outage), unwrittenRecords }),
    ).rejects.toThrow("throttled");
    expect(unwrittenRecords.size).toBe(1);
    // Back: the set-aside batches' next comes to the same container.
    await nextRunWritesKeptRecords(table, unwrittenRecords, failed, 3);
  });

  it("a run that reaches its deadline stops where it stands, records its batch and fails as out of time; the next batch counts it", async () => {
    const table = conditionalTable();
    const late = [record(3, DAY1), record(4, DAY1, "no")];
    // The states are written, then DynamoDB answers nothing more, and the deadline passes.
    const deadline = new AbortController();
    const hanging = hangingAfter(table.store, 2, {
      spared: isRecordWrite,
      onHang: () => deadline.abort(),
    });
    const error = await processBatch(messagesOfRecords(late, 0), {
      ...deps(hanging),
      signal: deadline.signal,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(OutOfTimeError);
    expect((error as Error).cause).toMatchObject({ name: "AbortError" });
    // Not a passing failure: the handler's own retries must not run it again past the deadline.
    expect(isTransientAwsError(error)).toBe(false);
    expect(unsettledItems(table).map((item) => [item.sk?.S, item.rsvpIds?.NS])).toEqual([
      ["0-1#0", ["3", "4"]],
    ]);
    expect(table.counts()).toEqual(new Map());
    // Set aside; the partition's next batch takes the changes the states hold.
    await processBatch(messagesOfRecords([record(5, DAY1)], 2), deps(table.store));
    expect(table.counts()).toEqual(ruleCounts([...late, record(5, DAY1)]));
    expect(unsettledItems(table)).toEqual([]);
  });

  it("a record write that gets no answer either ends on its own bound, and the record stays with the container", async () => {
    const table = conditionalTable();
    const late = [record(3, DAY1), record(4, DAY1)];
    const deadline = new AbortController();
    const hanging = hangingAfter(table.store, 2, { onHang: () => deadline.abort() });
    const unwrittenRecords = new Map<string, WriteAction>();
    await expect(
      processBatch(messagesOfRecords(late, 0), {
        ...deps(hanging),
        signal: deadline.signal,
        unwrittenRecords,
        // Without a bound of its own the record's write waits for good: the test's timeout.
        recordWriteTimeoutMs: 20,
      }),
    ).rejects.toBeInstanceOf(OutOfTimeError);
    expect(unwrittenRecords.size).toBe(1);
    expect(unsettledItems(table)).toEqual([]);
    await nextRunWritesKeptRecords(table, unwrittenRecords, late, 2);
  });

  it("the handler stops a run before the function's timeout, once, and lets a run with time left finish", async () => {
    const event = mskEventOf([record(3, DAY1), record(4, DAY1)]);
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "counts");
    try {
      const { countCityRsvps, DEADLINE_RESERVE_MS } = await import(
        "../../functions/city-counts/handler.js"
      );
      const table = conditionalTable();
      // No answer from the first write on: only the deadline, 20 ms away, ends the run.
      const hanging = hangingAfter(table.store, 0, { spared: isRecordWrite });
      let runs = 0;
      const counting: CountsStore = {
        ...hanging,
        // Once per partition and run: how often the batch ran.
        readUnsettled: (tp, callOptions) => {
          runs += 1;
          return hanging.readUnsettled(tp, callOptions);
        },
      };
      const nearlyOut = { getRemainingTimeInMillis: () => DEADLINE_RESERVE_MS + 20 };
      // By name: the handler was imported afresh, with its own copy of the error's class.
      await expect(countCityRsvps(event, deps(counting), nearlyOut)).rejects.toMatchObject({
        name: "OutOfTimeError",
      });
      // One run, not retried as a passing failure, and the batch is recorded.
      expect(runs).toBe(1);
      expect(unsettledItems(table)).toHaveLength(1);
      const plenty = { getRemainingTimeInMillis: () => 60_000 };
      expect(await countCityRsvps(event, deps(table.store), plenty)).toMatchObject({ counted: 2 });
      expect(table.counts()).toEqual(ruleCounts([record(3, DAY1), record(4, DAY1)]));
      // A function whose whole timeout is shorter than the reserve still counts: it keeps half
      // its time back, not all of it. (Its first read takes 20 ms; a spent signal refuses the
      // calls after it.)
      const short = conditionalTable();
      const refusingSpent = hangingAfter(short.store, Number.POSITIVE_INFINITY);
      const slowFirstRead: CountsStore = {
        ...refusingSpent,
        readStates: async (rsvpIds, callOptions) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return refusingSpent.readStates(rsvpIds, callOptions);
        },
      };
      const threeSeconds = { getRemainingTimeInMillis: () => 3_000 };
      expect(await countCityRsvps(event, deps(slowFirstRead), threeSeconds)).toMatchObject({
        counted: 2,
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("a failed batch's record outlives the states it names, however often the batch fails", async () => {
    const table = conditionalTable();
    // An event 400 days ahead keeps its RSVP's state that much longer than the horizon.
    const farOff = { ...record(3, DAY1), event: { time: options.nowMs + 400 * 86_400_000 } };
    const batch = messagesOfRecords([farOff, record(4, DAY1)], 0);
    await expect(processBatch(batch, deps(failingWrites(table.store, 2)))).rejects.toThrow(
      "throttled",
    );
    const stateExpiry = Number(table.model.images.get(keyId(itemKeys.rsvp(3)))?.expiresAt?.N);
    expect(stateExpiry).toBeGreaterThan(options.nowMs / 1000 + options.stateTtlSeconds);
    const recordExpiries = () => unsettledItems(table).map((item) => Number(item.expiresAt?.N));
    expect(recordExpiries()).toHaveLength(1);
    expect(recordExpiries()[0]).toBeGreaterThanOrEqual(stateExpiry);
    // The same batch again: its states are read back, nothing is written, and it fails again,
    // writing its record (the same key) once more. The record must not expire sooner now.
    await expect(processBatch(batch, deps(failingWrites(table.store, 0)))).rejects.toThrow(
      "throttled",
    );
    expect(recordExpiries()).toHaveLength(1);
    expect(recordExpiries()[0]).toBeGreaterThanOrEqual(stateExpiry);
  });

  it("past the deadline a batch fails as out of time whichever partition failed first, each recorded", async () => {
    const table = conditionalTable();
    const [onZero] = messagesOfRecords([record(1, DAY1)], 0);
    const [onOne] = messagesOfRecords([record(2, DAY1, "yes", "us/wa/seattle")], 0);
    const batch = [onZero, { ...onOne, partition: 1 }] as KafkaMessage[];
    const deadline = new AbortController();
    const store: CountsStore = {
      ...table.store,
      applyWrites: async (actions, onOutcome, callOptions) => {
        const pk = actions[0]?.Put?.Item?.pk?.S;
        // Partition 0 is throttled first and records its batch; the deadline passes then,
        // while partition 1's write gets no answer.
        if (pk === "RSVP#1") throw throttled();
        if (pk === "UNSETTLED#meetup-0") {
          const outcomes = await table.store.applyWrites(actions, onOutcome);
          deadline.abort();
          return outcomes;
        }
        if (pk === "RSVP#2")
          return new Promise((_, reject) =>
            callOptions?.abortSignal?.addEventListener("abort", () => reject(abortError())),
          );
        return table.store.applyWrites(actions, onOutcome);
      },
    };
    const error = await processBatch(batch, { ...deps(store), signal: deadline.signal }).catch(
      (failure: unknown) => failure,
    );
    // A throttle would send the handler round again with the time spent.
    expect(error).toBeInstanceOf(OutOfTimeError);
    expect(unsettledItems(table).map((item) => item.pk?.S)).toEqual([
      "UNSETTLED#meetup-0",
      "UNSETTLED#meetup-1",
    ]);
  });

  it("counts a batch's partitions side by side; one failing leaves its record, the other its counts", async () => {
    const table = conditionalTable();
    const [onZero] = messagesOfRecords([record(1, DAY1)], 0);
    const [onOne] = messagesOfRecords([record(2, DAY1, "yes", "us/wa/seattle")], 0);
    const batch = [onZero, { ...onOne, partition: 1 }] as KafkaMessage[];
    // Each partition's first read waits for the other's: one after another, neither would end.
    let waiting = 0;
    let release: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store: CountsStore = {
      ...table.store,
      readStates: async (rsvpIds) => {
        waiting += 1;
        if (waiting === 2) release();
        await bothRead;
        return table.store.readStates(rsvpIds);
      },
      // Partition 1's counter writes are refused past the retries.
      applyWrites: async (actions, onOutcome) => {
        const fenceOf = (action: WriteAction) =>
          action.Update?.ExpressionAttributeNames?.["#fence"];
        if (actions.some((action) => fenceOf(action) === fenceAttribute("meetup-1")))
          throw throttled();
        return table.store.applyWrites(actions, onOutcome);
      },
    };
    await expect(processBatch(batch, deps(store))).rejects.toThrow("throttled");
    expect(table.counts()).toEqual(ruleCounts([record(1, DAY1)]));
    expect((await table.store.readUnsettled("meetup-1")).map((b) => b.rsvpIds)).toEqual([[2]]);
    expect(await table.store.readUnsettled("meetup-0")).toEqual([]);
  });

  it("a late run of an older batch leaves a newer failed batch's record to the runs that reach it", async () => {
    const table = conditionalTable();
    const older = messagesOfRecords([record(1, DAY1), record(2, DAY1)], 0);
    const failed = [record(3, DAY1), record(4, DAY1)];
    await processBatch(older, deps(table.store));
    await expect(
      processBatch(messagesOfRecords(failed, 2), deps(failingWrites(table.store, 2))),
    ).rejects.toThrow("throttled");
    // The older batch once more (an invocation Lambda retried, finishing late): its offsets end
    // before the failed batch's, so it may neither take those changes nor forget them.
    await processBatch(older, deps(table.store));
    await processBatch(messagesOfRecords([record(5, DAY1)], 4), deps(table.store));
    expect(table.counts()).toEqual(
      ruleCounts([record(1, DAY1), record(2, DAY1), ...failed, record(5, DAY1)]),
    );
  });

  it("a failed batch's record is cut into items under 4 KB however many RSVPs it names", async () => {
    const table = conditionalTable();
    const ids = Array.from({ length: 600 }, (_, i) => Number.MAX_SAFE_INTEGER - i);
    const failed = ids.map((rsvpId) => record(rsvpId, DAY1));
    await expect(
      processBatch(messagesOfRecords(failed, 0), deps(failingWrites(table.store, 0))),
    ).rejects.toThrow("throttled");
    const items = [...table.model.images.values()].filter((item) =>
      item.pk?.S?.startsWith("UNSETTLED#"),
    );
    expect(items).toHaveLength(Math.ceil(600 / MAX_UNSETTLED_IDS_PER_ITEM));
    for (const item of items) expect(itemSizeBytes(item)).toBeLessThan(4096);
    expect(new Set(items.flatMap((item) => item.rsvpIds?.NS ?? []).map(Number))).toEqual(
      new Set(ids),
    );
    // No state was written, so the next batch has nothing of theirs to take, and forgets them.
    await processBatch(messagesOfRecords([record(1, DAY1)], 600), deps(table.store));
    expect(table.counts()).toEqual(ruleCounts([record(1, DAY1)]));
    expect([...table.model.images.keys()].some((id) => id.startsWith("UNSETTLED#"))).toBe(false);
  });

  it("a state item with its most pending changes stays under 4 KB, even with city keys JSON escapes", () => {
    // The ingest folds a city named 96 double quotes to a key part of 96 double quotes
    // (foldForKey, capKeyPart), and the record schema accepts it; `pending` is JSON, which
    // escapes each to two bytes.
    const quotes = `us/${'"'.repeat(96)}/${'"'.repeat(96)}`;
    expect(Buffer.byteLength(quotes, "utf8")).toBe(MAX_CITY_KEY_BYTES);
    const max = Number.MAX_SAFE_INTEGER;
    const form: CountedForm = {
      country: "us",
      cityKey: quotes,
      day: "2026-01-01",
      response: "yes",
      guests: max,
    };
    const state: RsvpState = {
      rsvpId: max,
      mtime: max,
      firstMtime: max,
      response: "yes",
      guests: max,
      city: { key: quotes, country: "us", state: "ÿ".repeat(100), name: "ÿ".repeat(100) },
      eventTime: max,
      arrival: max,
    };
    const pending = Array.from({ length: MAX_PENDING_CHANGES }, () => ({
      tp: "meetup-63@abcdef01",
      offset: max,
      before: form,
      after: form,
    }));
    expect(itemSizeBytes(stateItem(state, max, max, pending))).toBeLessThanOrEqual(4096);
  });

  it("an RSVP moving city, counted on an earlier day, needs no second attempt", async () => {
    // Its new city's counter of its earlier day is named by neither its stored state nor its
    // batch state, only by the merged one: unless that is among the fences read, its write is
    // conditioned on no fence, fails where the counter has one, and the batch runs again.
    const table = conditionalTable();
    await processBatch(
      messagesOfRecords([record(1, DAY1), record(2, DAY1, "yes", "us/or/salem")], 0),
      deps(table.store),
    );
    const moved = await processBatch(
      messagesOfRecords([record(1, DAY2 + 86_400_000, "yes", "us/or/salem")], 2),
      deps(table.store),
    );
    expect(moved.conflicts).toBe(0);
  });
});
