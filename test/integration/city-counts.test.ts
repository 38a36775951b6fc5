/**
 * The counting rule on a real DynamoDB engine (moto): whatever the order of an RSVP's versions,
 * the redeliveries, batch boundaries, crashes between any two writes, duplicate messages and
 * concurrent invocations, the table holds the counts of the README's rule
 * (test/support/counting-rule.ts), per UTC day and city and all time.
 */
import { readFileSync } from "node:fs";
import { GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itemKeys } from "../../functions/city-counts/counting.js";
import type { CountsStore } from "../../functions/city-counts/counts-store.js";
import { dynamoCountsStore } from "../../functions/city-counts/counts-store.js";
import {
  type ProcessBatchDependencies,
  processBatch,
} from "../../functions/city-counts/process-batch.js";
import { queryTopCities } from "../../functions/counts-api/top-cities.js";
import type { KafkaMessage } from "../../functions/shared/msk-event.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { MAX_CITY_KEY_BYTES } from "../../functions/shared/rsvp/record-schema.js";
import { MAX_DISPLAY_NAME_BYTES } from "../../functions/shared/rsvp/text.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { countsByRule, type RuleRecord } from "../support/counting-rule.js";
import {
  type CounterRow,
  tableCounts as countersOf,
  createCountsTable,
} from "../support/counts-table.js";
import { crashing, SimulatedCrash } from "../support/crashing-store.js";
import { mskCityCountsFirstResult, sampleEvent } from "../support/sample-events.js";
import { stackAws, stackDynamoDB } from "../support/stack-clients.js";

const dynamodb = stackDynamoDB();
/** A fresh table with the template's key schema, so every case starts empty. */
const freshTable = () => createCountsTable(dynamodb, "city-counts-test");

type Row = CounterRow;
const tableCounts = (TableName: string) => countersOf(dynamodb, TableName);

function ruleCounts(records: RuleRecord[]): Map<string, Row> {
  return new Map(
    [...countsByRule(records).counts].map(([id, { rsvps, yes, no, guests }]) => [
      id,
      { rsvps, yes, no, guests },
    ]),
  );
}

const toMessages = (records: RuleRecord[], partition = 0): KafkaMessage[] =>
  records.map((record, offset) => ({
    topic: "meetup",
    partition,
    offset,
    value: JSON.stringify({ v: 1, ...record }),
  }));

function dependencies(TableName: string, store?: CountsStore): ProcessBatchDependencies {
  return {
    store: store ?? dynamoCountsStore(dynamodb, TableName),
    tableName: TableName,
    stateTtlSeconds: 14 * 86_400,
    keepAliveSeconds: 170 * 3_600,
  };
}

const portland = { key: "us/or/portland", country: "us", state: "OR", name: "Portland" };
const DAY1_2350 = Date.UTC(2026, 0, 1, 23, 50);
const DAY2_0010 = Date.UTC(2026, 0, 2, 0, 10);
const rsvp = (
  rsvpId: number,
  mtime: number,
  response: "yes" | "no",
  guests = 0,
  city = portland,
): RuleRecord => ({ rsvpId, mtime, response, guests, city });

afterAll(() => dynamodb.destroy());

describe("city-counts handler on DynamoDB (events/msk-city-counts.json)", () => {
  let TableName: string;
  let countCityRsvps: typeof import("../../functions/city-counts/handler.js").countCityRsvps;
  const event = sampleEvent("msk-city-counts.json");

  beforeAll(async () => {
    TableName = await freshTable();
    // The handler reads its configuration and builds its client at import, as on Lambda.
    Object.assign(process.env, localAwsEnvironment(stackAws()), { TABLE_NAME: TableName });
    ({ countCityRsvps } = await import("../../functions/city-counts/handler.js"));
  });

  it("counts the batch's RSVPs per day and city, and all time", async () => {
    const result = await countCityRsvps(event);
    expect(result).toEqual(mskCityCountsFirstResult);
    const counts = await tableCounts(TableName);
    expect(counts.get("DAY#2018-05-20#us us/or/portland")).toEqual({
      rsvps: 2,
      yes: 1,
      no: 1,
      guests: 1,
    });
    expect(counts.get("DAY#2018-05-20#us us/me/portland")).toEqual({
      rsvps: 1,
      yes: 1,
      no: 0,
      guests: 1,
    });
    expect(counts.get("ALL#us us/or/portland")).toEqual({ rsvps: 2, yes: 1, no: 1, guests: 1 });
    const day = await dynamodb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: "DAY#2018-05-20#us" }, sk: { S: "us/or/portland" } },
      }),
    );
    expect(day.Item).toMatchObject({
      country: { S: "us" },
      state: { S: "OR" },
      city: { S: "Portland" },
    });
    const state = await dynamodb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: "RSVP#1700000001" }, sk: { S: "STATE" } },
      }),
    );
    expect(state.Item).toMatchObject({ response: { S: "yes" }, version: { N: "1" } });
    // The dedup horizon: 14 days (RSVP_STATE_TTL_DAYS's default) from now.
    expect(Number(state.Item?.expiresAt?.N) - Date.now() / 1000).toBeGreaterThan(13.9 * 86_400);
  });

  it("keeps the poison record as a dead letter with its reason", async () => {
    const letters = await dynamodb.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: itemKeys.deadLetter("meetup-0@103").pk } },
      }),
    );
    expect(letters.Items?.map((item) => [item.sk?.S, item.reason?.S])).toEqual([
      ["meetup-0@103", "not_json"],
    ]);
  });

  it("adds nothing when the same batch is delivered again", async () => {
    const before = await tableCounts(TableName);
    const result = await countCityRsvps(event);
    expect(result).toMatchObject({
      counted: 0,
      changed: 0,
      unchanged: 4,
      stateWrites: 0,
      counterWrites: 0,
    });
    expect(await tableCounts(TableName)).toEqual(before);
    // Its poison record's letter is kept already: not a new dead letter (the log line and the
    // DeadLetterGrowthAlarm's metric count new ones only).
    expect(result).toMatchObject({ deadLettered: 0, deadLetteredBefore: 1 });
  });

  it("serves the counts through the counts API: ranked, per day or all time, per country", async () => {
    const { getCounts } = await import("../../functions/counts-api/handler.js");
    const request = sampleEvent<Parameters<typeof getCounts>[0]>("http-get-counts.json");
    const day = await getCounts(request);
    expect(day.statusCode).toBe(200);
    const body = JSON.parse(day.body ?? "");
    expect(body).toMatchObject({ country: "us", day: "2018-05-20", totalCities: 2 });
    expect(
      body.cities.map((c: { key: string; rsvps: number; state: string }) => [
        c.key,
        c.state,
        c.rsvps,
      ]),
    ).toEqual([
      ["us/or/portland", "OR", 2],
      ["us/me/portland", "ME", 1],
    ]);
    expect(Date.parse(body.updatedAt)).toBeGreaterThan(Date.now() - 600_000);
    const allTime = await getCounts({
      ...request,
      queryStringParameters: { day: "all", limit: "1" },
    });
    expect(JSON.parse(allTime.body ?? "")).toMatchObject({
      day: "all",
      totalCities: 2,
      cities: [{ key: "us/or/portland", rsvps: 2 }],
    });
    const canada = await getCounts({
      ...request,
      queryStringParameters: { country: "ca", day: "2018-05-20" },
    });
    const today = new Date().toISOString().slice(0, 10);
    expect(JSON.parse(canada.body ?? "")).toEqual({
      country: "ca",
      day: "2018-05-20",
      cities: [],
      totalCities: 0,
      updatedAt: null,
      today,
    });
    // Without a day: the latest day the counting marked for the country (the sample is from
    // 2018), and today for a country with no counts.
    const latest = await getCounts({ ...request, queryStringParameters: { country: "us" } });
    expect(JSON.parse(latest.body ?? "")).toMatchObject({
      day: "2018-05-20",
      today,
      totalCities: 2,
    });
    const none = await getCounts({ ...request, queryStringParameters: { country: "ca" } });
    expect(JSON.parse(none.body ?? "")).toMatchObject({ day: today, today, totalCities: 0 });
  });

  it("fails loudly on an event that is not an MSK batch", async () => {
    await expect(countCityRsvps({ Records: [] })).rejects.toThrow(/not an MSK event/);
  });
});

describe("the counting rule, case by case", () => {
  /** Each inner list is one batch, delivered in order. */
  async function countBatches(batches: RuleRecord[][]): Promise<Map<string, Row>> {
    const TableName = await freshTable();
    let offset = 0;
    for (const batch of batches) {
      const messages = toMessages(batch).map((m) => ({ ...m, offset: offset++ }));
      await processBatch(messages, dependencies(TableName));
    }
    return tableCounts(TableName);
  }

  it("a yes→no change moves one RSVP from yes to no, in either order of arrival", async () => {
    const yes = rsvp(1, DAY1_2350, "yes", 2);
    const no = rsvp(1, DAY1_2350 + 60_000, "no");
    const expected = new Map([
      ["DAY#2026-01-01#us us/or/portland", { rsvps: 1, yes: 0, no: 1, guests: 0 }],
      ["ALL#us us/or/portland", { rsvps: 1, yes: 0, no: 1, guests: 0 }],
    ]);
    expect(await countBatches([[yes], [no]])).toEqual(expected);
    expect(await countBatches([[no], [yes]])).toEqual(expected);
    expect(await countBatches([[yes, no]])).toEqual(expected);
  });

  it("across midnight: an RSVP counts on the day of its earliest version, whichever comes first", async () => {
    const before = rsvp(2, DAY1_2350, "yes");
    const after = rsvp(2, DAY2_0010, "no");
    const expected = new Map([
      ["DAY#2026-01-01#us us/or/portland", { rsvps: 1, yes: 0, no: 1, guests: 0 }],
      ["ALL#us us/or/portland", { rsvps: 1, yes: 0, no: 1, guests: 0 }],
    ]);
    expect(await countBatches([[before], [after]])).toEqual(expected);
    // The newer version first: counted on day 2 until the older one moves it to day 1.
    expect(await countBatches([[after], [before]])).toEqual(expected);
  });

  it("the counts API shows no city whose RSVPs all moved to another day", async () => {
    const TableName = await freshTable();
    const deps = dependencies(TableName);
    const [newer, older] = toMessages([rsvp(4, DAY2_0010, "yes"), rsvp(4, DAY1_2350, "yes")]);
    await processBatch([newer as KafkaMessage], deps);
    await processBatch([older as KafkaMessage], deps); // older, the day before
    const day = (d: string) =>
      queryTopCities(dynamodb, TableName, { country: "us", day: d, limit: 10 });
    expect(await day("2026-01-02")).toMatchObject({ cities: [], totalCities: 0 });
    expect(await day("2026-01-01")).toMatchObject({ cities: [{ key: portland.key, rsvps: 1 }] });
  });

  it("the counts API ranks a partition larger than one DynamoDB page (1 MB), every page read", async () => {
    // 3,000 cities with 90-byte keys and 200-byte names: their day partition is over 1 MB, so a
    // Query answers it in pages. The city with most RSVPs has the last key: on the last page.
    const TableName = await freshTable();
    const cities = Array.from({ length: 3_000 }, (_, i) => {
      const slug = `c${String(i).padStart(4, "0")}`;
      const name = slug.padEnd(200, "x");
      return { key: `us/or/${slug.padEnd(90, "x")}`, country: "us", state: "OR", name };
    });
    const records = cities.map((city, i) => rsvp(1_000 + i, DAY1_2350, "yes", 0, city));
    const last = cities[cities.length - 1] ?? portland;
    records.push(rsvp(9_001, DAY1_2350, "yes", 0, last), rsvp(9_002, DAY1_2350, "no", 0, last));
    await processBatch(toMessages(records), dependencies(TableName));
    const onePage = await dynamodb.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "DAY#2026-01-01#us" } },
      }),
    );
    expect(onePage.LastEvaluatedKey).toBeDefined();
    expect(onePage.Count ?? 0).toBeLessThan(cities.length);
    const top = await queryTopCities(dynamodb, TableName, {
      country: "us",
      day: "2026-01-01",
      limit: 2,
    });
    expect(top.totalCities).toBe(cities.length);
    expect(top.cities.map((c) => [c.key, c.rsvps, c.yes, c.no])).toEqual([
      [last.key, 3, 2, 1],
      [`us/or/${"c0000".padEnd(90, "x")}`, 1, 1, 0],
    ]);
  });

  it("exact duplicates change nothing, in the same batch or many batches later", async () => {
    const a = rsvp(3, DAY1_2350, "yes", 1);
    const others = Array.from({ length: 40 }, (_, i) => rsvp(100 + i, DAY1_2350 - i * 1000, "no"));
    const counts = await countBatches([[a, a], others.slice(0, 20), others.slice(20), [a]]);
    expect(counts).toEqual(ruleCounts([a, ...others]));
    expect(counts.get("ALL#us us/or/portland")).toEqual({ rsvps: 41, yes: 1, no: 40, guests: 1 });
  });

  it("an exact duplicate a week later changes no count, and keeps the state alive as long as the topic could send it again", async () => {
    const TableName = await freshTable();
    const day0 = Date.UTC(2026, 0, 1, 12);
    const at = (ms: number) => ({ ...dependencies(TableName), now: () => ms });
    const a = rsvp(5, DAY1_2350, "yes", 2);
    await processBatch(toMessages([a]), at(day0));
    const before = await tableCounts(TableName);
    const stateKey = { pk: { S: "RSVP#5" }, sk: { S: "STATE" } };
    const state = async () =>
      (await dynamodb.send(new GetItemCommand({ TableName, Key: stateKey, ConsistentRead: true })))
        .Item;
    const first = await state();
    // Expires 14 days after its write (the horizon), in epoch seconds.
    expect(Number(first?.expiresAt?.N)).toBe(day0 / 1000 + 14 * 86_400);

    // A week later the feed sends it again: still within the horizon, so nothing is counted;
    // but the topic keeps that copy 170 hours more, past the state's expiry, so the state is
    // written again, unchanged, with a later expiry (no counter moves).
    const week = day0 + 7 * 86_400_000;
    const result = await processBatch(toMessages([a]), at(week));
    expect(result).toMatchObject({ counted: 0, changed: 0, refreshed: 1 });
    expect(await tableCounts(TableName)).toEqual(before);
    const refreshed = await state();
    expect(Number(refreshed?.expiresAt?.N)).toBe(week / 1000 + 14 * 86_400);
    expect(refreshed?.response).toEqual(first?.response);
    expect(Number(refreshed?.version?.N)).toBe(Number(first?.version?.N) + 1);

    // The day after, another copy: the state outlives what the topic holds, nothing is written.
    const next = await processBatch(toMessages([a]), at(week + 86_400_000));
    expect(next).toMatchObject({
      counted: 0,
      changed: 0,
      refreshed: 0,
      stateWrites: 0,
      counterWrites: 0,
    });
    expect(await tableCounts(TableName)).toEqual(before);
  });

  it("a batch retried with other boundaries, and a crash between any two writes, lose and double nothing", async () => {
    // 120 RSVPs in 60 cities: 110 of them in the batch that crashes.
    const records = Array.from({ length: 120 }, (_, i) =>
      rsvp(1000 + i, DAY1_2350 + i, i % 3 === 0 ? "no" : "yes", i % 4, {
        ...portland,
        key: `us/or/city-${i % 60}`,
        name: `City ${i % 60}`,
      }),
    );
    const messages = toMessages(records);
    // Amid the state writes; after all 110 states, the day marker and 30 of the 120 counters.
    for (const writesBeforeCrash of [70, 141]) {
      const TableName = await freshTable();
      const store = dynamoCountsStore(dynamodb, TableName);
      await expect(
        processBatch(
          messages.slice(0, 110),
          dependencies(TableName, crashing(store, writesBeforeCrash)),
        ),
      ).rejects.toThrow(SimulatedCrash);
      const partial = await tableCounts(TableName);
      if (writesBeforeCrash < 110) expect(partial.size).toBe(0);
      else {
        expect(partial.size).toBe(30);
        expect(partial.size).toBeLessThan(ruleCounts(records).size);
      }
      // Lambda retries; the batch comes again, cut differently.
      await processBatch(messages.slice(0, 50), dependencies(TableName));
      const result = await processBatch(messages.slice(40), dependencies(TableName));
      expect(result.counterWrites).toBeGreaterThan(0);
      expect(await tableCounts(TableName)).toEqual(ruleCounts(records));
    }
  });

  it("two event sources on one city at once count each RSVP once", async () => {
    // Distinct mtimes, so the rule does not depend on which source arrives first.
    const records: RuleRecord[] = [];
    for (let i = 0; i < 30; i++) {
      records.push(rsvp(2000 + (i % 12), DAY1_2350 + i * 7_000, i % 2 === 0 ? "yes" : "no", i % 3));
    }
    const TableName = await freshTable();
    const messages = toMessages(records);
    // Three invocations on overlapping batches of the same RSVPs at the same time (a rebalance
    // hands a partition over while the old owner is still writing). A barrier makes each read
    // the states before any of them writes, so they do collide.
    const store = dynamoCountsStore(dynamodb, TableName);
    let waiting: (() => void)[] = [];
    let firstReads = 3;
    const racing: CountsStore = {
      ...store,
      readStates: async (ids) => {
        const states = await store.readStates(ids);
        if (firstReads > 0) {
          firstReads -= 1;
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (firstReads === 0) {
              for (const release of waiting) release();
              waiting = [];
            }
          });
        }
        return states;
      },
    };
    const results = await Promise.all([
      processBatch(messages.slice(0, 20), dependencies(TableName, racing)),
      processBatch(messages.slice(10), dependencies(TableName, racing)),
      processBatch(messages, dependencies(TableName, racing)),
    ]);
    expect(await tableCounts(TableName)).toEqual(ruleCounts(records));
    expect(results.reduce((sum, r) => sum + r.counted, 0)).toBe(12);
    // All three planned from the same empty table: at most one could win each RSVP.
    expect(results.reduce((sum, r) => sum + r.conflicts, 0)).toBeGreaterThanOrEqual(2);
  });

  it("an invocation that counts changes another left in the states is not doubled by that one", async () => {
    // A writes the states and stalls before its counters; B, a second event source on the
    // same records, finds the states' pending changes and writes them to the counters; A's
    // counter writes then find the fences moved, re-read, and have nothing left to write.
    const records = [rsvp(3000, DAY1_2350, "yes", 1), rsvp(3001, DAY1_2350 + 1, "no")];
    const TableName = await freshTable();
    const store = dynamoCountsStore(dynamodb, TableName);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let stalled: () => void = () => {};
    const stalledBeforeCounters = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    let stalls = 1;
    const stalling: CountsStore = {
      ...store,
      applyWrites: async (actions, onOutcome) => {
        if (stalls > 0 && actions.some((action) => action.Update !== undefined)) {
          stalls -= 1;
          stalled();
          await released;
        }
        return store.applyWrites(actions, onOutcome);
      },
    };
    const first = processBatch(toMessages(records), dependencies(TableName, stalling));
    await stalledBeforeCounters;
    const second = await processBatch(toMessages(records), dependencies(TableName));
    expect(second).toMatchObject({ counted: 0, stateWrites: 0, counterWrites: 2 });
    release();
    const result = await first;
    expect(result).toMatchObject({ counted: 2, conflicts: 1, counterWrites: 0 });
    expect(await tableCounts(TableName)).toEqual(ruleCounts(records));
  });

  it("a batch set aside after its states were written is counted by the partition's next batch", async () => {
    const TableName = await freshTable();
    const store = dynamoCountsStore(dynamodb, TableName);
    const seattle = { key: "us/wa/seattle", country: "us", state: "WA", name: "Seattle" };
    const failed = [rsvp(1, DAY1_2350, "yes", 1), rsvp(2, DAY1_2350, "no", 0, seattle)];
    const next = [rsvp(3, DAY2_0010, "yes")];
    // DynamoDB refuses every counter write past the event source's retries (a throttled hot
    // counter): the states are written, the batch fails and is set aside.
    const countersRefused: CountsStore = {
      ...store,
      applyWrites: async (actions, onOutcome) => {
        if (actions.some((action) => action.Update !== undefined))
          throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
        return store.applyWrites(actions, onOutcome);
      },
    };
    await expect(
      processBatch(toMessages(failed), dependencies(TableName, countersRefused)),
    ).rejects.toThrow("throttled");
    expect(await tableCounts(TableName)).toEqual(new Map());
    expect((await store.readUnsettled("meetup-0")).map((batch) => batch.rsvpIds)).toEqual([[1, 2]]);
    // The partition's next batch (another RSVP, another day) takes their changes with its own.
    const nextMessages = toMessages(next).map((message) => ({ ...message, offset: 2 }));
    await processBatch(nextMessages, dependencies(TableName));
    expect(await tableCounts(TableName)).toEqual(ruleCounts([...failed, ...next]));
    expect(await store.readUnsettled("meetup-0")).toEqual([]);
  });

  it("a city name of 5,000 characters is counted under a capped key, and an uncapped one is a dead letter", async () => {
    const parse = createRsvpParser();
    const message = JSON.parse(
      readFileSync(new URL("../fixtures/stream-message.json", import.meta.url), "utf8"),
    );
    message.group.group_city = "Llan".repeat(1250);
    const parsed = parse(JSON.stringify(message));
    if (!parsed.ok) throw new Error(parsed.rejection.detail);
    const TableName = await freshTable();
    const uncapped = {
      ...parsed.record,
      rsvpId: 99,
      city: { ...parsed.record.city, key: `us/or/${"llan".repeat(1250)}` },
    };
    const result = await processBatch(
      [
        { topic: "meetup", partition: 0, offset: 0, value: JSON.stringify(parsed.record) },
        { topic: "meetup", partition: 0, offset: 1, value: JSON.stringify(uncapped) },
      ],
      dependencies(TableName),
    );
    expect(result).toMatchObject({ counted: 1, deadLettered: 1 });
    const counts = await tableCounts(TableName);
    const [dayKey] = [...counts.keys()].filter((key) => key.startsWith("DAY#"));
    expect(
      Buffer.byteLength(dayKey?.slice(dayKey.indexOf(" ") + 1) ?? "", "utf8"),
    ).toBeLessThanOrEqual(MAX_CITY_KEY_BYTES);
    // The name is kept for display as far as the cap allows: its beginning, marked as cut.
    const counter = await dynamodb.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "ALL#us" } },
      }),
    );
    const shown = counter.Items?.[0]?.city?.S ?? "";
    expect(Buffer.byteLength(shown, "utf8")).toBeLessThanOrEqual(MAX_DISPLAY_NAME_BYTES);
    expect(shown.length).toBeGreaterThan(100);
    expect(`${"Llan".repeat(1250)}`.startsWith(shown.replace(/…$/, ""))).toBe(true);
    const deadLetterKey = itemKeys.deadLetter("meetup-0@1");
    const letter = await dynamodb.send(
      new GetItemCommand({
        TableName,
        Key: { pk: { S: deadLetterKey.pk }, sk: { S: deadLetterKey.sk } },
      }),
    );
    expect(letter.Item?.detail?.S).toMatch(/^city\.key: longer than/);
  });
});

/**
 * About 80 records of a synthetic feed (30 % updates) as the ingest parses them, each followed
 * by what `vary` adds to the feed after it (copies, ties, moves).
 */
function generatedFeed(
  seed: string,
  vary: (record: RuleRecord, feed: RuleRecord[]) => void,
): RuleRecord[] {
  const parse = createRsvpParser();
  const feed: RuleRecord[] = [];
  for (const synthetic of syntheticMessages({
    seed,
    malformedShare: 0,
    updateShare: 0.3,
    meanIntervalMs: 40 * 60_000,
  })) {
    const result = parse(synthetic.text);
    if (!result.ok) continue;
    feed.push(result.record);
    vary(result.record, feed);
    if (feed.length >= 80) break;
  }
  return feed;
}

describe("any interleaving of a generated feed, any delivery: the table equals the rule", () => {
  /**
   * A synthetic feed with updates, exact copies, versions with the same mtime and another
   * answer (first to arrive wins), and versions that move an RSVP to another city; shuffled by
   * the property, so older versions also come late.
   */
  const feed = generatedFeed("exactly-once", (record, feed) => {
    if (feed.length % 7 === 0) feed.push(record); // the feed sent it twice
    if (feed.length % 5 === 0)
      feed.push({ ...record, response: record.response === "yes" ? "no" : "yes" }); // a tie
    if (feed.length % 9 === 0) {
      const elsewhere = feed[feed.length - 3]?.city ?? record.city;
      feed.push({ ...record, mtime: record.mtime + 60_000, city: elsewhere }); // moved
    }
  });
  const ids = new Set(feed.map((r) => r.rsvpId));

  it("holds for random orders, redeliveries reaching back, re-cut batches and crashes", async () => {
    expect(feed.length).toBeGreaterThanOrEqual(80);
    expect(ids.size).toBeLessThan(feed.length - 10); // many RSVPs come in several versions
    let crashes = 0;
    const delivery = fc.record({
      size: fc.integer({ min: 1, max: 40 }),
      back: fc.integer({ min: 0, max: 30 }),
      // Single-item writes before the crash: amid the states, between the states and the
      // counters, or amid the counters, by the batch's size.
      crashAfter: fc.option(fc.integer({ min: 0, max: 30 }), { freq: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(feed, { minLength: feed.length }),
        fc.array(delivery, { minLength: 1, maxLength: 12 }),
        async (order, deliveries) => {
          const TableName = await freshTable();
          const store = dynamoCountsStore(dynamodb, TableName);
          const stream = toMessages(order);
          let committed = 0; // like a consumer offset: everything before it was processed
          for (const { size, back, crashAfter } of deliveries) {
            const position = Math.max(0, committed - back);
            const batch = stream.slice(position, position + size);
            if (batch.length === 0) break;
            try {
              await processBatch(
                batch,
                dependencies(TableName, crashAfter === null ? store : crashing(store, crashAfter)),
              );
              committed = Math.max(committed, position + batch.length);
            } catch (error) {
              // Only the injected crash may stop a batch; then it comes again.
              if (!(error instanceof SimulatedCrash)) throw error;
              crashes += 1;
            }
          }
          // Finally everything is delivered at least once, in one more pass.
          for (let start = committed; start < stream.length; start += 40) {
            await processBatch(stream.slice(start, start + 40), dependencies(TableName));
          }
          expect(await tableCounts(TableName)).toEqual(ruleCounts(order));
        },
      ),
      { numRuns: 8, endOnFailure: true },
    );
    // Over the runs, some batch did crash mid-way: the property is not only about redeliveries.
    expect(crashes).toBeGreaterThan(0);
  });
});

describe("the topic split by city over partitions read side by side: the table equals the rule", () => {
  /**
   * A synthetic feed with updates and exact copies, and hostile ties: a version with the same
   * mtime, the other answer and another city, which the ingest's keying puts on another
   * partition. Only the ingest's arrival stamps can tell which came first.
   */
  const cities: RuleRecord["city"][] = [];
  const feed = generatedFeed("partitions", (record, feed) => {
    if (!cities.some((city) => city.key === record.city.key)) cities.push(record.city);
    if (feed.length % 6 === 0) feed.push(record); // the feed sent it twice
    if (feed.length % 4 === 0) {
      const elsewhere = cities.find((city) => city.key !== record.city.key) ?? record.city;
      const other = record.response === "yes" ? "no" : "yes";
      feed.push({ ...record, response: other, city: elsewhere }); // a tie in another city
    }
  });
  const partitionOf = (key: string, partitions: number) =>
    [...key].reduce((hash, char) => (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0, 7) % partitions;

  it("holds for any arrival order, any interleaving of the partitions, redeliveries and crashes", async () => {
    let crossPartitionTies = 0;
    let crashes = 0;
    const step = fc.record({
      partition: fc.nat(),
      size: fc.integer({ min: 1, max: 25 }),
      back: fc.integer({ min: 0, max: 15 }),
      // Single-item writes before the crash: amid the states, between the states and the
      // counters, or amid the counters, by the batch's size.
      crashAfter: fc.option(fc.integer({ min: 0, max: 30 }), { freq: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(feed, { minLength: feed.length }),
        fc.integer({ min: 2, max: 4 }),
        fc.array(step, { minLength: 2, maxLength: 16 }),
        async (order, partitions, steps) => {
          const TableName = await freshTable();
          const store = dynamoCountsStore(dynamodb, TableName);
          // The ingest stamps records as they arrive: the order drawn here.
          const streams: KafkaMessage[][] = Array.from({ length: partitions }, () => []);
          order.forEach((record, index) => {
            const partition = partitionOf(record.city.key, partitions);
            const stream = streams[partition] as KafkaMessage[];
            const value = JSON.stringify({
              v: 1,
              ...record,
              arrival: 1_700_000_000_000_000 + index,
            });
            stream.push({ topic: "meetup", partition, offset: stream.length, value });
          });
          const firstSeen = new Map<string, number>();
          for (const record of order) {
            const id = `${record.rsvpId}@${record.mtime}`;
            const partition = partitionOf(record.city.key, partitions);
            if ((firstSeen.get(id) ?? partition) !== partition) crossPartitionTies += 1;
            firstSeen.set(id, partition);
          }
          const committed = new Array<number>(partitions).fill(0);
          const deliver = async ({ partition, size, back, crashAfter }: (typeof steps)[number]) => {
            const p = partition % partitions;
            const stream = streams[p] as KafkaMessage[];
            const position = Math.max(0, (committed[p] ?? 0) - back);
            const batch = stream.slice(position, position + size);
            if (batch.length === 0) return;
            try {
              await processBatch(
                batch,
                dependencies(TableName, crashAfter === null ? store : crashing(store, crashAfter)),
              );
              committed[p] = Math.max(committed[p] ?? 0, position + batch.length);
            } catch (error) {
              if (!(error instanceof SimulatedCrash)) throw error;
              crashes += 1;
            }
          };
          // Two pollers at a time, as the event source reads partitions side by side; one
          // partition is never read by two at once.
          for (let i = 0; i < steps.length; i += 2) {
            const [a, b] = [steps[i], steps[i + 1]];
            if (a && b && a.partition % partitions !== b.partition % partitions)
              await Promise.all([deliver(a), deliver(b)]);
            else for (const s of [a, b]) if (s) await deliver(s);
          }
          // Finally every partition is read to its end, all at once.
          await Promise.all(
            streams.map(async (stream, p) => {
              for (let start = committed[p] ?? 0; start < stream.length; start += 25)
                await processBatch(stream.slice(start, start + 25), dependencies(TableName));
            }),
          );
          expect(await tableCounts(TableName)).toEqual(ruleCounts(order));
        },
      ),
      { numRuns: 10, endOnFailure: true },
    );
    // The property met what it is about: ties across partitions, and crashes mid-batch.
    expect(crossPartitionTies).toBeGreaterThan(0);
    expect(crashes).toBeGreaterThan(0);
  });
});
