/**
 * Cleaning of the free text that comes from the public feed (names of cities, groups, venues,
 * events, topics). Cleaning makes equal names compare equal and keeps layout-breaking
 * characters out of tables and maps; it does not make text safe for HTML: escaping happens
 * where text is displayed.
 */
import { createHash } from "node:crypto";

/** C0/C1 control characters and the Unicode line/paragraph separators. */
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/gu;
/**
 * Invisible format characters: bidi overrides (a spoofing vector), zero-width spaces, soft
 * hyphens, word joiners... would split one city into several keys. Kept: ZWNJ and ZWJ (emoji
 * and Indic scripts need them) and the tag characters of flag emoji.
 */
const INVISIBLE_FORMAT = /(?!\u200C|\u200D|[\u{E0020}-\u{E007F}])\p{Cf}/gu;
const WHITESPACE_RUN = /\s+/gu;

/**
 * Returns `value` in Unicode NFC with control characters turned into spaces (a tab or newline
 * separates words), invisible format characters and lone surrogates removed, whitespace runs
 * collapsed to one space, and trimmed.
 */
export function cleanText(value: string): string {
  return value
    .replace(CONTROL_CHARACTERS, " ")
    .replace(INVISIBLE_FORMAT, "")
    .toWellFormed()
    .replace(/\uFFFD/g, "")
    .normalize("NFC")
    .replace(WHITESPACE_RUN, " ")
    .trim();
}

/** Like {@link cleanText}, but `undefined` and text that cleans to nothing become `null`. */
export function cleanOptionalText(value: string | undefined): string | null {
  if (value === undefined) return null;
  const cleaned = cleanText(value);
  return cleaned === "" ? null : cleaned;
}

/**
 * The comparison form of a name: cleaned, lowercased and with "/" (the city key separator)
 * replaced, so "  PORTLAND " and "Portland" fold to the same key part. Normalized again after
 * lowercasing, which can undo NFC ("Α͂" lowercases to "ᾶ", whose NFC is "ᾶ").
 */
export function foldForKey(value: string): string {
  return cleanText(value).toLocaleLowerCase("en-US").normalize("NFC").replace(/\//g, "-");
}

/**
 * Longest city name kept for display, in UTF-8 bytes. The real feed's longest city names are
 * under 60 characters; a hostile one of thousands would make every counter item of its city
 * large (and DynamoDB bills writes per KB of item). Longer names are cut with an ellipsis.
 */
export const MAX_DISPLAY_NAME_BYTES = 200;
/**
 * Longest part of a city key (the folded state or city name), in UTF-8 bytes. Keys are sort
 * keys of the counters (DynamoDB allows 1,024 bytes) and parts of partition keys; a longer
 * part keeps a readable prefix and ends in a hash of the whole, so two long names that share
 * a prefix still get two keys.
 */
export const MAX_KEY_PART_BYTES = 96;

/** `text` cut to at most `maxBytes` of UTF-8 with "…" at the end, never inside a character. */
export function capDisplayText(text: string, maxBytes: number = MAX_DISPLAY_NAME_BYTES): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  return `${cutToBytes(text, maxBytes - Buffer.byteLength("…", "utf8")).trimEnd()}…`;
}

/** A folded key part, at most `maxBytes` of UTF-8: a prefix and `~` + 16 hex of its SHA-256. */
export function capKeyPart(folded: string, maxBytes: number = MAX_KEY_PART_BYTES): string {
  if (Buffer.byteLength(folded, "utf8") <= maxBytes) return folded;
  const hash = createHash("sha256").update(folded, "utf8").digest("hex").slice(0, 16);
  return `${cutToBytes(folded, maxBytes - hash.length - 1)}~${hash}`;
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, "utf8");
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}
