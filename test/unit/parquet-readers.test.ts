/**
 * hyparquet on what Spark 3.5 writes beyond the venue table (test/fixtures/make_spark_types.py,
 * on the pinned pyspark): INT96 and TIMESTAMP_MICROS timestamps, decimals, three-level lists,
 * nulls, data pages v1 and v2. parquetjs-lite, which the project was asked to consider, is
 * compared in bench/parquet-readers.bench.ts.
 */
import { readFileSync } from "node:fs";
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";

const fixture = (name: string): ArrayBuffer => {
  const buffer = readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
};

const ROWS = [
  { id: 1n, at: new Date("2018-05-20T12:30:00Z"), tags: ["a", "b"] },
  { id: 2n, at: new Date("2018-05-21T00:00:00Z"), tags: [] },
  { id: 3n, at: null, tags: null },
];

describe("hyparquet on Spark's own files", () => {
  it.each(["spark-types-v1.parquet", "spark-types-v2.parquet"])(
    "reads %s value for value",
    async (name) => {
      expect(await parquetReadObjects({ file: fixture(name) })).toEqual(ROWS);
    },
  );

  it("reads Spark's decimals", async () => {
    expect(await parquetReadObjects({ file: fixture("spark-types-decimal.parquet") })).toEqual([
      { id: 1n, price: 12.34 },
      { id: 2n, price: 5 },
      { id: 3n, price: null },
    ]);
  });
});
