import { describe, expect, it } from "vitest";
import { describeCounts, splitSubmitArgs } from "../../local/batch/spark-step.js";

describe("splitSubmitArgs (the EMR step's command, run locally)", () => {
  const submit = ["spark-submit", "--deploy-mode", "client", "s3://a/curate_rsvps.py"];
  const job = ["--input", "s3://raw/rsvps", "--output", "s3://curated", "--range", "all"];

  it("reads the step's time limit from a leading coreutils timeout", () => {
    expect(splitSubmitArgs(["timeout", "4800", ...submit, ...job])).toEqual({
      script: "s3://a/curate_rsvps.py",
      input: "s3://raw/rsvps",
      output: "s3://curated",
      jobArgs: ["--range", "all"],
      timeoutSeconds: 4800,
    });
    expect(splitSubmitArgs([...submit, ...job]).timeoutSeconds).toBeNull();
  });

  it("refuses a timeout without seconds, and anything but a spark-submit of a .py job", () => {
    expect(() => splitSubmitArgs(["timeout", "soon", ...submit, ...job])).toThrow(
      /timeout needs a number of seconds/,
    );
    expect(() => splitSubmitArgs(["timeout", "60", "python", "x.py"])).toThrow(
      /not a spark-submit/,
    );
  });
});

describe("describeCounts (the Spark job's summary line, for people)", () => {
  it("names each table's count, with thousands separators, and ? for one missing", () => {
    expect(
      describeCounts({
        range: "all",
        rsvp: 2397,
        event: 2337,
        group: 2247,
        venue: 1814,
        errors: 2,
        messages: 2580,
      }),
    ).toBe(
      "2,397 RSVPs, 2,337 events, 2,247 groups, 1,814 venues from 2,580 messages, 2 unusable lines",
    );
    expect(describeCounts({ rsvp: 1 })).toBe(
      "1 RSVPs, ? events, ? groups, ? venues from ? messages, ? unusable lines",
    );
  });
});
