/**
 * A recording's lines, split as `node:readline` splits them (`\n`, `\r\n` and a lone `\r` each
 * end a line; a final line break makes no extra empty line) but never holding more than
 * `maxLineBytes` of one line. One difference: a line that is not valid UTF-8 comes out as its
 * bytes, where readline makes U+FFFD of what it cannot read (and drops a character the input
 * ends in the middle of). Played as it is, the ingest refuses it (a dead letter); read as text,
 * its bad bytes were dropped and the RSVP counted under a garbled city (found by review).
 *
 * readline holds a line whole however long it is: one hostile or broken line of hundreds of
 * MiB (a file with no line breaks at all) would take the replay task's 512 MB, and the task,
 * restarted by ECS, would die on the same line again for ever. A line over the limit is read
 * past, not kept, and reported to `onOversized` instead of played.
 */
import { isUtf8 } from "node:buffer";
import { SET_ASIDE_FRAME_BYTES } from "../ingest/feed-client.js";

/** A line of a recording: its text, or its bytes when they are not UTF-8. */
export type RecordingLine = string | Uint8Array;

/**
 * The longest line played: the largest frame the ingest ever reads (its set-aside limit), which
 * it keeps as a `too_large` dead letter. A longer frame it never reads (feed-client.ts), so
 * such a line could only cost the feed's memory and the ingest's connection.
 */
export const MAX_LINE_BYTES = SET_ASIDE_FRAME_BYTES;

export interface OversizedLine {
  /** The line's number in the recording, from 1. */
  line: number;
  /** Its length in UTF-8 bytes, line break excluded. */
  bytes: number;
}

export interface LineLimit {
  /** Default {@link MAX_LINE_BYTES}. */
  maxLineBytes?: number;
  /** Called for each line left out for its length, once the whole line has gone by. */
  onOversized: (line: OversizedLine) => void;
}

const BREAK = /\r\n|\r|\n/g;

export async function* boundedLines(
  input: AsyncIterable<Buffer | string>,
  { maxLineBytes = MAX_LINE_BYTES, onOversized }: LineLimit,
): AsyncGenerator<RecordingLine> {
  // Split as bytes (latin1: one character a byte; the breaks are the same bytes in UTF-8, never
  // part of another character), each line decoded whole once it has ended.
  let pieces: string[] = [];
  let bytes = 0;
  let lineNumber = 1;
  /** The line is over the limit: its text is dropped, its bytes still counted. */
  let oversized = false;
  /** The chunk before ended in `\r`: a `\n` starting this one belongs to that break. */
  let afterCarriageReturn = false;
  /** A string chunk's last half of a surrogate pair, held for the next (review). */
  let highSurrogate = "";
  /** A string chunk with the half pair before it, less a half pair it ends in. */
  const joinedPair = (chunk: string): string => {
    const joined = highSurrogate + chunk;
    const last = joined.charCodeAt(joined.length - 1);
    const endsInHalf = last >= 0xd800 && last <= 0xdbff;
    highSurrogate = endsInHalf ? joined.slice(-1) : "";
    return endsInHalf ? joined.slice(0, -1) : joined;
  };

  const take = (text: string) => {
    if (text === "") return;
    bytes += text.length;
    if (oversized) return;
    if (bytes > maxLineBytes) {
      oversized = true;
      pieces = [];
    } else pieces.push(text);
  };
  /** Ends the current line: its text, or null when it was too long. */
  const end = (): RecordingLine | null => {
    const line = oversized ? null : decoded(Buffer.from(pieces.join(""), "latin1"));
    if (oversized) onOversized({ line: lineNumber, bytes });
    pieces = [];
    bytes = 0;
    oversized = false;
    lineNumber += 1;
    return line;
  };

  for await (const chunk of input) {
    let text = (typeof chunk === "string" ? Buffer.from(joinedPair(chunk)) : chunk).toString(
      "latin1",
    );
    if (afterCarriageReturn && text.startsWith("\n")) {
      text = text.slice(1);
      afterCarriageReturn = false;
    }
    // Nothing left (an empty chunk): whether a `\r` before it ends a `\r\n` is still open.
    if (text === "") continue;
    afterCarriageReturn = text.endsWith("\r");
    let from = 0;
    for (const match of text.matchAll(BREAK)) {
      take(text.slice(from, match.index));
      from = match.index + match[0].length;
      const line = end();
      if (line !== null) yield line;
    }
    take(text.slice(from));
  }
  if (highSurrogate !== "") take(Buffer.from(highSurrogate).toString("latin1"));
  // What follows the last break is a line only if it holds something, as with readline.
  if (bytes > 0) {
    const line = end();
    if (line !== null) yield line;
  }
}

/** A line's text, or its bytes when they are not UTF-8. */
const decoded = (line: Buffer): RecordingLine =>
  isUtf8(line) ? line.toString("utf8") : new Uint8Array(line);

/** "16.0 MiB": a line's length, said to a person. */
const mebibytes = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** What a person is told of a line of `source` left out for its length. */
export function oversizedLineNotice(source: string, { line, bytes }: OversizedLine): string {
  return `line ${line} of ${source} is ${mebibytes(bytes)}, longer than the ingest reads in a frame (${mebibytes(MAX_LINE_BYTES)}): left out of the replay`;
}

/**
 * `report`, called once per line: a recording is read anew for every connection and every pass
 * of a loop, and each read meets its too-long lines again, so a looping feed said the same
 * line every pass. Said once, the line is still left out of every pass.
 */
export function oncePerLine(report: (line: OversizedLine) => void): (line: OversizedLine) => void {
  const said = new Set<number>();
  return (oversized) => {
    if (said.has(oversized.line)) return;
    said.add(oversized.line);
    report(oversized);
  };
}
