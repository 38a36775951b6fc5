import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * The lines of a JSONL file, verbatim (no parsing, no trimming), so malformed lines are
 * replayed as they were recorded. A final newline does not make an extra empty line.
 */
export async function* jsonlLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, "utf8");
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } finally {
    // A reader that stops early (a client that disconnected) must not leak the file.
    lines.close();
    input.destroy();
  }
}
