/**
 * Reads one 256 MiB line, then "ok", from a stream made on the fly, with the reader the first
 * argument names ("bounded": boundedLines with a 1 MiB limit; "readline": node:readline), and
 * prints what it yielded and reported as JSON. Run by test/unit/bounded-lines.test.ts in a
 * process whose heap is too small to hold the line.
 */
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { boundedLines, type OversizedLine } from "../../tasks/replay-feed/bounded-lines.js";

const chunk = Buffer.alloc(64 * 1024, "a");
function* body() {
  for (let i = 0; i < 4096; i++) yield chunk;
  yield Buffer.from("\nok\n");
}
const input = Readable.from(body());
const oversized: OversizedLine[] = [];
const lines: string[] = [];
const reader =
  process.argv[2] === "readline"
    ? createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
    : boundedLines(input, { maxLineBytes: 2 ** 20, onOversized: (line) => oversized.push(line) });
for await (const line of reader) {
  const text = typeof line === "string" ? line : `${line.length} bytes, not UTF-8`;
  lines.push(text.length > 64 ? `${text.length} characters` : text);
}
process.stdout.write(JSON.stringify({ oversized, lines }));
