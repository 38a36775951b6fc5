/** The live progress line fitted to the terminal (local/cli/progress-line.ts). */
import { describe, expect, it } from "vitest";
import { fitTo } from "../../local/cli/progress-line.js";

describe("fitTo", () => {
  const line = "counted 1,247 RSVPs; top US: New York, NY 38, San Francisco, CA 37, Austin, TX 21";

  it("leaves a line that fits as it is", () => {
    expect(fitTo(line, line.length)).toBe(line);
  });

  it("cuts at a word with an ellipsis, never inside a number", () => {
    const cut = fitTo(line, line.length - 1);
    expect(cut).toBe(
      "counted 1,247 RSVPs; top US: New York, NY 38, San Francisco, CA 37, Austin, TX…",
    );
    for (let width = 10; width < line.length; width++) {
      const fitted = fitTo(line, width);
      expect(fitted.length).toBeLessThanOrEqual(width);
      expect(fitted.endsWith("…")).toBe(true);
      // What is kept is whole words of the line: the line goes on with a space or a mark there.
      const kept = fitted.slice(0, -1);
      expect(line.startsWith(kept)).toBe(true);
      expect([" ", ",", ";", ":"]).toContain(line[kept.length]);
    }
    expect(fitTo(line, 30)).toBe("counted 1,247 RSVPs; top US…");
  });
});
