import { describe, expect, it, vi } from "vitest";
import { BufferedSender, PartlySentError } from "../../tasks/ingest/buffered-sender.js";

function flakySink(failures: number) {
  const delivered: number[][] = [];
  let attempts = 0;
  return {
    delivered,
    attempts: () => attempts,
    send: async (items: number[]) => {
      attempts += 1;
      if (attempts <= failures) throw new Error(`sink unavailable (attempt ${attempts})`);
      delivered.push([...items]);
    },
  };
}

describe("BufferedSender", () => {
  it("sends in bounded batches and, after failures, loses and reorders nothing", async () => {
    const sink = flakySink(3);
    const failures: number[] = [];
    const sender = new BufferedSender<number>({
      name: "test",
      send: sink.send,
      maxBatch: 7,
      retryDelayMs: 5,
      onFailure: (_e, queued) => failures.push(queued),
    });
    for (let i = 0; i < 50; i++) sender.push(i);
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (let i = 50; i < 100; i++) sender.push(i);
    await sender.drain();
    expect(sink.delivered.flat()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Math.max(...sink.delivered.map((batch) => batch.length))).toBeLessThanOrEqual(7);
    expect(failures).toHaveLength(3);
    expect(sender.sent).toBe(100);
  });

  it("sends a failed batch again as it was, not joined by items that arrived meanwhile", async () => {
    // Kafka's idempotent producer: a failed send the broker had appended is recognised when the
    // same records come again, and refused for good when newer ones come with them.
    const attempts: number[][] = [];
    let failuresLeft = 2;
    const sender = new BufferedSender<number>({
      name: "test",
      send: async (items) => {
        attempts.push([...items]);
        if (failuresLeft-- > 0) {
          // Newer items arrive while the failing send is under way.
          sender.push(100 + attempts.length);
          throw new Error("answer lost");
        }
      },
      maxBatch: 10,
      lingerMs: 0,
      retryDelayMs: 1,
    });
    sender.push(1);
    sender.push(2);
    while (sender.sent < 4) await new Promise((resolve) => setTimeout(resolve, 1));
    await sender.drain();
    expect(attempts).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
      [101, 102],
    ]);
    expect(sender.sent).toBe(4);
  });

  it("with several batches at once, sends a failed one again as it was, beside newer ones", async () => {
    const attempts: number[][] = [];
    let failed = false;
    const sender = new BufferedSender<number>({
      name: "test",
      send: async (items) => {
        attempts.push([...items]);
        if (items.includes(3) && !failed) {
          failed = true;
          sender.push(4); // arrives while the failing send is under way
          throw new Error("answer lost");
        }
      },
      maxBatch: 2,
      concurrency: 2,
      lingerMs: 0,
      retryDelayMs: 1,
    });
    for (const item of [1, 2, 3]) sender.push(item);
    while (sender.sent < 4) await new Promise((resolve) => setTimeout(resolve, 1));
    await sender.drain();
    expect(attempts).toEqual([[1, 2], [3], [3], [4]]);
    expect(sender.sent).toBe(4);
  });

  it("sends several batches at once when asked, and still loses and doubles nothing", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    let calls = 0;
    const delivered: number[] = [];
    const sender = new BufferedSender<number>({
      name: "firehose",
      maxBatch: 10,
      concurrency: 3,
      retryDelayMs: 1,
      send: async (items) => {
        calls += 1;
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
        // Every fourth call fails: its batch must come back, once.
        if (calls % 4 === 0) throw new Error("throttled");
        delivered.push(...items);
      },
    });
    for (let i = 0; i < 200; i++) sender.push(i);
    await sender.drain();
    expect(mostInFlight).toBe(3);
    expect([...delivered].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(sender.sent).toBe(200);
  });

  it("waits twice as long after each failure in a row, up to a limit, and says how long it has failed", async () => {
    // A sink that refuses for good (a grant missing) must not be asked ten times a second.
    vi.useFakeTimers();
    try {
      const triedAt: number[] = [];
      const streaks: { failures: number; since: number }[] = [];
      let failing = true;
      const sender = new BufferedSender<number>({
        name: "kafka",
        maxBatch: 10,
        lingerMs: 0,
        retryDelayMs: 100,
        maxRetryDelayMs: 1_000,
        send: async () => {
          triedAt.push(Date.now());
          if (failing) throw new Error("TOPIC_AUTHORIZATION_FAILED");
        },
        onFailure: (_error, _queued, streak) => streaks.push(streak),
      });
      const start = Date.now();
      sender.push(1);
      await vi.advanceTimersByTimeAsync(4_000);
      expect(triedAt.map((at) => at - start)).toEqual([0, 100, 300, 700, 1_500, 2_500, 3_500]);
      expect(streaks.map((streak) => streak.failures)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(new Set(streaks.map((streak) => streak.since))).toEqual(new Set([start]));

      // A success ends the streak: the next failure is the first of a new one, soon retried.
      failing = false;
      await vi.advanceTimersByTimeAsync(1_000);
      expect(sender.sent).toBe(1);
      failing = true;
      const again = Date.now();
      sender.push(2);
      await vi.advanceTimersByTimeAsync(150);
      expect(streaks.slice(-2)).toEqual([
        { failures: 1, since: again },
        { failures: 2, since: again },
      ]);
      failing = false;
      const drained = sender.drain();
      await vi.advanceTimersByTimeAsync(1_000);
      await drained;
    } finally {
      vi.useRealTimers();
    }
  });

  it("dates a streak from when its first failing send started, not when it gave up", async () => {
    vi.useFakeTimers();
    try {
      const streaks: { failures: number; since: number }[] = [];
      let sends = 0;
      const sender = new BufferedSender<number>({
        name: "firehose",
        maxBatch: 10,
        lingerMs: 0,
        retryDelayMs: 100,
        // A call that hangs 30 s and then fails (a silent connection), then one that goes.
        send: async () => {
          sends += 1;
          if (sends === 1) {
            await new Promise((resolve) => setTimeout(resolve, 30_000));
            throw new Error("TimeoutError");
          }
        },
        onFailure: (_error, _queued, streak) => streaks.push(streak),
      });
      const start = Date.now();
      sender.push(1);
      await vi.advanceTimersByTimeAsync(31_000);
      expect(streaks).toEqual([{ failures: 1, since: start }]);
      const drained = sender.drain();
      await vi.advanceTimersByTimeAsync(1_000);
      await drained;
      expect(sender.sent).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sends again only what a partly sent batch names as unsent", async () => {
    const attempts: number[][] = [];
    const sender = new BufferedSender<number>({
      name: "firehose",
      maxBatch: 10,
      lingerMs: 0,
      retryDelayMs: 1,
      send: async (items) => {
        attempts.push([...items]);
        // The first send lands the even items only.
        if (attempts.length === 1)
          throw new PartlySentError(
            new Error("2 records still failing"),
            items.filter((item) => item % 2 === 1),
          );
      },
    });
    for (const item of [0, 1, 2, 3]) sender.push(item);
    await sender.drain();
    expect(attempts).toEqual([
      [0, 1, 2, 3],
      [1, 3],
    ]);
    expect(sender.sent).toBe(4);
    expect(sender.failures).toBe(1);
  });

  it("sends an item pushed to an idle sender after the linger, not a polling interval", async () => {
    // On a fake clock, so the test holds on a loaded machine: nothing at 4 ms, the batch at 5.
    vi.useFakeTimers();
    try {
      const sentAt: number[] = [];
      const sender = new BufferedSender<number>({
        name: "kafka",
        maxBatch: 100,
        lingerMs: 5,
        retryDelayMs: 10_000,
        send: async () => {
          sentAt.push(Date.now());
        },
      });
      await vi.advanceTimersByTimeAsync(50); // idle
      const pushedAt = Date.now();
      sender.push(1);
      sender.push(2);
      await vi.advanceTimersByTimeAsync(4);
      expect(sentAt).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(sentAt).toEqual([pushedAt + 5]); // one batch of both, at the linger
      await vi.advanceTimersByTimeAsync(500);
      expect(sentAt).toHaveLength(1);
      const drained = sender.drain();
      await vi.advanceTimersByTimeAsync(100);
      await drained;
    } finally {
      vi.useRealTimers();
    }
  });

  it("cuts a batch before the item that would take it over maxBatchBytes, sends one over it alone, and sends a failed one again as it was", async () => {
    // A Kafka broker refuses a record batch over message.max.bytes for good: a batch too big,
    // sent again as it was, would never go.
    const sink = flakySink(1);
    const sender = new BufferedSender<number>({
      name: "test",
      send: sink.send,
      maxBatch: 4,
      maxBatchBytes: 100,
      sizeOf: (size) => size,
      retryDelayMs: 1,
    });
    for (const size of [30, 30, 30, 30, 250, 10, 60, 60, 1, 1, 1, 1, 1]) sender.push(size);
    await sender.drain();
    expect(sink.delivered).toEqual([[30, 30, 30], [30], [250], [10, 60], [60, 1, 1, 1], [1, 1]]);
    expect(sink.attempts()).toBe(7); // the first batch twice
  });

  it("counts the items of a send under way as unsent, and none once it is through", async () => {
    let release: () => void = () => {};
    const sender = new BufferedSender<number>({
      name: "test",
      send: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      maxBatch: 3,
      lingerMs: 0,
    });
    for (let i = 0; i < 5; i++) sender.push(i);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sender.queued).toBe(2); // the first three are being sent
    expect(sender.unsent).toBe(5);
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await sender.drain();
    expect(sender.unsent).toBe(0);
    expect(sender.sent).toBe(5);
  });

  it("drains a sink that fails now and then, however many failures that makes in all", async () => {
    let attempts = 0;
    const delivered: number[] = [];
    const sender = new BufferedSender<number>({
      name: "kafka",
      // Every other send fails: 10 failures in all over 10 batches, never 2 in a row.
      send: async (items) => {
        attempts += 1;
        if (attempts % 2 === 1) throw new Error(`sink unavailable (attempt ${attempts})`);
        delivered.push(...items);
      },
      maxBatch: 2,
      retryDelayMs: 1,
      maxFailuresWhileDraining: 3,
    });
    for (let i = 0; i < 20; i++) sender.push(i);
    await sender.drain();
    expect(delivered).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(attempts).toBe(20);
  });

  it("drains a sink that takes part of every round, though every round fails", async () => {
    const delivered: number[] = [];
    const sender = new BufferedSender<number>({
      name: "firehose",
      // Each send takes its first item and refuses the rest, as a throttled Firehose answers.
      send: async (items) => {
        delivered.push(items[0] as number);
        if (items.length > 1) throw new PartlySentError(new Error("throttled"), items.slice(1));
      },
      maxBatch: 20,
      retryDelayMs: 1,
      maxRetryDelayMs: 1,
      maxFailuresWhileDraining: 3,
    });
    for (let i = 0; i < 12; i++) sender.push(i);
    await sender.drain();
    expect(delivered).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it("says how much it could not send when the sink never recovers", async () => {
    const sink = flakySink(Number.POSITIVE_INFINITY);
    const sender = new BufferedSender<number>({
      name: "kafka",
      send: sink.send,
      maxBatch: 10,
      retryDelayMs: 1,
      maxFailuresWhileDraining: 3,
    });
    for (let i = 0; i < 20; i++) sender.push(i);
    await expect(sender.drain()).rejects.toThrow(
      /^kafka: 20 items could not be sent: sink unavailable/,
    );
    expect(() => sender.push(21)).toThrow(/push after drain/);
  });
});
