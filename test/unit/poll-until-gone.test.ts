/**
 * The one wait of the stack's cleanups (network interfaces, EMR's endpoints, executions,
 * clusters): how many looks, when it gives up, and what it says while it waits.
 */
import { describe, expect, it } from "vitest";
import { pollUntilGone } from "../../functions/stack-cleanup/cleanup-resource.js";
import { sleepClock } from "../support/sleep-clock.js";

/** A look that finds `left` items on its first looks, then nothing. */
const looksFinding = (...left: number[]) => {
  let looks = 0;
  return async () => {
    const found = left[looks++];
    return found === undefined || found === 0 ? undefined : found;
  };
};

describe("pollUntilGone", () => {
  it("looks once and sleeps not at all when nothing is left", async () => {
    const time = sleepClock();
    const looks = await pollUntilGone(
      { pollMs: 1_000, deadline: 10_000, ...time },
      looksFinding(),
      {
        tooLate: () => new Error("too late"),
      },
    );
    expect(looks).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it("sleeps pollMs between looks and says what is left each time", async () => {
    const time = sleepClock();
    const waited: number[] = [];
    const looks = await pollUntilGone(
      { pollMs: 1_000, deadline: 10_000, ...time },
      looksFinding(3, 2, 1),
      { waiting: (left) => waited.push(left), tooLate: () => new Error("too late") },
    );
    expect(looks).toBe(4);
    expect(time.sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(waited).toEqual([3, 2, 1]);
  });

  it("throws what tooLate makes of the last look when the next would pass the deadline", async () => {
    const time = sleepClock();
    const never = async () => 7;
    await expect(
      pollUntilGone({ pollMs: 1_000, deadline: 2_500, ...time }, never, {
        tooLate: (left) => new Error(`${left} left`),
      }),
    ).rejects.toThrow("7 left");
    // Looks at 0, 1,000 and 2,000 ms; a fourth at 3,000 would be past 2,500.
    expect(time.sleeps).toEqual([1_000, 1_000]);
  });

  it("still takes the look that lands exactly on the deadline", async () => {
    const time = sleepClock();
    const looks = await pollUntilGone(
      { pollMs: 1_000, deadline: 2_000, ...time },
      looksFinding(1, 1),
      { tooLate: () => new Error("too late") },
    );
    expect(looks).toBe(3);
  });
});
