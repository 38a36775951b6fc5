import { describe, expect, it } from "vitest";
import { BufferedSender } from "../../functions/ingest/buffered-sender.js";

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
      intervalMs: 5,
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

  it("says how much it could not send when the sink never recovers", async () => {
    const sink = flakySink(Number.POSITIVE_INFINITY);
    const sender = new BufferedSender<number>({
      name: "kafka",
      send: sink.send,
      maxBatch: 10,
      intervalMs: 1,
      maxFailuresWhileDraining: 3,
    });
    for (let i = 0; i < 20; i++) sender.push(i);
    await expect(sender.drain()).rejects.toThrow(
      /^kafka: 20 items could not be sent: sink unavailable/,
    );
    expect(() => sender.push(21)).toThrow(/push after drain/);
  });
});
