/** REPLAY_BUFFER_FRAMES: how many sent frames the replay feed keeps for resuming clients. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/shared/config.js";
import { readReplayFeedConfig } from "../../tasks/replay-feed/config.js";

const SOURCE_URI = "s3://recordings/2018-05-20.jsonl.gz";

describe("REPLAY_BUFFER_FRAMES", () => {
  it("is left to the server's default when unset, and read as a whole number otherwise", () => {
    expect(readReplayFeedConfig({ SOURCE_URI }).REPLAY_BUFFER_FRAMES).toBeUndefined();
    expect(
      readReplayFeedConfig({ SOURCE_URI, REPLAY_BUFFER_FRAMES: "250000" }).REPLAY_BUFFER_FRAMES,
    ).toBe(250_000);
    // 0: nothing kept, a resuming client gets its pass only.
    expect(
      readReplayFeedConfig({ SOURCE_URI, REPLAY_BUFFER_FRAMES: "0" }).REPLAY_BUFFER_FRAMES,
    ).toBe(0);
  });

  it.each(["-1", "1.5", "many"])("refuses %j, naming the variable", (value) => {
    expect(() => readReplayFeedConfig({ SOURCE_URI, REPLAY_BUFFER_FRAMES: value })).toThrow(
      ConfigError,
    );
    expect(() => readReplayFeedConfig({ SOURCE_URI, REPLAY_BUFFER_FRAMES: value })).toThrow(
      /REPLAY_BUFFER_FRAMES: /,
    );
  });
});
