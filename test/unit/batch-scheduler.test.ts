/**
 * When `npm start` runs the daily batch (local/pipeline/batch-scheduler.ts): a first batch some
 * time in, the next one a fixed gap after each ends, one at a time, and nothing after stop().
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BatchScheduler } from "../../local/pipeline/batch-scheduler.js";

const MINUTE = 60_000;

/** A job whose batches take `takesMs` of (fake) time; records when each started and why. */
function recordingJob(takesMs: number) {
  const started: { at: number; why: string }[] = [];
  const job = async (why: string) => {
    started.push({ at: Date.now(), why });
    await new Promise((resolve) => setTimeout(resolve, takesMs));
    return `batch ${started.length}`;
  };
  return { started, job };
}

describe("BatchScheduler", () => {
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  it("runs the first batch after the delay, then every gap after the previous one ends", async () => {
    const { started, job } = recordingJob(3 * MINUTE);
    const scheduler = new BatchScheduler({ job, everyMs: 15 * MINUTE });
    scheduler.schedule(120_000);
    await vi.advanceTimersByTimeAsync(119_999);
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual([{ at: 120_000, why: "scheduled" }]);
    expect(scheduler.running).toBe(true);
    // Ends at 2 + 3 minutes; the next starts 15 minutes after that, and so on.
    await vi.advanceTimersByTimeAsync(40 * MINUTE);
    expect(started.map((run) => run.at)).toEqual([2 * MINUTE, 20 * MINUTE, 38 * MINUTE]);
    expect(scheduler.last).toBe("batch 3");
    expect(scheduler.running).toBe(false);
    await scheduler.stop();
  });

  it("with a gap of 0 runs the scheduled batch once", async () => {
    const { started, job } = recordingJob(1000);
    const scheduler = new BatchScheduler({ job, everyMs: 0 });
    scheduler.schedule(5000);
    await vi.advanceTimersByTimeAsync(24 * 60 * MINUTE);
    expect(started).toHaveLength(1);
    expect(scheduler.running).toBe(false);
    expect(scheduler.last).toBe("batch 1");
  });

  it("runs one batch at a time: asked while one runs, it answers with that one", async () => {
    const { started, job } = recordingJob(10_000);
    const scheduler = new BatchScheduler({ job, everyMs: 0 });
    const first = scheduler.run("the recording is replayed");
    await vi.advanceTimersByTimeAsync(5000);
    const second = scheduler.run("the replay is counted");
    expect(second).toBe(first);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await second).toBe("batch 1");
    expect(started.map((run) => run.why)).toEqual(["the recording is replayed"]);
    // Once it has ended, the next request starts a new one.
    const third = scheduler.run("again");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await third).toBe("batch 2");
  });

  it("a new schedule replaces the pending one (a recording replayed before the first batch)", async () => {
    const { started, job } = recordingJob(1000);
    const scheduler = new BatchScheduler({ job, everyMs: 15 * MINUTE });
    scheduler.schedule(120_000);
    await vi.advanceTimersByTimeAsync(60_000);
    scheduler.schedule(0, "the recording is replayed");
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100_000);
    expect(started).toEqual([{ at: 60_000, why: "the recording is replayed" }]);
    await vi.advanceTimersByTimeAsync(15 * MINUTE);
    expect(started.map((run) => run.why)).toEqual(["the recording is replayed", "scheduled"]);
    await scheduler.stop();
  });

  it("stop() waits for the batch in progress and starts no more", async () => {
    const { started, job } = recordingJob(30_000);
    const scheduler = new BatchScheduler({ job, everyMs: MINUTE });
    scheduler.schedule(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(scheduler.running).toBe(true);
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(scheduler.last).toBe("batch 1");
    scheduler.schedule(0);
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(started).toHaveLength(1);
  });

  it("stop() cancels a batch not yet started, and resolves at once", async () => {
    const { started, job } = recordingJob(1000);
    const scheduler = new BatchScheduler({ job, everyMs: MINUTE });
    scheduler.schedule(120_000);
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(started).toEqual([]);
  });
});
