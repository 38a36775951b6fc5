/**
 * What the ingest keeps of a rejected frame's text in its dead letter: the fields of the RSVP
 * stream format (an allow-list), and nothing else's value. A dead letter is by definition not
 * a message of that format, so knowing the format's personal keys (`member`, `photo`, ...) is
 * not enough: another feed's `"attendee": {"name": ...}` or a free-text `comment` was kept
 * whole when the raw text was only cleaned of those keys (found by review). What a person needs
 * to see why a frame was refused (its ids, times, answer, the group's city and country, the
 * shape of the text) is in the format's fields; any other field keeps only its name, when that
 * is a plain identifier, and a marker.
 *
 * The kept values go through {@link redactPersonalData} too: a format field whose value is
 * itself text holding a member object is cleaned as before.
 *
 * The counting keeps its own dead letters, of records on the RSVP topic, the same way by the
 * record the ingest writes ({@link RSVP_RECORD_FORMAT}).
 */
import {
  isPersonalKey,
  MAX_REDACTED_CHARS,
  REDACTED,
  redactPersonalData,
  WITHHELD,
} from "./redact.js";

/** Where a value may stand in the format: a field's value, an object's fields, a list's items. */
export type Shape = "value" | { fields: Readonly<Record<string, Shape>> } | { items: Shape };

const fields = (of: Record<string, Shape>): Shape => ({ fields: of });

/**
 * The RSVP stream format (stream-message.ts) but `member`, by where each field stands: a field
 * counts as the format's only where the format has it (an `event_name` in an `attendee`, or at
 * the top, does not). What the ingest keeps of a frame it refused.
 */
export const STREAM_MESSAGE_FORMAT: Shape = fields({
  rsvp_id: "value",
  mtime: "value",
  response: "value",
  guests: "value",
  visibility: "value",
  event: fields({ event_id: "value", event_name: "value", time: "value", event_url: "value" }),
  group: fields({
    group_id: "value",
    group_name: "value",
    group_urlname: "value",
    group_city: "value",
    group_country: "value",
    group_state: "value",
    group_lat: "value",
    group_lon: "value",
    group_topics: { items: fields({ urlkey: "value", topic_name: "value" }) },
  }),
  venue: fields({ venue_id: "value", venue_name: "value", lat: "value", lon: "value" }),
});

const POSITION = fields({ lat: "value", lon: "value" });
/**
 * The normalized record the ingest writes to the RSVP topic (record.ts), by where each field
 * stands: what the counting keeps of a record on the topic it cannot count. Our ingest writes
 * no personal data there, but a record it cannot count did not come from it as it is.
 */
export const RSVP_RECORD_FORMAT: Shape = fields({
  v: "value",
  rsvpId: "value",
  mtime: "value",
  response: "value",
  guests: "value",
  arrival: "value",
  visibility: "value",
  city: fields({ key: "value", country: "value", state: "value", name: "value" }),
  event: fields({ id: "value", name: "value", time: "value", url: "value" }),
  group: fields({
    id: "value",
    name: "value",
    urlname: "value",
    position: POSITION,
    topics: { items: fields({ key: "value", name: "value" }) },
  }),
  venue: fields({ id: "value", name: "value", position: POSITION }),
});

const fieldShape = (shape: Shape | null, key: string): Shape | null =>
  shape !== null && typeof shape === "object" && "fields" in shape
    ? Object.hasOwn(shape.fields, key)
      ? (shape.fields[key] ?? null)
      : null
    : null;
const itemShape = (shape: Shape | null): Shape | null =>
  shape !== null && typeof shape === "object" && "items" in shape ? shape.items : null;

/** What stands for the value of a field that is not the format's. */
export const LEFT_OUT = "[left out: not a field of the format kept]";
/** What stands for a string or word outside the format's fields, in text that is not JSON. */
const MASK = "…";
/** The format nests three deep (message, group, topics, topic); deeper is left out whole. */
const MAX_DEPTH = 6;
/** A key kept by name though its value is not: a plain identifier, no personal word in it. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,39}$/;
/** What the frame's own quotes look like from inside a string read the wrong way round. */
const TURNED_ROUND = /["'`]\s*[:,}\]]|[{[,:]\s*["'`]/;

/**
 * The text a dead letter keeps of `raw`: a JSON object rewritten with only the fields of
 * `format` (compact JSON); other JSON, and text that is not JSON (a cut frame, a Python repr),
 * with every string and word outside the format's fields replaced by "…". Never throws.
 */
export function deadLetterText(raw: string, format: Shape = STREAM_MESSAGE_FORMAT): string {
  try {
    const text = raw.length > MAX_REDACTED_CHARS ? raw.slice(0, MAX_REDACTED_CHARS) : raw;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return skeleton(text, format).toWellFormed();
    }
    if (typeof parsed === "string") return skeleton(text, format).toWellFormed();
    // Only an object can be a message of the format: anything else keeps no value.
    const isObject = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
    return JSON.stringify(keep(parsed, 0, isObject ? format : null)).toWellFormed();
  } catch {
    return WITHHELD;
  }
}

function keep(value: unknown, depth: number, shape: Shape | null): unknown {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return shape === "value" ? value : LEFT_OUT;
  if (typeof value === "string") return shape === "value" ? redactPersonalData(value) : LEFT_OUT;
  if (depth >= MAX_DEPTH) return LEFT_OUT;
  if (Array.isArray(value)) return value.map((item) => keep(item, depth + 1, itemShape(shape)));
  const kept: Record<string, unknown> = {};
  let unnamed = 0;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const inner = fieldShape(shape, key);
    if (inner !== null) kept[key] = keep(item, depth + 1, inner);
    else if (PLAIN_KEY.test(key)) kept[key] = isPersonalKey(key) ? REDACTED : LEFT_OUT;
    else unnamed += 1;
  }
  if (unnamed > 0) kept["[fields left out, names and all]"] = unnamed;
  return kept;
}

/** An open object or list of text that is not JSON, read as far as it can be. */
interface Container {
  /** Its shape in the format; null: no value in it is the format's. */
  shape: Shape | null;
  isObject: boolean;
  /** In an object: the shape of the last key's value (null: none, or not the format's). */
  keyShape: Shape | null;
  /** Whether the next token stands where a key does: first in an object, or after a comma. */
  expectKey: boolean;
}

/**
 * Text that is not JSON, token by token: quoted strings (either quote; one cut by the text's
 * end runs to it) and words are kept only as keys of the format or as values where the format
 * has them; brackets, commas, colons and spaces are kept, so the text keeps its shape. A frame
 * cut inside a string reads its quotes the wrong way round from there: its strings are then
 * read as words and its words as strings, masked but where a format key happens to stand.
 * A field keeps one token, the first after its key: a quote in a value (`"Bring a 3.5" floppy"`)
 * or a comment turns the quotes round too, and the field would otherwise keep the rest of the
 * frame (found by review). A kept string that holds quotes beside `:` `,` or brackets is such
 * a turned-round piece, and is masked too.
 * Only the object the text opens with is read as a message: a frame cut at its start, right
 * at an object nested under another field, would keep that object's values of fields named as
 * the message's own (`rsvp_id`, `mtime`, `response`, `guests`, `visibility`, and its `event`,
 * `group` or `venue` fields).
 */
function skeleton(text: string, format: Shape): string {
  // The text itself: no value of its own is the format's; the object it opens with may be.
  const stack: Container[] = [{ shape: null, isObject: false, keyShape: null, expectKey: false }];
  const top = () => stack[stack.length - 1] as Container;
  /** The shape of a value read now, where it stands. */
  const slotShape = () => (top().isObject ? top().keyShape : itemShape(top().shape));
  /**
   * Whether a value read now, ending at `after`, is kept: where the format has a value, and
   * only if a comma, a closing bracket or the text's end follows it (a value with more after
   * it, a comment say, is no value as JSON has them). In an object, its field keeps no other.
   */
  const takeValue = (after: number) => {
    const kept = slotShape() === "value" && /^\s*(?:$|[,}\]])/.test(text.slice(after, after + 64));
    if (top().isObject) top().keyShape = null;
    top().expectKey = false;
    return kept;
  };
  /** Whether a token ending at `after` is a key: where a key stands, a colon after it. */
  const isKeyAt = (after: number) => {
    const isKey = top().isObject && top().expectKey && /^\s*:/.test(text.slice(after, after + 64));
    top().expectKey = false;
    return isKey;
  };
  const opensAt = text.search(/\S/);
  let out = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (char === '"' || char === "'") {
      let end = i + 1;
      while (end < text.length && text[end] !== char) end += text[end] === "\\" ? 2 : 1;
      const content = text.slice(i + 1, Math.min(end, text.length));
      const closed = end < text.length;
      const isKey = isKeyAt(closed ? end + 1 : text.length);
      let kept: string;
      if (isKey) {
        top().keyShape = fieldShape(top().shape, content);
        const named = PLAIN_KEY.test(content) && !isPersonalKey(content);
        kept = top().keyShape !== null || named ? content : MASK;
      } else
        kept =
          takeValue(closed ? end + 1 : text.length) && !TURNED_ROUND.test(content)
            ? redactPersonalData(content)
            : MASK;
      out += `${char}${kept}${closed ? char : ""}`;
      i = closed ? end + 1 : text.length;
      continue;
    }
    if (char === "{" || char === "[") {
      // At the text's top, only the object the text opens with may be a message: one after
      // anything else (a frame cut at its start) may be the value of any field.
      const shape =
        stack.length === 1 ? (char === "{" && i === opensAt ? format : null) : slotShape();
      // An object or list is its field's one value: none after it is kept.
      if (top().isObject) top().keyShape = null;
      top().expectKey = false;
      stack.push({ shape, isObject: char === "{", keyShape: null, expectKey: char === "{" });
      out += char;
    } else if (char === "}" || char === "]") {
      if (stack.length > 1) stack.pop();
      out += char;
    } else if (char === ",") {
      if (top().isObject) top().keyShape = null;
      top().expectKey = top().isObject;
      out += char;
    } else if (/[\s:]/.test(char)) {
      out += char;
    } else {
      // A word or a number: up to the next quote, bracket, comma, colon or space.
      let end = i + 1;
      while (end < text.length && !/["'{}[\],:\s]/.test(text[end] as string)) end += 1;
      const word = text.slice(i, end);
      const literal = /^(true|false|null|True|False|None)$/.test(word);
      const isKey = isKeyAt(end);
      if (isKey) top().keyShape = fieldShape(top().shape, word);
      const kept = isKey ? top().keyShape !== null : takeValue(end);
      out += literal || kept ? word : MASK;
      i = end;
      continue;
    }
    i += 1;
  }
  return out;
}
