import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, readConfig } from "../../functions/shared/config.js";

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  BATCH_SIZE: z.coerce.number().int().positive(),
});

describe("readConfig", () => {
  it("returns the typed configuration", () => {
    expect(readConfig(schema, { TABLE_NAME: "counts", BATCH_SIZE: "100" })).toEqual({
      TABLE_NAME: "counts",
      BATCH_SIZE: 100,
    });
  });

  it("fails fast naming every missing or malformed variable", () => {
    expect(() => readConfig(schema, { BATCH_SIZE: "lots" })).toThrow(ConfigError);
    expect(() => readConfig(schema, { BATCH_SIZE: "lots" })).toThrow(
      /TABLE_NAME: not set; BATCH_SIZE: .+/,
    );
  });
});
