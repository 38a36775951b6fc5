/**
 * Cleaning of the free text that comes from the public feed (names of cities, groups, venues,
 * events, topics). Cleaning makes equal names compare equal and keeps layout-breaking
 * characters out of tables and maps; it does not make text safe for HTML: escaping happens
 * where text is displayed.
 */

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
 * replaced, so "  PORTLAND " and "Portland" fold to the same key part.
 */
export function foldForKey(value: string): string {
  return cleanText(value).toLocaleLowerCase("en-US").replace(/\//g, "-");
}
