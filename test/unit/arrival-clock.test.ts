import { describe, expect, it } from "vitest";
import { createArrivalClock } from "../../tasks/ingest/arrival-clock.js";

describe("the ingest's arrival clock", () => {
  it("stamps in microseconds of the wall clock, rising strictly within one millisecond", () => {
    let now = 1_700_000_000_123;
    const stamp = createArrivalClock(() => now);
    expect([stamp(), stamp(), stamp()]).toEqual([
      1_700_000_000_123_000, 1_700_000_000_123_001, 1_700_000_000_123_002,
    ]);
    now += 1;
    expect(stamp()).toBe(1_700_000_000_124_000);
  });

  it("never goes back when the wall clock does", () => {
    let now = 1_700_000_000_000;
    const stamp = createArrivalClock(() => now);
    const before = stamp();
    now -= 5_000;
    expect(stamp()).toBe(before + 1);
  });

  it("a task started later stamps after everything its predecessor stamped", () => {
    const first = createArrivalClock(() => 1_700_000_000_000);
    let last = 0;
    for (let i = 0; i < 999; i++) last = first();
    const next = createArrivalClock(() => 1_700_000_000_001);
    expect(next()).toBeGreaterThan(last);
  });
});
