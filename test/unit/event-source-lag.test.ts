import { describe, expect, it } from "vitest";
import { lagMs } from "../../local/pipeline/msk-event-source.js";

describe("lagMs: how far behind the topic the local event source is (npm start's progress line)", () => {
  const startedAt = 1_000_000;
  it("is 0 when every record produced is done, however old", () => {
    expect(lagMs({ records: 10, newestDoneTimestamp: 5 }, 10, 9_000_000, startedAt)).toBe(0);
  });
  it("is the age of the newest record done when some are still waiting", () => {
    expect(lagMs({ records: 8, newestDoneTimestamp: 2_000_000 }, 10, 2_003_500, startedAt)).toBe(
      3_500,
    );
  });
  it("counts from the start while nothing is done yet", () => {
    expect(lagMs({ records: 0, newestDoneTimestamp: 0 }, 3, 1_002_000, startedAt)).toBe(2_000);
  });
});
