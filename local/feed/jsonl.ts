import { createReadStream } from "node:fs";
import {
  boundedLines,
  type LineLimit,
  type RecordingLine,
} from "../../tasks/replay-feed/bounded-lines.js";

/**
 * The lines of a JSONL file, verbatim (no parsing, no trimming), so malformed lines are
 * replayed as they were recorded (a line that is not UTF-8 as its bytes). A final newline does not make an extra empty line. A line
 * over the limit is reported to `limit.onOversized` and left out (bounded-lines.ts).
 */
export async function* jsonlLines(path: string, limit: LineLimit): AsyncGenerator<RecordingLine> {
  const input = createReadStream(path);
  try {
    yield* boundedLines(input, limit);
  } finally {
    // A reader that stops early (a client that disconnected) must not leak the file.
    input.destroy();
  }
}
