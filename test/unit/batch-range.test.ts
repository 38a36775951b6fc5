import { describe, expect, it } from "vitest";
import {
  InvalidBatchRangeError,
  inBatchRange,
  resolveBatchRange,
} from "../../functions/shared/batch-range.js";

describe("resolveBatchRange", () => {
  it("takes yesterday relative to the execution start, not to now", () => {
    expect(resolveBatchRange("yesterday", new Date("2026-11-27T23:59:30.123Z"))).toEqual({
      all: false,
      first: "2026-11-26",
      last: "2026-11-26",
    });
    expect(resolveBatchRange("yesterday", new Date("2026-03-01T00:00:00Z"))).toMatchObject({
      first: "2026-02-28",
    });
  });

  it("reads one day, a range and all", () => {
    const asOf = new Date("2026-11-27T02:00:00Z");
    expect(resolveBatchRange("2018-05-20", asOf)).toEqual({
      all: false,
      first: "2018-05-20",
      last: "2018-05-20",
    });
    expect(resolveBatchRange("2018-05-20..2018-05-22", asOf)).toEqual({
      all: false,
      first: "2018-05-20",
      last: "2018-05-22",
    });
    expect(resolveBatchRange("all", asOf)).toEqual({ all: true });
  });

  it.each(["tomorrow", "2018-02-30", "2018-05-20..x", "2018-05-22..2018-05-20", "a..b..c", ""])(
    "refuses %j with a message",
    (range) => {
      expect(() => resolveBatchRange(range, new Date())).toThrow(InvalidBatchRangeError);
    },
  );

  it("tells which days are in range", () => {
    const range = resolveBatchRange("2018-05-20..2018-05-21", new Date());
    expect(
      ["2018-05-19", "2018-05-20", "2018-05-21", "2018-05-22"].map((day) =>
        inBatchRange(range, day),
      ),
    ).toEqual([false, true, true, false]);
    expect(inBatchRange({ all: true }, "1999-01-01")).toBe(true);
  });
});
