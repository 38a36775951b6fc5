/**
 * The daily batch's CheckRange Lambda (functions/batch-range/): the range an execution was
 * started with, resolved as the Spark job and the other Lambdas resolve it, or refused with
 * InvalidBatchRangeError and the reason, and raw data found on its landing days or the run
 * refused with NoRawDataInRangeError, before any cluster exists.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type BatchRangeDependencies,
  checkRange as check,
} from "../../functions/batch-range/check-range.js";
import { landingDays } from "../../functions/batch-range/raw-landed.js";
import { LANDING_LAG_DAYS } from "../../functions/shared/batch-range.js";
import { listingS3 } from "../support/listing-s3.js";
import { sampleEvent } from "../support/sample-events.js";

const STARTED = "2026-12-04T02:00:00.123Z";
const RAW = { bucket: "raw", prefix: "rsvps/" };
/** A raw bucket where something landed on every day (the key right after the first asked). */
const everyDay: BatchRangeDependencies = {
  raw: RAW,
  s3: listingS3((input) => [
    input.StartAfter ? `${input.StartAfter}/part-0.gz` : "rsvps/dt=2018-05-20/part-0.gz",
  ]),
};
const checkBatchRange = (event: unknown) => check(event, everyDay);

describe("checkBatchRange", () => {
  it("resolves yesterday against the execution's start, a day, a range and all", async () => {
    expect(await checkBatchRange({ range: "yesterday", startedAt: STARTED })).toEqual({
      range: "yesterday",
      all: false,
      first: "2026-12-03",
      last: "2026-12-03",
    });
    expect(await checkBatchRange({ range: "2018-05-20", startedAt: STARTED })).toMatchObject({
      first: "2018-05-20",
      last: "2018-05-20",
    });
    expect(await checkBatchRange(sampleEvent("batch-range.json"))).toMatchObject({
      first: "2018-05-20",
      last: "2018-05-26",
    });
    expect(await checkBatchRange({ range: "all", startedAt: STARTED })).toEqual({
      range: "all",
      all: true,
    });
  });

  it.each([
    ["2018-5-20", /range must be yesterday, all, YYYY-MM-DD or YYYY-MM-DD\.\.YYYY-MM-DD/],
    ["20180520", /range must be/],
    ["2018-02-30", /range must be/],
    ["2018-05-26..2018-05-20", /range ends before it starts: 2018-05-26\.\.2018-05-20/],
    ["2018-05-20..2018-05-21..2018-05-22", /range must be/],
    ["last week", /range must be/],
  ])("refuses %s with InvalidBatchRangeError and the reason", async (range, reason) => {
    const refused = checkBatchRange({ range, startedAt: STARTED });
    await expect(refused).rejects.toThrow(reason);
    await expect(refused).rejects.toThrow(
      expect.objectContaining({ name: "InvalidBatchRangeError" }),
    );
  });

  it("refuses an event without a range or a start time as InvalidBatchRangeError", async () => {
    await expect(checkBatchRange({ startedAt: STARTED })).rejects.toThrow(
      expect.objectContaining({ name: "InvalidBatchRangeError" }),
    );
    await expect(checkBatchRange({ range: "all", startedAt: "yesterday" })).rejects.toThrow(
      /not a batch-range event/,
    );
  });
});

describe("raw data for the run, found before its cluster", () => {
  const withKeys = (keys: string[]) => ({ raw: RAW, s3: listingS3(keys) });
  const refusal = (range: string, keys: string[]) =>
    check({ range, startedAt: STARTED }, withKeys(keys)).then(
      () => undefined,
      (error: Error) => error,
    );

  it("reads the Spark job's landing lag: a run reads its range's days and that many after", () => {
    const python = readFileSync(new URL("../../spark/curate_rsvps.py", import.meta.url), "utf8");
    expect(Number(/^LANDING_LAG_DAYS = (\d+)$/m.exec(python)?.[1])).toBe(LANDING_LAG_DAYS);
    expect(landingDays({ all: false, first: "2018-05-20", last: "2018-05-26" })).toEqual({
      first: "2018-05-20",
      last: "2018-05-28",
    });
    expect(landingDays({ all: false, first: "2024-02-28", last: "2024-02-28" })?.last).toBe(
      "2024-03-01",
    );
    expect(landingDays({ all: true })).toBeNull();
  });

  it("goes on when anything landed on a landing day, the lag's last day included", async () => {
    for (const key of [
      "rsvps/dt=2018-05-20/rsvps-1-2018-05-20-00-00-01-abc.gz",
      "rsvps/dt=2018-05-22/part.gz",
    ]) {
      await expect(
        check({ range: "2018-05-20", startedAt: STARTED }, withKeys([key])),
      ).resolves.toMatchObject({ first: "2018-05-20" });
    }
    const s3 = listingS3(["rsvps/dt=2018-05-21/a.gz", "rsvps/dt=2018-05-21/b.gz"]);
    await check({ range: "2018-05-20..2018-05-26", startedAt: STARTED }, { raw: RAW, s3 });
    // One request however long the range: the first key on or after its first day.
    expect(s3.requests).toEqual([
      { Bucket: "raw", Prefix: "rsvps/dt=", StartAfter: "rsvps/dt=2018-05-20", MaxKeys: 100 },
    ]);
  });

  it("refuses a run nothing landed for, before or after its days, with where it looked", async () => {
    for (const keys of [
      [],
      ["rsvps/dt=2018-05-19/late-evening.gz"],
      ["rsvps/dt=2018-05-23/too-late.gz"],
      ["errors/processing-failed/dt=2018-05-20/x.gz", "rsvps_$folder$"],
      // Not in a day folder (nothing Firehose writes), though it sorts among the range's days.
      ["rsvps/dt=2018-05-200", "rsvps/dt=2018-05-21.gz"],
    ]) {
      const error = await refusal("2018-05-20", keys);
      expect(error?.name, keys.join()).toBe("NoRawDataInRangeError");
      expect(error?.message).toBe(
        "no raw RSVPs landed in s3://raw/rsvps/ on 2018-05-20..2018-05-22 (the range and the 2 days after it, when late records land): nothing to curate, so no cluster was created",
      );
    }
    // "yesterday" is the day before the execution's start.
    expect((await refusal("yesterday", ["rsvps/dt=2026-12-02/x.gz"]))?.message).toContain(
      "on 2026-12-03..2026-12-05",
    );
  });

  it("tries S3 again while it fails for a moment (5xx), and refuses nothing for it", async () => {
    let calls = 0;
    const s3 = listingS3(() => {
      calls += 1;
      if (calls <= 2)
        throw Object.assign(new Error("Please reduce your request rate."), {
          name: "SlowDown",
          $metadata: { httpStatusCode: 503 },
        });
      return ["rsvps/dt=2018-05-20/x.gz"];
    });
    const pauses: number[] = [];
    const checked = await check(
      { range: "2018-05-20", startedAt: STARTED },
      { raw: RAW, s3, pause: async (attempt) => void pauses.push(attempt) },
    );
    expect(checked).toMatchObject({ first: "2018-05-20" });
    expect(calls).toBe(3);
    expect(pauses).toEqual([1, 2]);
    // A refusal (nothing landed) is not tried again.
    let asked = 0;
    const empty = listingS3(() => {
      asked += 1;
      return [];
    });
    await expect(
      check(
        { range: "2018-05-20", startedAt: STARTED },
        { raw: RAW, s3: empty, pause: async () => {} },
      ),
    ).rejects.toThrow(expect.objectContaining({ name: "NoRawDataInRangeError" }));
    expect(asked).toBe(1);
  });

  it("for all, goes on when anything landed at all, and refuses an empty raw folder", async () => {
    await expect(
      check({ range: "all", startedAt: STARTED }, withKeys(["rsvps/dt=2018-05-20/x.gz"])),
    ).resolves.toEqual({ range: "all", all: true });
    expect((await refusal("all", []))?.message).toBe(
      "no raw RSVPs landed in s3://raw/rsvps/ at all: nothing to curate, so no cluster was created",
    );
  });
});
