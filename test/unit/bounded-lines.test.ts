/**
 * The replay's line reader: split as node:readline splits (readline itself is the oracle, on
 * generated text cut into generated chunks), and a line over the limit read past, not held.
 */
import { execFile } from "node:child_process";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { SET_ASIDE_FRAME_BYTES } from "../../tasks/ingest/feed-client.js";
import {
  boundedLines,
  MAX_LINE_BYTES,
  type OversizedLine,
  oncePerLine,
  oversizedLineNotice,
  type RecordingLine,
} from "../../tasks/replay-feed/bounded-lines.js";

/** `bytes` cut at the given sizes (the rest in one chunk): characters and breaks straddle them. */
function* chunks(bytes: Buffer, sizes: number[]): Generator<Buffer> {
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) return;
    yield bytes.subarray(at, at + size);
    at += size;
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

/** The lines, a line that is not UTF-8 as `bytes <hex>`. */
async function collect(lines: AsyncIterable<RecordingLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines)
    out.push(typeof line === "string" ? line : `bytes ${Buffer.from(line).toString("hex")}`);
  return out;
}

async function bounded(
  bytes: Buffer,
  sizes: number[],
  maxLineBytes = MAX_LINE_BYTES,
): Promise<{ lines: string[]; oversized: OversizedLine[] }> {
  const oversized: OversizedLine[] = [];
  const lines = await collect(
    boundedLines(Readable.from(chunks(bytes, sizes)), {
      maxLineBytes,
      onOversized: (line) => oversized.push(line),
    }),
  );
  return { lines, oversized };
}

/** Text of JSON-ish characters, multi-byte ones and every kind of line break. */
const text = fc
  .array(fc.constantFrom("a", "{", '"', " ", "é", "€", "😀", "\n", "\r", "\r\n", "\n\n"), {
    maxLength: 60,
  })
  .map((parts) => parts.join(""));

describe("boundedLines", () => {
  it("splits lines exactly as node:readline does, however the chunks cut them", async () => {
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 40 }),
        async (source, sizes) => {
          const bytes = Buffer.from(source);
          const readline = await collect(
            createInterface({
              input: Readable.from(chunks(bytes, sizes)),
              crlfDelay: Number.POSITIVE_INFINITY,
            }),
          );
          const { lines, oversized } = await bounded(bytes, sizes);
          expect(lines).toEqual(readline);
          expect(oversized).toEqual([]);
        },
      ),
      {
        numRuns: 1000,
        // A `\r` ending one chunk, its `\n` alone in the next, and another break after it.
        examples: [
          ["\r\n\n", [1, 1, 1]],
          ["a\r\r\n", [2, 1]],
        ],
      },
    );
  });

  it("leaves out exactly the lines readline gives that are over the limit, numbered as readline's", async () => {
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (source, sizes, maxLineBytes) => {
          const bytes = Buffer.from(source);
          const readline = await collect(
            createInterface({
              input: Readable.from(chunks(bytes, sizes)),
              crlfDelay: Number.POSITIVE_INFINITY,
            }),
          );
          const long = (line: string) => Buffer.byteLength(line) > maxLineBytes;
          const { lines, oversized } = await bounded(bytes, sizes, maxLineBytes);
          expect(lines).toEqual(readline.filter((line) => !long(line)));
          expect(oversized).toEqual(
            readline.flatMap((line, i) =>
              long(line) ? [{ line: i + 1, bytes: Buffer.byteLength(line) }] : [],
            ),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("joins the halves of a character that string chunks cut between them", async () => {
    const onOversized = () => {};
    const parts = ['{"city":"caf\ud83d', '\ude00"}\nnext'];
    expect(await collect(boundedLines(Readable.from(parts), { onOversized }))).toEqual([
      '{"city":"caf\u{1f600}"}',
      "next",
    ]);
  });

  it("takes empty chunks as nothing, and gives a line the input cuts short in a character as its bytes", async () => {
    const parts = ["a\r", "", "\nb", "", "\n"].map((part) => Buffer.from(part));
    const oversized: OversizedLine[] = [];
    const onOversized = (line: OversizedLine) => oversized.push(line);
    expect(await collect(boundedLines(Readable.from(parts), { onOversized }))).toEqual(["a", "b"]);
    // "€" is e2 82 ac: the input stops after two of its bytes.
    const cut = Buffer.from([0x61, 0x0a, 0xe2, 0x82]);
    expect(await collect(boundedLines(Readable.from([cut]), { onOversized }))).toEqual([
      "a",
      "bytes e282",
    ]);
    expect(oversized).toEqual([]);
  });

  it("leaves out a line over the limit in UTF-8 bytes, says which and how long, and keeps the rest", async () => {
    // "é" is 2 bytes: 5 of them are 10 bytes, at the limit; 6 are 12, over it.
    const source = Buffer.from("first\néééééé\r\néééé\néééé\r\nlast unbroken line ");
    const { lines, oversized } = await bounded(source, [3, 3, 3, 3, 3], 10);
    expect(lines).toEqual(["first", "éééé", "éééé"]);
    expect(oversized).toEqual([
      { line: 2, bytes: 12 },
      { line: 5, bytes: 19 },
    ]);
    const atLimit = await bounded(Buffer.from("ééééé\nx"), [4], 10);
    expect(atLimit).toEqual({ lines: ["ééééé", "x"], oversized: [] });
  });

  it("reads past a 256 MiB line in a heap readline cannot hold it in", async () => {
    const run = (reader: string) =>
      promisify(execFile)(
        process.execPath,
        [
          "--max-old-space-size=64",
          "--import",
          "tsx",
          `${repoRoot}/test/support/line-memory-probe.mts`,
          reader,
        ],
        { cwd: repoRoot, maxBuffer: 1 << 20 },
      );
    const { stdout } = await run("bounded");
    expect(JSON.parse(stdout)).toEqual({
      oversized: [{ line: 1, bytes: 256 * 2 ** 20 }],
      lines: ["ok"],
    });
    // The control: the same line through readline does not fit that heap.
    await expect(run("readline")).rejects.toMatchObject({ signal: "SIGABRT" });
  }, 60_000);

  it("tells a person which line was left out, how long it was, and the limit", () => {
    expect(oversizedLineNotice("day.jsonl", { line: 3, bytes: 20.5 * 2 ** 20 })).toBe(
      "line 3 of day.jsonl is 20.5 MiB, longer than the ingest reads in a frame (16.0 MiB): left out of the replay",
    );
  });

  it("says a too-long line once, however many passes and connections read it again", async () => {
    const said: number[] = [];
    const report = oncePerLine(({ line }) => said.push(line));
    const recording = Buffer.from(`a\n${"x".repeat(120)}\nb\n${"y".repeat(130)}\n`);
    for (let pass = 0; pass < 3; pass++) {
      const lines: unknown[] = [];
      for await (const line of boundedLines(Readable.from([recording]), {
        maxLineBytes: 100,
        onOversized: report,
      }))
        lines.push(line);
      // Every pass still leaves them out.
      expect(lines).toEqual(["a", "b"]);
    }
    expect(said).toEqual([2, 4]);
  });

  it("plays every line the ingest would still read, and no longer one", () => {
    // A frame up to the set-aside limit reaches the ingest's parser (a `too_large` dead letter);
    // a longer one it never reads (tasks/ingest/feed-client.ts).
    expect(MAX_LINE_BYTES).toBe(SET_ASIDE_FRAME_BYTES);
  });
});
