/**
 * Personal data must not be stored, not even in the dead-letter topic, which keeps the raw text
 * of rejected messages for diagnosis. A rejected frame that is JSON is redacted on its parsed
 * form, so no spelling of a key (`"\u006dember"`) or shape of a value hides a personal field,
 * and JSON held in its strings is redacted too. A frame that is not JSON (truncated, a Python
 * dict repr) is redacted by scanning its text. The scan fails closed: a text in which a personal
 * key is still found where it may carry a value, outside the pairs it redacted (unquoted keys,
 * a missing colon, HTML- or URL-encoded quotes, UTF-16, a quote inside a quoted name), is
 * withheld whole, since a pattern that cannot read it cannot say where its value ends either.
 */

/** What a personal key has in it once lowercased and stripped of all but letters. */
const PERSONAL_KEY_PART = /member|photo|otherservices/;
/**
 * Whether a JSON key names a personal field (the member object, its fields, its accounts): any
 * key with `member`, `photo` or `other services` in it, in any case and with any separators
 * (`Member_Name`, `memberName`), so the fields of a flattened member object
 * (`member.member_name`, `member_photo`, as pandas' json_normalize writes them) are found too.
 * No key of the RSVP format has those words but the personal ones.
 */
export const isPersonalKey = (key: string) =>
  PERSONAL_KEY_PART.test(key.toLowerCase().replace(/[^a-z]/g, ""));
/** The same keys in text: any case, `_`, `-`, a space or nothing between their words. */
const PERSONAL_KEY = "(member(?:[_\\s-]?(?:id|name))?|photo|other[_\\s-]?services)";
/** A personal key (either quote), a colon, then the opening brace or bracket of its value. */
const PERSONAL_CONTAINER = new RegExp(`(["'])${PERSONAL_KEY}\\1\\s*:\\s*[{[]`, "gi");
/** A personal key with a scalar as its value: a (possibly cut, Python-prefixed) string, a number, a literal. */
const PERSONAL_SCALAR = new RegExp(
  `(["'])${PERSONAL_KEY}\\1(\\s*:\\s*)([uUbBrR]?"(?:[^"\\\\]|\\\\.)*"?|[uUbBrR]?'(?:[^'\\\\]|\\\\.)*'?|-?\\d[\\d.eE+-]*|true|false|null|None|True|False)`,
  "gi",
);
/** A JSON escape of a letter, digit or underscore, which a key may be spelled with. */
const ESCAPED_WORD_CHARACTER = /\\u00(3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])/g;
/** Text that could hold a personal field; strings that do are redacted as messages of their own. */
const MENTIONS_PERSONAL_KEY = /member|photo|other[_\s-]?services/i;
/**
 * A personal key left where it may still carry a value, in a text decoded for the check and
 * with its redacted pairs taken out: any key with what looks like a value after it
 * (`member_name: x`, `\'member\':`, `member_name=x`, `<member_name>x`); a key in quotes,
 * escaped or not, with something after it that is no colon, comma or closing bracket
 * (`{"member_name" "x"`, `{\"photo\" \"x\"`), as a quoted word with a comma or bracket after
 * it is a value (a photography group's `"urlkey":"photo",`); and a key spelled as an identifier
 * (`member_name`, `memberId`, `other-services`), whatever follows it (`member_name<tab>x`).
 * Not found: bare words followed by a value without a separator (`photo https://...`,
 * `member name<tab>x`), which prose has too (`a photo walk for members`).
 */
const PERSONAL_KEY_LEFT = new RegExp(
  [
    `\\b${PERSONAL_KEY}[\\s"'\`\\\\]*[:=>]`,
    `(["'\`])${PERSONAL_KEY}\\\\*\\2(?=\\s*[^\\s,:}\\]])`,
    "\\b(?:member[_-]?(?:id|name)|other[_-]?services)\\b",
  ].join("|"),
  "i",
);
/** A personal field whose value was replaced, as the scan writes it. */
const REDACTED_PAIR = new RegExp(
  `(["']?)${PERSONAL_KEY}\\1\\s*:\\s*(["']?)\\[personal data removed\\]\\3`,
  "gi",
);
/** What may follow an object or list the scan replaced: the text's end, or what follows a value. */
const AFTER_CONTAINER = /^\s*(?:$|[,}\])])/;
/** What may follow a scalar value the scan replaced; anything else means it misread the value. */
const AFTER_SCALAR = /[\s,}\])]/;
/** How deep JSON held in strings (in strings...) is parsed; deeper, its text is scanned. */
const MAX_NESTED_TEXT = 3;
/** Escaped quotes and backslashes unescaped, a level at a time, to scan quoted JSON in text. */
const ESCAPED_QUOTE_OR_BACKSLASH = /\\(["\\])/g;
/** Each level of quoting doubles the backslashes before a quote: 64 KiB holds under 17. */
const MAX_QUOTING_LEVELS = 17;
/**
 * Characters of a text that are read (64 KiB, the largest message the parser takes): a dead
 * letter keeps far less, and a frame of many MB must not hold the ingest's event loop.
 */
export const MAX_REDACTED_CHARS = 64 * 1024;
/** What stands for a personal field's value. */
export const REDACTED = "[personal data removed]";
/** What is kept of a text that could not be checked: nothing of it. */
export const WITHHELD = "[raw text withheld: it could not be checked for personal data]";

/**
 * Returns `raw` with the value of every `member`, `other_services`, `member_id`, `member_name`
 * or `photo` field replaced by a marker, at any depth. A JSON text that holds one is written
 * again as compact JSON; text without personal fields is returned unchanged. An unterminated
 * member object (a truncated frame) is cut to the end of the text. Never throws: a text it
 * cannot check is withheld whole. Reads at most MAX_REDACTED_CHARS of it.
 */
export function redactPersonalData(raw: string): string {
  try {
    // Never half a surrogate pair: the result is stored, and a store may refuse text that is
    // not well-formed Unicode (a dead letter that cannot be written holds up its batch).
    return redact(codePointPrefix(raw, MAX_REDACTED_CHARS), 0).toWellFormed();
  } catch {
    return WITHHELD;
  }
}

/** At most `maxUnits` UTF-16 units of `text`, cut between two code points. */
function codePointPrefix(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  const last = text.charCodeAt(maxUnits - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, splitsPair ? maxUnits - 1 : maxUnits);
}

function redact(raw: string, nesting: number): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return redactText(raw);
  }
  const root: Record<string, unknown> = { value: parsed };
  if (!redactTree(root, nesting)) return raw;
  try {
    return JSON.stringify(root.value);
  } catch {
    // Nested too deep for JSON.stringify: the text scan finds the same fields in valid JSON.
    return redactText(raw);
  }
}

/**
 * Replaces the personal values under `root` in place and says whether it found any. Walks with
 * a stack of its own, not by recursion: a hostile message of a few KB nests thousands deep.
 */
function redactTree(root: Record<string, unknown>, nesting: number): boolean {
  let found = false;
  const pending: Record<string, unknown>[] = [root];
  for (let container = pending.pop(); container !== undefined; container = pending.pop()) {
    const named = container !== root && !Array.isArray(container);
    for (const key of Object.keys(container)) {
      const item = container[key];
      if (named && isPersonalKey(key)) {
        container[key] = REDACTED;
        found = true;
      } else if (typeof item === "string") {
        if (MENTIONS_PERSONAL_KEY.test(decodedForCheck(item))) {
          const redacted = nesting < MAX_NESTED_TEXT ? redact(item, nesting + 1) : redactText(item);
          if (redacted !== item) {
            container[key] = redacted;
            found = true;
          }
        }
      } else if (item !== null && typeof item === "object") {
        pending.push(item as Record<string, unknown>);
      }
    }
  }
  return found;
}

function withWordEscapesDecoded(text: string): string {
  return text.replace(ESCAPED_WORD_CHARACTER, (_match, code: string) =>
    String.fromCharCode(Number.parseInt(code, 16)),
  );
}

/**
 * Scans the text, then the text with one level of escaped quotes and backslashes undone, and
 * so on: a JSON message quoted inside another (`"{\"member\": ...`) is found at its level. The
 * text is returned in its least escaped form if anything was found, else exactly as it came
 * (unescaping alone is no reason to change it: `\"` stays `\"`).
 */
function redactText(raw: string): string {
  let redacted = withWordEscapesDecoded(raw);
  let found = false;
  let misread = false;
  for (let level = 0; level <= MAX_QUOTING_LEVELS; level++) {
    const { text: scanned, misread: misreadHere } = redactScan(redacted);
    misread ||= misreadHere;
    if (scanned !== redacted) found = true;
    const unescaped = scanned.replace(ESCAPED_QUOTE_OR_BACKSLASH, "$1");
    redacted = scanned;
    if (unescaped === scanned || level === MAX_QUOTING_LEVELS) break;
    redacted = unescaped;
  }
  const result = found ? redacted : raw;
  return misread || leavesPersonalValue(result) ? WITHHELD : result;
}

/**
 * A quoted key and the colon after it, in text: the key is checked as the JSON path checks one
 * ({@link isPersonalKey}), so a flattened field (`"member_photo":`) is no more hidden in a cut
 * frame than in a whole one.
 */
const QUOTED_KEY = /(["'])((?:(?!\1)[^\\\n]){1,200})\1\s*:/g;

/** Whether a personal key is still in `text` outside a redacted pair, however it is encoded. */
function leavesPersonalValue(text: string): boolean {
  const checked = decodedForCheck(text).replace(REDACTED_PAIR, "");
  if (PERSONAL_KEY_LEFT.test(checked)) return true;
  for (const [, , key] of checked.matchAll(QUOTED_KEY)) if (key && isPersonalKey(key)) return true;
  return false;
}

/**
 * The text as far as it might spell a key in another encoding, for checks only: NULs dropped
 * (UTF-16 read as text), `\uXXXX`, HTML character references and URL escapes decoded.
 */
function decodedForCheck(text: string): string {
  let decoded = text
    .replaceAll("\u0000", "")
    .replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  // URL escapes and character references, twice over at most (`%2522` is a quote, encoded twice).
  for (let pass = 0; pass < 3; pass++) {
    const again = decoded
      .replace(
        /&(quot|apos|amp|lt|gt|colon|equals);/gi,
        (_m, name: string) => NAMED_REFERENCES[name.toLowerCase()] ?? "",
      )
      .replace(/&#(x[0-9a-fA-F]{1,6}|\d{1,7});/g, (_m, code: string) =>
        fromCodePointSafe(code[0] === "x" ? Number.parseInt(code.slice(1), 16) : Number(code)),
      )
      .replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      );
    if (again === decoded) break;
    decoded = again;
  }
  // Typographic quotes and a full-width colon, as a word processor or another script writes them.
  return decoded
    .replace(/[“”„‟″]/g, '"')
    .replace(/[‘’‚‛′]/g, "'")
    .replace(/：/g, ":");
}

const NAMED_REFERENCES: Record<string, string> = {
  quot: '"',
  apos: "'",
  amp: "&",
  lt: "<",
  gt: ">",
  colon: ":",
  equals: "=",
};

function fromCodePointSafe(code: number): string {
  return code <= 0x10ffff ? String.fromCodePoint(code) : "";
}

function redactScan(text: string): { text: string; misread: boolean } {
  let result = "";
  let copiedUpTo = 0;
  let misread = false;
  PERSONAL_CONTAINER.lastIndex = 0;
  for (
    let match = PERSONAL_CONTAINER.exec(text);
    match !== null;
    match = PERSONAL_CONTAINER.exec(text)
  ) {
    const [, quote, key] = match as unknown as [string, string, string];
    const valueStart = match.index + match[0].length - 1; // at "{" or "["
    const valueEnd = endOfValue(text, valueStart);
    // A value that ends where no JSON value can (`'Dan O'Neil} Smithson'}`: a quote in a name
    // closed the quotes early, and a brace in it the value) was misread, and so was its end.
    if (!AFTER_CONTAINER.test(text.slice(valueEnd, valueEnd + 256))) misread = true;
    result += `${text.slice(copiedUpTo, match.index)}${quote}${key}${quote}: ${quote}${REDACTED}${quote}`;
    copiedUpTo = valueEnd;
    PERSONAL_CONTAINER.lastIndex = valueEnd;
  }
  const withoutContainers = copiedUpTo === 0 ? text : result + text.slice(copiedUpTo);
  const redacted = withoutContainers.replace(
    PERSONAL_SCALAR,
    (
      match: string,
      quote: string,
      key: string,
      colon: string,
      _value: string,
      offset: number,
      whole: string,
    ) => {
      const next = whole[offset + match.length];
      if (next !== undefined && !AFTER_SCALAR.test(next)) misread = true;
      return `${quote}${key}${quote}${colon}${quote}${REDACTED}${quote}`;
    },
  );
  return { text: redacted, misread };
}

/** Index just past the brace or bracket that closes the one at `start`, or the text's end. */
function endOfValue(text: string, start: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (quote !== null) {
      if (char === "\\") i += 1;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "{" || char === "[") {
      depth += 1;
    } else if (char === "}" || char === "]") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}
