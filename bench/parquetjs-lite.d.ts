/** The little of parquetjs-lite 0.8.7 (no types of its own) that bench/parquet-readers.bench.ts uses. */
declare module "parquetjs-lite" {
  interface ParquetCursor {
    next(): Promise<Record<string, unknown> | null>;
  }
  interface ParquetReader {
    getCursor(): ParquetCursor;
    close(): Promise<void>;
  }
  const parquet: {
    ParquetReader: { openBuffer(buffer: Buffer): Promise<ParquetReader> };
  };
  export default parquet;
}
