/** The replay-feed task's configuration: defaults, the PACING grammar, and clear refusals. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/shared/config.js";
import { parsePacing, readReplayFeedConfig } from "../../tasks/replay-feed/config.js";

const SOURCE_URI = "s3://recordings/2018-05-20.jsonl.gz";

describe("parsePacing", () => {
  it.each([
    ["asap", { kind: "asap" }],
    ["rate:25", { kind: "rate", perSecond: 25 }],
    ["rate:0.5", { kind: "rate", perSecond: 0.5 }],
    ["recorded:60", { kind: "recorded", speedup: 60 }],
    ["recorded:1", { kind: "recorded", speedup: 1 }],
    ["recorded:2.5", { kind: "recorded", speedup: 2.5 }],
  ])("reads %s", (value, pacing) => {
    expect(parsePacing(value)).toEqual(pacing);
  });

  it.each(["", "fast", "ASAP", "recorded", "rate", "asap:1", "speedup:60", " rate:5"])(
    "refuses %j, listing the forms it takes",
    (value) => {
      expect(() => parsePacing(value)).toThrow(
        `expected "recorded:<speed-up>", "rate:<messages per second>" or "asap", got "${value}"`,
      );
    },
  );

  it.each(["rate:0", "rate:-5", "rate:", "rate:abc", "rate:Infinity", "rate:NaN"])(
    "refuses the rate of %j",
    (value) => {
      expect(() => parsePacing(value)).toThrow(`the rate must be a number above 0, got "${value}"`);
    },
  );

  it.each(["recorded:0", "recorded:-1", "recorded:", "recorded:x60", "recorded: "])(
    "refuses the speed-up of %j",
    (value) => {
      expect(() => parsePacing(value)).toThrow(
        `the speed-up must be a number above 0, got "${value}"`,
      );
    },
  );
});

describe("readReplayFeedConfig", () => {
  it("fills in the defaults: port 8080 on every interface, recorded x60, looping", () => {
    expect(readReplayFeedConfig({ SOURCE_URI })).toEqual({
      SOURCE_URI,
      PORT: 8080,
      HOST: "0.0.0.0",
      PACING: { kind: "recorded", speedup: 60 },
      LOOP: true,
      LIVE: false,
      STATS_INTERVAL_SECONDS: 60,
    });
  });

  it("reads every variable", () => {
    expect(
      readReplayFeedConfig({
        SOURCE_URI,
        PORT: "9000",
        HOST: "127.0.0.1",
        PACING: "recorded:10",
        LOOP: "false",
        LIVE: "true",
        MAX_GAP_MS: "250",
        STATS_INTERVAL_SECONDS: "5",
      }),
    ).toEqual({
      SOURCE_URI,
      PORT: 9000,
      HOST: "127.0.0.1",
      PACING: { kind: "recorded", speedup: 10, maxGapMs: 250 },
      LOOP: false,
      LIVE: true,
      STATS_INTERVAL_SECONDS: 5,
    });
  });

  it("applies MAX_GAP_MS to recorded pacing only", () => {
    expect(
      readReplayFeedConfig({ SOURCE_URI, PACING: "rate:5", MAX_GAP_MS: "250" }).PACING,
    ).toEqual({ kind: "rate", perSecond: 5 });
  });

  it("names a malformed PACING with the reason", () => {
    expect(() => readReplayFeedConfig({ SOURCE_URI, PACING: "fast" })).toThrow(ConfigError);
    expect(() => readReplayFeedConfig({ SOURCE_URI, PACING: "rate:0" })).toThrow(
      'invalid configuration: PACING: the rate must be a number above 0, got "rate:0"',
    );
  });

  it("fails fast naming every missing or malformed variable", () => {
    expect(() => readReplayFeedConfig({})).toThrow(/^invalid configuration: SOURCE_URI: not set$/);
    expect(() =>
      readReplayFeedConfig({
        SOURCE_URI: "https://recordings.s3.amazonaws.com/feed.jsonl",
        PORT: "70000",
        PACING: "recorded:-1",
        LOOP: "yes",
        MAX_GAP_MS: "0",
      }),
    ).toThrow(
      /SOURCE_URI: expected s3:\/\/bucket\/key; PORT: .+; PACING: the speed-up must be a number above 0, got "recorded:-1"; LOOP: .+; MAX_GAP_MS: .+/,
    );
    expect(() => readReplayFeedConfig({ SOURCE_URI: "s3://bucket-only/" })).toThrow(
      /SOURCE_URI: expected s3:\/\/bucket\/key/,
    );
  });
});
