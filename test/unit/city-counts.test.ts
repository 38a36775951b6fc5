import { readFileSync } from "node:fs";
import {
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CountedMessage,
  decodeBatch,
  itemKeys,
  keyId,
  MAX_TRANSACTION_ACTIONS,
  planTransactions,
  type SeenShard,
} from "../../functions/city-counts/counting.js";
import { type CountsStore, dynamoCountsStore } from "../../functions/city-counts/counts-store.js";
import { ConcurrentUpdateError, processBatch } from "../../functions/city-counts/process-batch.js";
import { messagesOf, mskEventSchema } from "../../functions/shared/msk-event.js";

const fixture = mskEventSchema.parse(
  JSON.parse(readFileSync(new URL("../../events/msk-city-counts.json", import.meta.url), "utf8")),
);
const options = { tableName: "counts", nowMs: Date.UTC(2026, 10, 27), ttlSeconds: 8 * 86_400 };

function message(
  rsvpId: number,
  mtime: number,
  cityKey: string,
  response: "yes" | "no" = "yes",
): CountedMessage {
  const iso = new Date(mtime).toISOString();
  return {
    id: `${rsvpId}@${mtime}`,
    day: iso.slice(0, 10),
    hour: iso.slice(11, 13),
    record: {
      v: 1,
      rsvpId,
      mtime,
      response,
      guests: 0,
      city: { key: cityKey, country: "us", state: null, name: cityKey },
    },
  };
}

describe("decodeBatch (events/msk-city-counts.json)", () => {
  const decoded = decodeBatch(messagesOf(fixture));

  it("decodes every partition in offset order, counts a repeated message once, and days/hours in UTC", () => {
    expect(decoded.messages.map((m) => [m.id, m.day, m.hour, m.record.city.key])).toEqual([
      ["1700000001@1526811900000", "2018-05-20", "10", "us/or/portland"],
      ["1700000002@1526812000000", "2018-05-20", "10", "us/or/portland"],
      ["1700000003@1526812100000", "2018-05-20", "10", "us/me/portland"],
    ]);
    expect(decoded.duplicatesInBatch).toBe(1);
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
});

describe("planTransactions", () => {
  it("writes one day counter, the seen items and one all-time counter per city, conditioned on what was read", () => {
    const messages = decodeBatch(messagesOf(fixture)).messages;
    const seenKey = keyId(itemKeys.seen("2018-05-20", "us/or/portland", "10"));
    const seen = new Map<string, SeenShard>([
      [seenKey, { ids: new Set(["1700000001@1526811900000"]), version: 3 }],
    ]);
    const plan = planTransactions(messages, seen, options);
    expect(plan).toMatchObject({ counted: 2, alreadyCounted: 1 });
    expect(plan.transactions).toHaveLength(1);
    const updates = plan.transactions[0]?.map((action) => action.Update) ?? [];
    const keys = updates.map((u) => `${u?.Key?.pk?.S} ${u?.Key?.sk?.S}`);
    expect(keys.sort()).toEqual(
      [
        "ALL#us us/me/portland",
        "ALL#us us/or/portland",
        "DAY#2018-05-20#us us/me/portland",
        "DAY#2018-05-20#us us/or/portland",
        "SEEN#2018-05-20#us/me/portland H10",
        "SEEN#2018-05-20#us/or/portland H10",
      ].sort(),
    );
    const seenUpdate = updates.find((u) => u?.Key?.pk?.S === "SEEN#2018-05-20#us/or/portland");
    expect(seenUpdate?.ConditionExpression).toBe("#version = :read");
    expect(seenUpdate?.ExpressionAttributeValues?.[":read"]).toEqual({ N: "3" });
    expect(seenUpdate?.ExpressionAttributeValues?.[":ids"]).toEqual({
      SS: ["1700000002@1526812000000"],
    });
    const fresh = updates.find((u) => u?.Key?.pk?.S === "SEEN#2018-05-20#us/me/portland");
    expect(fresh?.ConditionExpression).toBe("attribute_not_exists(pk)");
    const day = updates.find(
      (u) => u?.Key?.pk?.S === "DAY#2018-05-20#us" && u.Key.sk?.S === "us/or/portland",
    );
    expect(day?.ExpressionAttributeValues).toMatchObject({
      ":rsvps": { N: "1" },
      ":yes": { N: "0" },
      ":no": { N: "1" },
    });
    const allTime = updates.find(
      (u) => u?.Key?.pk?.S === "ALL#us" && u.Key.sk?.S === "us/or/portland",
    );
    expect(allTime?.UpdateExpression).not.toContain("expiresAt");
  });

  it("plans nothing when everything was counted before", () => {
    const messages = [message(1, Date.UTC(2026, 0, 1, 5), "a")];
    const seen = new Map([
      [
        keyId(itemKeys.seen("2026-01-01", "a", "05")),
        { ids: new Set([`1@${Date.UTC(2026, 0, 1, 5)}`]), version: 1 },
      ],
    ]);
    expect(planTransactions(messages, seen, options)).toEqual({
      transactions: [],
      counted: 0,
      alreadyCounted: 1,
    });
  });

  it("keeps every transaction within DynamoDB's limits: at most 100 actions, no item twice", () => {
    const arbitraryMessage = fc
      .record({
        rsvpId: fc.integer({ min: 1, max: 400 }),
        hour: fc.integer({ min: 0, max: 23 }),
        day: fc.integer({ min: 0, max: 3 }),
        city: fc.integer({ min: 0, max: 60 }),
      })
      .map(({ rsvpId, hour, day, city }) =>
        message(rsvpId, Date.UTC(2026, 0, 1 + day, hour), `c${city}`),
      );
    fc.assert(
      fc.property(fc.array(arbitraryMessage, { maxLength: 600 }), (messages) => {
        const unique = [...new Map(messages.map((m) => [m.id, m])).values()];
        const plan = planTransactions(unique, new Map(), options);
        let counted = 0;
        for (const transaction of plan.transactions) {
          expect(transaction.length).toBeLessThanOrEqual(MAX_TRANSACTION_ACTIONS);
          const keys = transaction.map((a) => `${a.Update?.Key?.pk?.S}|${a.Update?.Key?.sk?.S}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const action of transaction) {
            if (action.Update?.Key?.pk?.S?.startsWith("DAY#"))
              counted += Number(action.Update.ExpressionAttributeValues?.[":rsvps"]?.N);
          }
        }
        expect(counted).toBe(unique.length);
        expect(plan.counted).toBe(unique.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe("processBatch when DynamoDB pushes back", () => {
  const conflict = () =>
    new TransactionCanceledException({
      message: "Transaction cancelled",
      $metadata: {},
      CancellationReasons: [{ Code: "ConditionalCheckFailed" }],
    });

  it("maps a failed condition to a conflict, and rethrows anything else", async () => {
    const dynamodb = mockClient(DynamoDBClient);
    const store = dynamoCountsStore(new DynamoDBClient({ region: "us-east-1" }), "counts");
    dynamodb
      .on(TransactWriteItemsCommand)
      .rejectsOnce(conflict())
      .rejectsOnce(new Error("throttled"));
    expect(await store.applyTransaction([])).toBe("conflict");
    await expect(store.applyTransaction([])).rejects.toThrow("throttled");
    dynamodb.restore();
  });

  it("re-reads and re-plans after a conflict, and gives up after the last attempt", async () => {
    let reads = 0;
    let conflictsLeft = 2;
    const store: CountsStore = {
      readSeen: async () => {
        reads += 1;
        return new Map();
      },
      applyTransaction: async () => (conflictsLeft-- > 0 ? "conflict" : "applied"),
      putDeadLetters: async () => {},
    };
    const records = messagesOf(fixture);
    const result = await processBatch(records, { store, tableName: "counts", ttlSeconds: 60 });
    expect(reads).toBe(3);
    expect(result).toMatchObject({
      records: 5,
      counted: 3,
      duplicates: 1,
      deadLettered: 1,
      transactions: 1,
    });

    conflictsLeft = Number.POSITIVE_INFINITY;
    await expect(
      processBatch(records, { store, tableName: "counts", ttlSeconds: 60, maxAttempts: 4 }),
    ).rejects.toThrow(ConcurrentUpdateError);
  });
});
