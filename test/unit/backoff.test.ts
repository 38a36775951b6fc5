import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, backoffPause } from "../../functions/shared/backoff.js";

describe("backoffDelay", () => {
  const options = { baseMs: 500, capMs: 30_000 };

  it("grows exponentially to the cap, with full jitter below it", () => {
    expect(
      [0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, options, () => 0.999999)),
    ).toEqual([499, 999, 1999, 3999, 29_999]);
    expect(backoffDelay(5, options, () => 0)).toBe(0);
  });

  it("stays at the cap however many attempts, and is a whole number of ms", () => {
    expect(backoffDelay(5000, options, () => 0.5)).toBe(15_000);
    expect(Number.isInteger(backoffDelay(3, { baseMs: 7, capMs: 1000 }, () => 0.3))).toBe(true);
  });

  it("spreads over the whole range with the real random", () => {
    const delays = Array.from({ length: 2000 }, () =>
      backoffDelay(2, { baseMs: 100, capMs: 1000 }),
    );
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(350);
    expect(Math.max(...delays)).toBeLessThan(400);
  });
});

describe("backoffPause", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits the drawn delay", async () => {
    vi.useFakeTimers();
    let settled = false;
    // Attempt 2 of base 400: a ceiling of 1600 ms, half of which is drawn.
    const pause = backoffPause(2, { baseMs: 400, capMs: 10_000 }, () => 0.5).then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(799);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    await pause;
  });
});
