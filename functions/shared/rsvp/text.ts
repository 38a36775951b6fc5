/**
 * Cleaning of the free text that comes from the public feed (names of cities, groups, venues,
 * events, topics). Cleaning makes equal names compare equal and keeps layout-breaking
 * characters out of tables and maps; it does not make text safe for HTML: escaping happens
 * where text is displayed.
 */

/** C0/C1 control characters and the Unicode line/paragraph separators. */
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/gu;
/** Bidi overrides and isolates can reorder displayed text (a spoofing vector); ZWJ stays, emoji need it. */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const WHITESPACE_RUN = /\s+/gu;

/**
 * Returns `value` in Unicode NFC with control characters turned into spaces, bidi controls and
 * lone surrogates removed, whitespace runs collapsed to one space, and trimmed.
 */
export function cleanText(value: string): string {
  return value
    .replace(CONTROL_CHARACTERS, " ")
    .replace(BIDI_CONTROLS, "")
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
 * replaced, so "  PORTLAND " and "Portland" fold to the same key part.
 */
export function foldForKey(value: string): string {
  return cleanText(value).toLocaleLowerCase("en-US").replace(/\//g, "-");
}
