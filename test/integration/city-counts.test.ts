/**
 * Exactly-once counting on a real DynamoDB engine (moto): whatever the redeliveries, batch
 * boundaries, crashes and duplicate messages, each (day, city) count equals the number of
 * distinct (rsvpId, mtime) messages.
 */
import { readFileSync } from "node:fs";
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CountsStore } from "../../functions/city-counts/counts-store.js";
import { dynamoCountsStore } from "../../functions/city-counts/counts-store.js";
import { processBatch } from "../../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../../functions/shared/msk-event.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { awsClientConfig, localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { createCountsTable } from "../support/counts-table.js";

const stack = inject("stack");
const dynamodb = new DynamoDBClient(
  awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region }),
);
/** A fresh table with the template's key schema, so every property run starts empty. */
const freshTable = () => createCountsTable(dynamodb, "city-counts-test");

async function dayCounts(
  TableName: string,
): Promise<Map<string, { rsvps: number; yes: number; no: number; guests: number }>> {
  const counts = new Map<string, { rsvps: number; yes: number; no: number; guests: number }>();
  let ExclusiveStartKey:
    | Record<string, import("@aws-sdk/client-dynamodb").AttributeValue>
    | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? "";
      if (!pk.startsWith("DAY#") && !pk.startsWith("ALL#")) continue;
      counts.set(`${pk} ${item.sk?.S}`, {
        rsvps: Number(item.rsvps?.N),
        yes: Number(item.yes?.N),
        no: Number(item.no?.N),
        guests: Number(item.guests?.N),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return counts;
}

afterAll(() => dynamodb.destroy());

describe("city-counts handler on DynamoDB (events/msk-city-counts.json)", () => {
  let TableName: string;
  let countCityRsvps: typeof import("../../functions/city-counts/handler.js").countCityRsvps;
  const event = JSON.parse(
    readFileSync(new URL("../../events/msk-city-counts.json", import.meta.url), "utf8"),
  );

  beforeAll(async () => {
    TableName = await freshTable();
    // The handler reads its configuration and builds its client at import, as on Lambda.
    Object.assign(
      process.env,
      localAwsEnvironment({ endpoint: stack.awsEndpoint, region: stack.region }),
      {
        TABLE_NAME: TableName,
      },
    );
    ({ countCityRsvps } = await import("../../functions/city-counts/handler.js"));
  });

  it("counts the batch per day and city, and all time", async () => {
    const result = await countCityRsvps(event);
    expect(result).toEqual({
      records: 5,
      counted: 3,
      duplicates: 1,
      deadLettered: 1,
      transactions: 1,
    });
    const counts = await dayCounts(TableName);
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
    expect(Number(day.Item?.expiresAt?.N)).toBeGreaterThan(Date.now() / 1000);
  });

  it("keeps the poison record as a dead letter with its reason", async () => {
    const letters = await dynamodb.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "DEADLETTER" } },
      }),
    );
    expect(letters.Items?.map((item) => [item.sk?.S, item.reason?.S])).toEqual([
      ["meetup-0@103", "not_json"],
    ]);
  });

  it("adds nothing when the same batch is delivered again", async () => {
    const before = await dayCounts(TableName);
    const result = await countCityRsvps(event);
    expect(result).toMatchObject({ counted: 0, duplicates: 4, transactions: 0 });
    expect(await dayCounts(TableName)).toEqual(before);
  });

  it("serves the counts through the counts API: ranked, per day or all time, per country", async () => {
    const { getCounts } = await import("../../functions/counts-api/handler.js");
    const request = JSON.parse(
      readFileSync(new URL("../../events/http-get-counts.json", import.meta.url), "utf8"),
    );
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
    expect(JSON.parse(canada.body ?? "")).toEqual({
      country: "ca",
      day: "2018-05-20",
      cities: [],
      totalCities: 0,
      updatedAt: null,
    });
  });

  it("fails loudly on an event that is not an MSK batch", async () => {
    await expect(countCityRsvps({ Records: [] })).rejects.toThrow(/not an MSK event/);
  });
});

describe("exactly-once under redelivery, other batch boundaries, crashes and duplicate messages", () => {
  const parse = createRsvpParser({ pseudonymKey: "exactly-once-test-key-0123456789abc" });
  const stream: KafkaMessage[] = [];
  for (const synthetic of syntheticMessages({
    seed: "exactly-once",
    malformedShare: 0,
    meanIntervalMs: 20 * 60_000,
  })) {
    const result = parse(synthetic.text);
    if (!result.ok) continue;
    stream.push({
      topic: "meetup",
      partition: 0,
      offset: stream.length,
      value: JSON.stringify(result.record),
    });
    // The same message twice on the topic (a feed re-send or a producer retry): a new offset.
    if (stream.length % 7 === 0)
      stream.push({ ...stream[stream.length - 1], offset: stream.length } as KafkaMessage);
    if (stream.length >= 160) break;
  }

  /** The counts a perfect counter would hold: distinct (rsvpId, mtime) per day and city. */
  const expected = (() => {
    const distinct = new Map<
      string,
      { day: string; city: string; response: string; guests: number }
    >();
    for (const m of stream) {
      const r = JSON.parse(m.value ?? "{}");
      distinct.set(`${r.rsvpId}@${r.mtime}`, {
        day: new Date(r.mtime).toISOString().slice(0, 10),
        city: r.city.key,
        response: r.response,
        guests: r.guests,
      });
    }
    const counts = new Map<string, { rsvps: number; yes: number; no: number; guests: number }>();
    for (const { day, city, response, guests } of distinct.values()) {
      const country = city.split("/")[0];
      for (const key of [`DAY#${day}#${country} ${city}`, `ALL#${country} ${city}`]) {
        const c = counts.get(key) ?? { rsvps: 0, yes: 0, no: 0, guests: 0 };
        c.rsvps += 1;
        if (response === "yes") c.yes += 1;
        else c.no += 1;
        c.guests += guests;
        counts.set(key, c);
      }
    }
    return counts;
  })();

  /** A store that dies after `transactionsBeforeCrash` transactions, as a Lambda timeout would. */
  function crashing(store: CountsStore, transactionsBeforeCrash: number): CountsStore {
    let left = transactionsBeforeCrash;
    return {
      ...store,
      applyTransaction: async (actions) => {
        if (left-- <= 0) throw new Error("simulated crash");
        return store.applyTransaction(actions);
      },
    };
  }

  it("holds for random deliveries of the same stream", async () => {
    expect(stream.length).toBeGreaterThanOrEqual(160);
    // A delivery: a window [start, start + size) of the stream; crashAfter: transactions
    // applied before the invocation dies (Lambda then retries the batch, maybe re-cut).
    const delivery = fc.record({
      size: fc.integer({ min: 1, max: 60 }),
      back: fc.integer({ min: 0, max: 40 }),
      crashAfter: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 25 }), async (deliveries) => {
        const TableName = await freshTable();
        const store = dynamoCountsStore(dynamodb, TableName);
        const deps = { store, tableName: TableName, ttlSeconds: 86_400 };
        let committed = 0; // like a consumer offset: everything before it was processed
        let position = 0;
        for (const { size, back, crashAfter } of deliveries) {
          // Redelivery: start up to `back` records before the committed offset.
          position = Math.max(0, committed - back);
          const batch = stream.slice(position, position + size);
          if (batch.length === 0) break;
          try {
            await processBatch(
              batch,
              crashAfter === null ? deps : { ...deps, store: crashing(store, crashAfter) },
            );
            committed = Math.max(committed, position + batch.length);
          } catch {
            // crashed: the offset is not committed, the batch comes again
          }
        }
        // Finally everything is delivered at least once, in one more pass.
        for (let start = committed; start < stream.length; start += 50) {
          await processBatch(stream.slice(start, start + 50), deps);
        }
        expect(await dayCounts(TableName)).toEqual(expected);
      }),
      { numRuns: 8, endOnFailure: true },
    );
  });
});
