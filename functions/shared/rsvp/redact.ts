/**
 * Personal data must not be stored, not even in the dead-letter topic, which keeps the raw text
 * of rejected messages for diagnosis. A rejected frame that is JSON is redacted on its parsed
 * form, so no spelling of a key (`"\u006dember"`) or shape of a value hides a personal field. A
 * frame that is not JSON (truncated, a Python dict repr) is redacted by scanning its text.
 */

/** Keys whose values are personal: the member object, its fields met flattened, its accounts. */
const PERSONAL_KEYS = new Set(["member", "member_id", "member_name", "photo", "other_services"]);
/** `"member"` or `'other_services'` (either quote), a colon, then the opening brace of its object. */
const PERSONAL_OBJECT = /(["'])(member|other_services)\1\s*:\s*\{/g;
/** A personal key with a scalar, a string or a (possibly cut) list as its value. */
const PERSONAL_SCALAR =
  /(["'])(member|member_id|member_name|photo)\1(\s*:\s*)("(?:[^"\\]|\\.)*"?|'[^']*'?|-?\d[\d.eE+-]*|\[[^\]]*\]?|true|false|null|None|True|False)/g;
/** A JSON escape of a letter, digit or underscore, which a key may be spelled with. */
const ESCAPED_WORD_CHARACTER = /\\u00(3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])/g;
const REDACTED = "[personal data removed]";

/**
 * Returns `raw` with the value of every `member` or `other_services` field, and of any
 * `member_id`, `member_name` or `photo` field, replaced by a marker, at any depth. A JSON text
 * that holds one is written again as compact JSON; text without personal fields is unchanged.
 * An unterminated member object (a truncated frame) is cut to the end of the text.
 */
export function redactPersonalData(raw: string): string {
  const parsed = parsedJson(raw);
  if (parsed !== undefined) {
    const found = { personal: false };
    const redacted = withoutPersonalFields(parsed.value, found);
    return found.personal ? JSON.stringify(redacted) : raw;
  }
  return redactText(raw);
}

function parsedJson(raw: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(raw) };
  } catch {
    return undefined;
  }
}

function withoutPersonalFields(value: unknown, found: { personal: boolean }): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutPersonalFields(item, found));
  if (value === null || typeof value !== "object") return value;
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (PERSONAL_KEYS.has(key)) {
      found.personal = true;
      kept[key] = REDACTED;
    } else {
      kept[key] = withoutPersonalFields(item, found);
    }
  }
  return kept;
}

function redactText(raw: string): string {
  const text = raw.replace(ESCAPED_WORD_CHARACTER, (_match, code: string) =>
    String.fromCharCode(Number.parseInt(code, 16)),
  );
  let result = "";
  let copiedUpTo = 0;
  PERSONAL_OBJECT.lastIndex = 0;
  for (let match = PERSONAL_OBJECT.exec(text); match !== null; match = PERSONAL_OBJECT.exec(text)) {
    const [, quote, key] = match as unknown as [string, string, string];
    const valueStart = match.index + match[0].length - 1; // at "{"
    const valueEnd = endOfObject(text, valueStart);
    result += `${text.slice(copiedUpTo, match.index)}${quote}${key}${quote}: ${quote}${REDACTED}${quote}`;
    copiedUpTo = valueEnd;
    PERSONAL_OBJECT.lastIndex = valueEnd;
  }
  const withoutObjects = copiedUpTo === 0 ? text : result + text.slice(copiedUpTo);
  const redacted = withoutObjects.replace(
    PERSONAL_SCALAR,
    (_match, quote: string, key: string, colon: string) =>
      `${quote}${key}${quote}${colon}${quote}${REDACTED}${quote}`,
  );
  return redacted === text ? raw : redacted;
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
