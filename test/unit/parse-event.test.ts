import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseEvent } from "../../functions/shared/parse-event.js";

const schema = z.object({ kind: z.literal("tick"), count: z.number().int() });

class BadEventError extends Error {
  override readonly name = "BadEventError";
}

describe("parseEvent", () => {
  it("returns what the schema reads", () => {
    expect(parseEvent(schema, { kind: "tick", count: 2 }, "a tick")).toEqual({
      kind: "tick",
      count: 2,
    });
  });

  it("names every problem with its path, a line each", () => {
    expect(() => parseEvent(schema, { kind: "tock", count: 1.5 }, "a tick")).toThrow(
      /^not a tick:\n✖ .*\n {2}→ at kind\n✖ .*\n {2}→ at count$/,
    );
  });

  it("throws the error class it is given", () => {
    expect(() => parseEvent(schema, null, "a tick", BadEventError)).toThrow(BadEventError);
  });
});
