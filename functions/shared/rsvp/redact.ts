/**
 * Personal data must not be stored, not even in the dead-letter topic, which keeps the raw text
 * of rejected messages for diagnosis. A rejected frame is often not JSON (truncated, a Python
 * dict repr), so the member object is cut out by scanning the text, not by parsing it.
 */

/** `"member"` or `'member'`, then a colon, then the opening brace of its object. */
const MEMBER_OBJECT = /(["'])member\1\s*:\s*\{/g;
/** Personal fields met outside a member object (flattened exports of the feed). */
const PERSONAL_SCALAR =
  /(["'])(member_id|member_name|photo)\1(\s*:\s*)("(?:[^"\\]|\\.)*"?|'[^']*'?|\d+)/g;
const REDACTED = "[personal data removed]";

/**
 * Returns `raw` with the value of every `member` object, and of any stray `member_id`,
 * `member_name` or `photo` field, replaced by a marker. An unterminated member object (a
 * truncated frame) is cut to the end of the text. Text without personal fields is unchanged.
 */
export function redactPersonalData(raw: string): string {
  let result = "";
  let copiedUpTo = 0;
  MEMBER_OBJECT.lastIndex = 0;
  for (let match = MEMBER_OBJECT.exec(raw); match !== null; match = MEMBER_OBJECT.exec(raw)) {
    const quote = match[1] as string;
    const valueStart = match.index + match[0].length - 1; // at "{"
    const valueEnd = endOfObject(raw, valueStart);
    result += `${raw.slice(copiedUpTo, match.index)}${quote}member${quote}: ${quote}${REDACTED}${quote}`;
    copiedUpTo = valueEnd;
    MEMBER_OBJECT.lastIndex = valueEnd;
  }
  const withoutMembers = copiedUpTo === 0 ? raw : result + raw.slice(copiedUpTo);
  return withoutMembers.replace(
    PERSONAL_SCALAR,
    (_match, quote: string, key: string, colon: string) =>
      `${quote}${key}${quote}${colon}${quote}${REDACTED}${quote}`,
  );
}

/** Index just past the brace that closes the object opened at `start`, or the text's end. */
function endOfObject(text: string, start: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (quote !== null) {
      if (char === "\\") i += 1;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "{") {
      depth += 1;
    } else if (char === "}") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}
