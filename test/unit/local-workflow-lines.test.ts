/** What the local daily batch says while it runs (local/batch/local-workflow.ts). */
import { describe, expect, it, vi } from "vitest";
import { describeStep, whileSaying } from "../../local/batch/local-workflow.js";

describe("describeStep", () => {
  it("names the job and its own arguments, not the buckets and the timeout wrapper", () => {
    const args = [
      "timeout",
      "4800",
      "spark-submit",
      "--deploy-mode",
      "client",
      "file:///repo/spark/curate_rsvps.py",
      "--input",
      "s3://raw/rsvps",
      "--output",
      "s3://curated",
      "--range",
      "all",
      "--as-of",
      "2026-12-06T03:20:13.116Z",
    ];
    expect(describeStep(args)).toBe(
      "spark-submit curate_rsvps.py --range all --as-of 2026-12-06T03:20:13.116Z (Spark in local mode, the step's limit 4800 s)",
    );
    // What it cannot read, it shows as it is.
    expect(describeStep(["python", "x.py"])).toBe("python x.py");
  });
});

describe("whileSaying", () => {
  it("says how long a long task has run, every interval, and stops when it settles", async () => {
    vi.useFakeTimers();
    try {
      const said: number[] = [];
      let finish: (value: string) => void = () => {};
      const work = new Promise<string>((resolve) => {
        finish = resolve;
      });
      const watched = whileSaying(work, (seconds) => said.push(seconds), 10_000);
      await vi.advanceTimersByTimeAsync(9_999);
      expect(said).toEqual([]);
      await vi.advanceTimersByTimeAsync(20_001);
      expect(said).toEqual([10, 20, 30]);
      finish("done");
      await expect(watched).resolves.toBe("done");
      await vi.advanceTimersByTimeAsync(60_000);
      expect(said).toEqual([10, 20, 30]);
    } finally {
      vi.useRealTimers();
    }
  });
});
