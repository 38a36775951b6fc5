/**
 * The daily batch's CheckRange Lambda (functions/batch-range/): the range an execution was
 * started with, resolved as the Spark job and the other Lambdas resolve it, or refused with
 * InvalidBatchRangeError and the reason, before any cluster exists.
 */
import { describe, expect, it } from "vitest";
import { checkBatchRange } from "../../functions/batch-range/handler.js";
import { sampleEvent } from "../support/sample-events.js";

const STARTED = "2026-12-04T02:00:00.123Z";

describe("checkBatchRange", () => {
  it("resolves yesterday against the execution's start, a day, a range and all", () => {
    expect(checkBatchRange({ range: "yesterday", startedAt: STARTED })).toEqual({
      range: "yesterday",
      all: false,
      first: "2026-12-03",
      last: "2026-12-03",
    });
    expect(checkBatchRange({ range: "2018-05-20", startedAt: STARTED })).toMatchObject({
      first: "2018-05-20",
      last: "2018-05-20",
    });
    expect(checkBatchRange(sampleEvent("batch-range.json"))).toMatchObject({
      first: "2018-05-20",
      last: "2018-05-26",
    });
    expect(checkBatchRange({ range: "all", startedAt: STARTED })).toEqual({
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
  ])("refuses %s with InvalidBatchRangeError and the reason", (range, reason) => {
    const check = () => checkBatchRange({ range, startedAt: STARTED });
    expect(check).toThrow(reason);
    expect(check).toThrow(expect.objectContaining({ name: "InvalidBatchRangeError" }));
  });

  it("refuses an event without a range or a start time as InvalidBatchRangeError", () => {
    expect(() => checkBatchRange({ startedAt: STARTED })).toThrow(
      expect.objectContaining({ name: "InvalidBatchRangeError" }),
    );
    expect(() => checkBatchRange({ range: "all", startedAt: "yesterday" })).toThrow(
      /not a batch-range event/,
    );
  });
});
