import { describe, expect, it } from "vitest";
import { splitSubmitArgs } from "../../local/batch/spark-step.js";

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
