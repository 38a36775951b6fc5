import { readFileSync } from "node:fs";
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  decodeBatch,
  expiresAtOf,
  itemKeys,
  MAX_TRANSACTION_ACTIONS,
  type PlanOptions,
  planTransactions,
  type StoredState,
  stateChanges,
  stateItem,
  storedStateOf,
} from "../../functions/city-counts/counting.js";
import { type CountsStore, dynamoCountsStore } from "../../functions/city-counts/counts-store.js";
import { ConcurrentUpdateError, processBatch } from "../../functions/city-counts/process-batch.js";
import { countDay, foldMessage, type RsvpState } from "../../functions/city-counts/rsvp-state.js";
import { isTransientAwsError, retryTransient } from "../../functions/shared/aws-errors.js";
import { messagesOf, mskEventSchema } from "../../functions/shared/msk-event.js";
import { MAX_CITY_KEY_BYTES } from "../../functions/shared/rsvp/record-schema.js";
import { MAX_DISPLAY_NAME_BYTES } from "../../functions/shared/rsvp/text.js";
import { itemSizeBytes } from "../../local/dynamodb/write-units.js";
import { countsByRule, type RuleRecord } from "../support/counting-rule.js";

const fixture = mskEventSchema.parse(
  JSON.parse(readFileSync(new URL("../../events/msk-city-counts.json", import.meta.url), "utf8")),
);
const options = {
  tableName: "counts",
  nowMs: Date.UTC(2026, 10, 27),
  stateTtlSeconds: 14 * 86_400,
  keepAliveSeconds: 170 * 3_600,
} satisfies PlanOptions;
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

  it("turns a poison record into a dead letter with its source and reason", () => {
    expect(decoded.poison).toEqual([
      {
        source: "meetup-0@103",
        reason: "not_json",
        detail: "the value is not JSON",
        raw: "{not json",
      },
    ]);
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
    const value = `{"x":"${"é".repeat(40_000)}`;
    const { poison } = decodeBatch([{ topic: "meetup", partition: 0, offset: 1, value }]);
    expect(Buffer.byteLength(poison[0]?.raw ?? "", "utf8")).toBeLessThanOrEqual(2048);
    expect(poison[0]?.raw).not.toContain("\uFFFD");
  });
});

describe("stateChanges and planTransactions", () => {
  /** A state as stored a moment ago: it expires a full horizon from now. */
  const stored = (state: RsvpState, version = 1): StoredState => ({
    state,
    version,
    expiresAt: options.nowMs / 1000 + options.stateTtlSeconds,
  });
  const batchOf = (...records: ReturnType<typeof record>[]) =>
    new Map(records.map((r) => [r.rsvpId, fold(r) as RsvpState]));
  const updates = (plan: ReturnType<typeof planTransactions>) =>
    plan.flatMap((t) => t.actions.flatMap((a) => (a.Update ? [a.Update] : [])));
  /** State writes (RSVP#...); day markers are {@link markers}. */
  const puts = (plan: ReturnType<typeof planTransactions>) =>
    plan.flatMap((t) =>
      t.actions.flatMap((a) => (a.Put?.Item?.pk?.S?.startsWith("RSVP#") ? [a.Put] : [])),
    );
  const markers = (plan: ReturnType<typeof planTransactions>) =>
    plan.flatMap((t) =>
      t.actions.flatMap((a) =>
        a.Put?.Item?.pk?.S?.startsWith("DAYS#") ? [`${a.Put.Item.pk.S}/${a.Put.Item.sk?.S}`] : [],
      ),
    );
  const delta = (update: ReturnType<typeof updates>[number] | undefined) => ({
    rsvps: Number(update?.ExpressionAttributeValues?.[":rsvps"]?.N),
    yes: Number(update?.ExpressionAttributeValues?.[":yes"]?.N),
    no: Number(update?.ExpressionAttributeValues?.[":no"]?.N),
    guests: Number(update?.ExpressionAttributeValues?.[":guests"]?.N),
  });

  it("writes a new RSVP's state only if it does not exist, with its day and all-time counters", () => {
    const plan = planTransactions(
      stateChanges(batchOf(record(1, DAY1, "yes", undefined, 2)), new Map(), options),
      options,
    );
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ newRsvps: 1, changedRsvps: 0 });
    expect(puts(plan)[0]?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(puts(plan)[0]?.Item?.expiresAt).toEqual({
      N: String(options.nowMs / 1000 + options.stateTtlSeconds),
    });
    const keys = updates(plan).map((u) => `${u.Key?.pk?.S} ${u.Key?.sk?.S}`);
    expect(keys.sort()).toEqual(["ALL#us us/or/portland", "DAY#2026-01-01#us us/or/portland"]);
    for (const update of updates(plan))
      expect(delta(update)).toEqual({ rsvps: 1, yes: 1, no: 0, guests: 2 });
  });

  it("moves a yes→no change from yes to no on its day (rsvps and the day unchanged), guests with it", () => {
    const before = stored(fold(record(1, DAY1, "yes", undefined, 2)) as RsvpState, 3);
    const changes = stateChanges(batchOf(record(1, DAY2, "no")), new Map([[1, before]]), options);
    const plan = planTransactions(changes, options);
    expect(plan[0]).toMatchObject({ newRsvps: 0, changedRsvps: 1 });
    expect(puts(plan)[0]?.ConditionExpression).toBe("#version = :read");
    expect(puts(plan)[0]?.ExpressionAttributeValues).toEqual({ ":read": { N: "3" } });
    expect(puts(plan)[0]?.Item?.version).toEqual({ N: "4" });
    const day = updates(plan).find((u) => u.Key?.pk?.S === "DAY#2026-01-01#us");
    expect(delta(day)).toEqual({ rsvps: 0, yes: -1, no: 1, guests: -2 });
    expect(updates(plan).some((u) => u.Key?.pk?.S === "DAY#2026-01-02#us")).toBe(false);
  });

  it("a state stored without a stamp meeting a stamped copy keeps the stamp, counting nothing", () => {
    const held = stored(fold(record(1, DAY1, "yes")) as RsvpState);
    expect(held.state.arrival).toBe(null);
    const stamped = { ...record(1, DAY1, "yes"), arrival: 1_700_000_000_000_000 };
    const changes = stateChanges(
      new Map([[1, foldMessage(null, stamped)]]),
      new Map([[1, held]]),
      options,
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]?.refresh).toBe(true);
    const plan = planTransactions(changes, options);
    expect(plan[0]).toMatchObject({ newRsvps: 0, changedRsvps: 0, refreshedRsvps: 1 });
    expect(updates(plan)).toEqual([]);
    expect(puts(plan)[0]?.Item?.arrival).toEqual({ N: "1700000000000000" });
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
    expect(
      stateChanges(batchOf(record(1, DAY1 + 5_000, "no")), new Map([[1, held]]), options),
    ).toEqual([]);
    expect(
      stateChanges(batchOf(record(1, DAY1, "yes")), new Map([[1, held]]), options),
    ).toHaveLength(1);
    const plan = planTransactions(
      stateChanges(batchOf(record(1, DAY1, "yes")), new Map([[1, held]]), options),
      options,
    );
    // The earlier mtime is kept in the state, but no counter moves: the day is the same.
    expect(updates(plan)).toEqual([]);
    expect(puts(plan)[0]?.Item?.firstMtime).toEqual({ N: String(DAY1) });
    expect(puts(plan)[0]?.Item?.response).toEqual({ S: "no" });
  });

  it("moves the count to the earlier day when an older version from the day before arrives late", () => {
    const held = stored(fold(record(1, DAY2, "yes")) as RsvpState);
    const plan = planTransactions(
      stateChanges(batchOf(record(1, DAY1, "no")), new Map([[1, held]]), options),
      options,
    );
    expect(delta(updates(plan).find((u) => u.Key?.pk?.S === "DAY#2026-01-02#us"))).toEqual({
      rsvps: -1,
      yes: -1,
      no: 0,
      guests: 0,
    });
    expect(delta(updates(plan).find((u) => u.Key?.pk?.S === "DAY#2026-01-01#us"))).toEqual({
      rsvps: 1,
      yes: 1,
      no: 0,
      guests: 0,
    });
    // All time: the same RSVP, the same answer: nothing to write.
    expect(updates(plan).some((u) => u.Key?.pk?.S === "ALL#us")).toBe(false);
  });

  it("writes an unchanged state again, counting nothing, when it would expire before the topic could redeliver", () => {
    const nowSec = options.nowMs / 1000;
    const state = fold(record(1, DAY1, "yes")) as RsvpState;
    const fresh = { state, version: 4, expiresAt: nowSec + options.keepAliveSeconds + 60 };
    expect(stateChanges(batchOf(record(1, DAY1, "yes")), new Map([[1, fresh]]), options)).toEqual(
      [],
    );
    const ageing = { ...fresh, expiresAt: nowSec + options.keepAliveSeconds - 60 };
    const changes = stateChanges(batchOf(record(1, DAY1, "yes")), new Map([[1, ageing]]), options);
    expect(changes).toEqual([{ before: ageing, after: state, refresh: true }]);
    const plan = planTransactions(changes, options);
    expect(plan[0]).toMatchObject({ newRsvps: 0, changedRsvps: 0, refreshedRsvps: 1 });
    expect(updates(plan)).toEqual([]);
    expect(puts(plan)[0]?.ConditionExpression).toBe("#version = :read");
    expect(Number(puts(plan)[0]?.Item?.expiresAt?.N)).toBe(nowSec + options.stateTtlSeconds);
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
    const plan = planTransactions(
      stateChanges(batchOf(record(1, DAY1)), new Map(), options),
      options,
    );
    for (const update of updates(plan)) {
      expect(update.UpdateExpression).toMatch(/ REMOVE #expiresAt$/);
      expect(update.ExpressionAttributeNames?.["#expiresAt"]).toBe("expiresAt");
    }
  });

  it("marks each day a country has counts on once per writer, in the transaction of its counts", () => {
    const batch = batchOf(record(1, DAY1), record(2, DAY2), record(3, DAY2 + 60_000));
    const first = planTransactions(stateChanges(batch, new Map(), options), options);
    expect(markers(first).sort()).toEqual(["DAYS#us/2026-01-01", "DAYS#us/2026-01-02"]);
    expect(first.flatMap((t) => t.markedDays).sort()).toEqual(["us#2026-01-01", "us#2026-01-02"]);
    // A writer that has marked a day does not mark it again.
    const later = planTransactions(stateChanges(batch, new Map(), options), {
      ...options,
      markedDays: new Set(["us#2026-01-01"]),
    });
    expect(markers(later)).toEqual(["DAYS#us/2026-01-02"]);
  });

  it("sums a city's deltas over the batch: one counter write per (day, city) and per city", () => {
    const batch = batchOf(...Array.from({ length: 30 }, (_, i) => record(100 + i, DAY1 + i)));
    const plan = planTransactions(stateChanges(batch, new Map(), options), options);
    expect(plan).toHaveLength(1);
    expect(puts(plan)).toHaveLength(30);
    expect(updates(plan).map((u) => delta(u).rsvps)).toEqual([30, 30]);
  });

  it("keeps every transaction within DynamoDB's limits, and the deltas equal the rule's counts", () => {
    const arbitraryRecord = fc
      .record({
        rsvpId: fc.integer({ min: 1, max: 300 }),
        minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
        yes: fc.boolean(),
        guests: fc.integer({ min: 0, max: 3 }),
      })
      .map(({ rsvpId, minute, yes, guests }) =>
        // One city per RSVP, as an RSVP keeps its group.
        record(rsvpId, DAY1 + minute * 60_000, yes ? "yes" : "no", `us/or/c${rsvpId % 61}`, guests),
      );
    fc.assert(
      fc.property(fc.array(arbitraryRecord, { maxLength: 500 }), (records) => {
        const { rsvps } = decodeBatch(
          records.map((r, offset) => ({
            topic: "t",
            partition: 0,
            offset,
            value: JSON.stringify(r),
          })),
        );
        const plan = planTransactions(stateChanges(rsvps, new Map(), options), options);
        const totals = new Map<string, ReturnType<typeof delta>>();
        for (const transaction of plan) {
          expect(transaction.actions.length).toBeLessThanOrEqual(MAX_TRANSACTION_ACTIONS);
          const keys = transaction.actions.map((a) => {
            const key = a.Update?.Key ?? a.Put?.Item;
            return `${key?.pk?.S}|${key?.sk?.S}`;
          });
          expect(new Set(keys).size).toBe(keys.length);
          for (const action of transaction.actions) {
            if (!action.Update) continue;
            const id = `${action.Update.Key?.pk?.S} ${action.Update.Key?.sk?.S}`;
            const sum = totals.get(id) ?? { rsvps: 0, yes: 0, no: 0, guests: 0 };
            const d = delta(action.Update);
            totals.set(id, {
              rsvps: sum.rsvps + d.rsvps,
              yes: sum.yes + d.yes,
              no: sum.no + d.no,
              guests: sum.guests + d.guests,
            });
          }
        }
        const expected = new Map(
          [...countsByRule(records as RuleRecord[]).counts].map(([id, c]) => [
            id,
            { rsvps: c.rsvps, yes: c.yes, no: c.no, guests: c.guests },
          ]),
        );
        expect(totals).toEqual(expected);
      }),
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

  it("a state item at its largest (longest capped city, largest numbers) is under 1 KB", () => {
    expect(Buffer.byteLength(longest.key, "utf8")).toBe(MAX_CITY_KEY_BYTES);
    const item = stateItem(
      {
        rsvpId: maxNumber,
        mtime: maxNumber,
        firstMtime: maxNumber,
        response: "yes",
        guests: maxNumber,
        city: longest,
        eventTime: maxNumber,
        arrival: maxNumber,
      },
      maxNumber,
      maxNumber,
    );
    expect(itemSizeBytes(item)).toBeLessThanOrEqual(1024);
    expect(storedStateOf(item)?.state.city).toEqual(longest);
    expect(storedStateOf(item)?.state.arrival).toBe(maxNumber);
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

  it("a counter item at its largest is under 1 KB", () => {
    const key = itemKeys.day("2026-01-01", longest);
    const counter = {
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
    };
    expect(itemSizeBytes(counter)).toBeLessThanOrEqual(1024);
  });
});

describe("processBatch when DynamoDB pushes back", () => {
  const cancelled = (code: string) =>
    new TransactionCanceledException({
      message: "Transaction cancelled",
      $metadata: {},
      CancellationReasons: [{ Code: "None" }, { Code: code }],
    });

  it("maps a failed condition and a transaction conflict to a conflict, and rethrows anything else", async () => {
    const dynamodb = mockClient(DynamoDBClient);
    const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
    dynamodb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(cancelled("ConditionalCheckFailed"))
      .rejectsOnce(cancelled("TransactionConflict"))
      .rejectsOnce(cancelled("ValidationError"))
      .rejectsOnce(new Error("throttled"));
    expect(await store.applyTransaction([])).toBe("conflict");
    expect(await store.applyTransaction([])).toBe("conflict");
    await expect(store.applyTransaction([])).rejects.toThrow(TransactionCanceledException);
    await expect(store.applyTransaction([])).rejects.toThrow("throttled");
    dynamodb.restore();
  });

  it("rethrows a transaction throttled beside a conflict as transient, not as a conflict", async () => {
    // A hot counter throttled while another invocation held an RSVP's item: the conflict path's
    // quick retries would run out under a throttle that lasts, and end the batch as failed;
    // the transient path waits and runs it again.
    const dynamodb = mockClient(DynamoDBClient);
    const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
    const both = new TransactionCanceledException({
      message: "Transaction cancelled",
      $metadata: {},
      CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "ThrottlingError" }],
    });
    dynamodb.on(TransactWriteItemsCommand).rejectsOnce(both);
    const error = await store.applyTransaction([]).catch((caught: unknown) => caught);
    expect(error).toBe(both);
    expect(isTransientAwsError(error)).toBe(true);
    dynamodb.restore();
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

  /** States kept in memory from the planned Puts, as the table would hold them. */
  function memoryStore(conflictBefore: (call: number) => boolean): CountsStore & {
    reads: number[][];
  } {
    const states = new Map<number, StoredState>();
    const letters = new Set<string>();
    const reads: number[][] = [];
    let calls = 0;
    return {
      reads,
      readStates: async (ids) => {
        reads.push([...states.keys()].filter((id) => ids.includes(id)));
        return new Map([...states].filter(([id]) => ids.includes(id)));
      },
      applyTransaction: async (actions) => {
        if (conflictBefore(++calls)) return "conflict";
        for (const action of actions) {
          const stored = action.Put?.Item ? storedStateOf(action.Put.Item) : null;
          if (stored) states.set(stored.state.rsvpId, stored);
        }
        return "applied";
      },
      putDeadLetters: async (poison) => {
        const fresh = poison.filter((letter) => !letters.has(letter.source));
        for (const letter of poison) letters.add(letter.source);
        return fresh.length;
      },
    };
  }

  it("remembers a day's marker only once a transaction holding it applied", async () => {
    const written: string[] = [];
    const store = memoryStore((call) => call === 1);
    const recording: CountsStore = {
      ...store,
      applyTransaction: async (actions) => {
        const outcome = await store.applyTransaction(actions);
        if (outcome === "applied")
          for (const a of actions)
            if (a.Put?.Item?.pk?.S?.startsWith("DAYS#")) written.push(a.Put.Item.sk?.S ?? "");
        return outcome;
      },
    };
    const markedDays = new Set<string>();
    const deps = { ...options, store: recording, pause: async () => {}, markedDays };
    const batchOfOne = (id: number) => [
      { topic: "meetup", partition: 0, offset: id, value: JSON.stringify(record(id, DAY1)) },
    ];
    await processBatch(batchOfOne(1), deps); // the first attempt conflicts, the second applies
    await processBatch(batchOfOne(2), deps);
    expect(written).toEqual(["2026-01-01"]);
    expect([...markedDays]).toEqual(["us#2026-01-01"]);
  });

  it("re-reads after a conflict and plans from what is there now: what was applied is not applied again", async () => {
    // 150 RSVPs in 60 cities: two transactions; the second meets a conflict once.
    const records = Array.from({ length: 150 }, (_, i) =>
      record(500 + i, DAY1 + i, "yes", `us/or/c${i % 60}`),
    );
    const messages = records.map((r, offset) => ({
      topic: "meetup",
      partition: 0,
      offset,
      value: JSON.stringify(r),
    }));
    const store = memoryStore((call) => call === 2);
    const deps = { ...options, store, stateTtlSeconds: 60, pause: async () => {} };
    const result = await processBatch(messages, deps);
    expect(result).toMatchObject({ records: 150, counted: 150, changed: 0, conflicts: 1 });
    // The re-read found the first transaction's RSVPs (a conflict applies nothing of the
    // second), and they were not counted again: 150 in all, not 150 plus those.
    expect(store.reads[0]).toEqual([]);
    expect(store.reads[1]?.length).toBeGreaterThan(0);
    expect(store.reads[1]?.length).toBeLessThan(150);
  });

  it("reports what every run of a batch applied when a transient error made the handler run it again", async () => {
    // 150 RSVPs in 60 cities: several transactions; DynamoDB throttles the second once.
    const records = Array.from({ length: 150 }, (_, i) =>
      record(500 + i, DAY1 + i, "yes", `us/or/c${i % 60}`),
    );
    const event = {
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
    };
    const store = memoryStore(() => false);
    let calls = 0;
    const throttledOnce: CountsStore = {
      ...store,
      applyTransaction: async (actions) => {
        if (++calls === 2) {
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ThrottlingException",
          });
        }
        return store.applyTransaction(actions);
      },
    };
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "counts");
    try {
      const { countCityRsvps } = await import("../../functions/city-counts/handler.js");
      const deps = { ...options, store: throttledOnce, stateTtlSeconds: 60, pause: async () => {} };
      const result = await countCityRsvps(event, deps);
      // The second run read the first run's transaction back as state: counted by the first
      // run, not "unchanged" by the second.
      expect(store.reads[1]?.length).toBeGreaterThan(0);
      expect(result).toMatchObject({ records: 150, counted: 150, changed: 0, unchanged: 0 });
      // Every call but the throttled one applied a transaction.
      expect(calls).toBeGreaterThan(2);
      expect(result.transactions).toBe(calls - 1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("counts a poison record dead-lettered once, when its batch comes again", async () => {
    const store = memoryStore(() => false);
    const deps = { ...options, store, stateTtlSeconds: 60, pause: async () => {} };
    const first = await processBatch(messagesOf(fixture), deps);
    expect(first).toMatchObject({ deadLettered: 1, deadLetteredBefore: 0 });
    const again = await processBatch(messagesOf(fixture), deps);
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
    const store = memoryStore(() => true);
    const deps = { ...options, store, stateTtlSeconds: 60, pause: async () => {}, maxAttempts: 4 };
    await expect(processBatch(messagesOf(fixture), deps)).rejects.toThrow(ConcurrentUpdateError);
    expect(store.reads).toHaveLength(4);
  });

  it("refuses to guess over a state item it cannot read", () => {
    expect(
      storedStateOf({ pk: { S: "RSVP#5" }, sk: { S: "STATE" }, response: { S: "maybe" } }),
    ).toBe(null);
  });
});
