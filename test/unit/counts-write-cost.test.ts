/**
 * What the counting's writes cost, by DynamoDB's documented rules (local/dynamodb/write-units.ts:
 * 1 WRU per started KB of the larger of an item's before and after images; DynamoDB Developer
 * Guide, "Read/write capacity mode"), from the items the real processBatch writes. The counting
 * writes single items, no transactions (counting.ts): a changed RSVP's state, then each counter
 * its batch moves, once. So an RSVP alone in its batch costs 3 WRU (its state and its two
 * counters), and a city's RSVPs share their counters within a batch: the cost per RSVP falls,
 * never grows, with a city's volume. bench/counts-cost prints the same figures for whole feeds;
 * this pins them so a new write cannot move them unnoticed.
 */
import { describe, expect, it } from "vitest";
import { processBatch } from "../../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../../functions/shared/msk-event.js";
import { CostModelStore } from "../../local/dynamodb/cost-model-store.js";

const NOON = Date.UTC(2026, 11, 4, 12);
let offset = 0;

function message(rsvpId: number, mtime: number, response: "yes" | "no", cityName = "New York") {
  const record = {
    v: 1,
    rsvpId,
    mtime,
    response,
    guests: 1,
    city: { key: `us/ny/${cityName.toLowerCase()}`, country: "us", state: "NY", name: cityName },
  };
  offset += 1;
  return { topic: "meetup", partition: 0, offset, value: JSON.stringify(record) };
}

/** One Lambda container: a table, and the day markers the handler keeps across batches. */
function container() {
  const store = new CostModelStore();
  const markedDays = new Set<string>();
  /** Counts one batch and answers the write units it cost. */
  const count = async (batch: KafkaMessage[]) => {
    const before = store.writeUnits;
    await processBatch(batch, {
      store,
      tableName: "counts",
      stateTtlSeconds: 14 * 86_400,
      keepAliveSeconds: 170 * 3_600,
      now: () => NOON,
      markedDays,
    });
    return store.writeUnits - before;
  };
  return { store, count };
}

describe("write units per RSVP (DynamoDB's size rules, single-item writes)", () => {
  it("an RSVP alone in its batch costs 3 WRU, and so does a change of its answer alone", async () => {
    const { count, store } = container();
    await count([message(1, NOON, "yes")]);
    // Its state (with the change pending), its day counter, its all-time counter.
    expect(await count([message(2, NOON + 1_000, "yes")])).toBe(3);
    // The state again (the first change, taken by both counters, leaves it), both counters.
    expect(await count([message(2, NOON + 2_000, "no")])).toBe(3);
    // An exact duplicate and an older version write nothing.
    expect(await count([message(2, NOON + 2_000, "no")])).toBe(0);
    expect(await count([message(2, NOON + 1_500, "yes")])).toBe(0);
    // Every item is under 1 KB: each write is one unit.
    expect(store.largestItem).toBeLessThanOrEqual(1024);
  });

  it("a container's first counts of a UTC day add the day's marker once (1 WRU)", async () => {
    const { count } = container();
    expect(await count([message(1, NOON, "yes")])).toBe(4);
    expect(await count([message(2, NOON + 1_000, "yes")])).toBe(3);
    const nextDay = NOON + 86_400_000;
    expect(await count([message(3, nextDay, "yes")])).toBe(4);
    expect(await count([message(4, nextDay + 1_000, "yes")])).toBe(3);
  });

  it("n RSVPs of one city in one batch share its two counters: n + 2 WRU, 1 + 2/n each", async () => {
    for (const n of [1, 2, 5, 20, 45]) {
      const { count } = container();
      await count([message(1_000_000, NOON, "yes")]);
      const batch = Array.from({ length: n }, (_, i) =>
        message(10_000 + i, NOON + i, i % 3 === 0 ? "no" : "yes"),
      );
      expect(await count(batch), `n = ${n}`).toBe(n + 2);
    }
  });

  it("RSVPs of different cities in one batch each pay their own city's counters", async () => {
    const { count } = container();
    await count([message(1, NOON, "yes")]);
    const batch = [
      message(2, NOON + 1, "yes", "New York"),
      message(3, NOON + 2, "yes", "Brooklyn"),
      message(4, NOON + 3, "no", "New York"),
    ];
    // Three states, New York's two counters, Brooklyn's two: 7 items.
    expect(await count(batch)).toBe(7);
  });

  it("an older version from the day before moves the RSVP's count to that day: 5 WRU", async () => {
    const { count } = container();
    await count([message(1, NOON, "yes")]);
    // The state; both days' counters; the all-time counter, whose delta is zero but whose
    // fence must take the change before the state may forget it; the earlier day's marker.
    expect(await count([message(1, NOON - 86_400_000, "yes")])).toBe(5);
  });
});
