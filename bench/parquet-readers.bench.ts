/**
 * Reading Spark's Parquet in JavaScript (`npm run bench -- parquet-readers`): parquetjs-lite
 * 0.8.7, the library the project was asked to consider (its last release is from 2020), against
 * hyparquet, which the clustering Lambda uses (functions/clustering/venue-table.ts), on files
 * the pinned Spark wrote: the curated venue table (test/fixtures/spark-venue.parquet) and what
 * Spark writes beyond it (test/fixtures/make_spark_types.py: INT96 and TIMESTAMP_MICROS
 * timestamps, decimals, lists, data pages v1 and v2). For each file and reader: whether it read,
 * its first row as read, and the median time of 20 reads.
 */
import { readFileSync } from "node:fs";
import { parquetReadObjects } from "hyparquet";
import parquet from "parquetjs-lite";

const FILES = [
  "spark-venue.parquet",
  "spark-types-v1.parquet",
  "spark-types-v2.parquet",
  "spark-types-decimal.parquet",
];
const READS = 20;

type Reader = (bytes: Buffer) => Promise<Record<string, unknown>[]>;

const READERS: Record<string, Reader> = {
  "parquetjs-lite 0.8.7": async (bytes) => {
    const reader = await parquet.ParquetReader.openBuffer(bytes);
    const cursor = reader.getCursor();
    const rows: Record<string, unknown>[] = [];
    for (let row = await cursor.next(); row; row = await cursor.next()) rows.push(row);
    await reader.close();
    return rows;
  },
  hyparquet: (bytes) =>
    parquetReadObjects({
      file: new Uint8Array(bytes).buffer,
    }),
};

const show = (value: unknown) =>
  JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === "bigint" ? `${inner}n` : inner instanceof Date ? inner.toISOString() : inner,
  );

export async function run(print: (line: string) => void): Promise<void> {
  for (const file of FILES) {
    const bytes = readFileSync(new URL(`../test/fixtures/${file}`, import.meta.url));
    print(`${file} (${bytes.byteLength} bytes, written by pyspark 3.5.6)`);
    for (const [name, read] of Object.entries(READERS)) {
      let rows: Record<string, unknown>[];
      try {
        rows = await read(bytes);
      } catch (error) {
        print(`  ${name}: refused it: ${String(error)}`);
        continue;
      }
      const times: number[] = [];
      for (let i = 0; i < READS; i++) {
        const start = performance.now();
        await read(bytes);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(READS / 2)] ?? Number.NaN;
      print(`  ${name}: ${rows.length} rows, ${median.toFixed(2)} ms; first row ${show(rows[0])}`);
    }
  }
}
