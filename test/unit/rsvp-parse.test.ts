import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRsvpParser, MAX_MESSAGE_BYTES } from "../../functions/shared/rsvp/parse.js";
import type { ParseResult, RsvpRecord } from "../../functions/shared/rsvp/record.js";
import {
  countableRecordSchema,
  MAX_CITY_KEY_BYTES,
} from "../../functions/shared/rsvp/record-schema.js";
import { MAX_GUESTS } from "../../functions/shared/rsvp/stream-message.js";
import { MAX_DISPLAY_NAME_BYTES } from "../../functions/shared/rsvp/text.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import {
  hasSharedData,
  oddExamples,
  SKIPPED_WITHOUT_SHARED_DATA,
  sharedLines,
} from "../support/shared-data.js";

const parse = createRsvpParser();
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/stream-message.json", import.meta.url), "utf8"),
) as Record<string, unknown> & { group: Record<string, unknown>; venue: Record<string, unknown> };

function accepted(result: ParseResult): RsvpRecord {
  if (!result.ok)
    throw new Error(`rejected: ${result.rejection.reason} ${result.rejection.detail}`);
  return result.record;
}

function withChanges(change: (message: typeof fixture) => void): string {
  const message = structuredClone(fixture);
  change(message);
  return JSON.stringify(message);
}

/** The record of the fixture changed by `change`, which the parser must accept. */
const acceptedWith = (change: (message: typeof fixture) => void): RsvpRecord =>
  accepted(parse(withChanges(change)));

describe("parse: a valid message", () => {
  const record = accepted(parse(JSON.stringify(fixture)));

  it("normalizes every field the pipeline uses", () => {
    expect(record).toMatchObject({
      v: 1,
      rsvpId: 1700000001,
      mtime: 1526811900000,
      response: "yes",
      guests: 1,
      visibility: "public",
      city: { key: "us/or/portland", country: "us", state: "OR", name: "Portland" },
      event: { id: "250000001", name: "Python Night", time: 1527210000000 },
      group: {
        id: 27000001,
        name: "Portland Python",
        position: { lat: 45.52, lon: -122.68 },
        topics: [
          { key: "python", name: "Python" },
          { key: "softwaredev", name: "Software Development" },
        ],
      },
      venue: { id: 1234567, name: "Central Library", position: { lat: 45.5192, lon: -122.6819 } },
    });
  });

  it("keeps nothing of the member: no id, pseudonym, name, photo or linked accounts", () => {
    const text = JSON.stringify(record);
    expect(text).not.toContain("Jane Example");
    expect(text).not.toContain("photo");
    expect(text).not.toContain("jane_example");
    expect(text).not.toContain("987654321");
    expect(text).not.toContain("member");
    expect(Object.keys(record).sort()).toEqual([
      "city",
      "event",
      "group",
      "guests",
      "mtime",
      "response",
      "rsvpId",
      "v",
      "venue",
      "visibility",
    ]);
  });

  it("takes an RSVP whatever its member object holds, since none of it is read", () => {
    for (const member of [null, "Jane", { member_id: "not a number" }, [], { member_id: -1 }]) {
      expect(accepted(parse(withChanges((m) => (m.member = member)))).rsvpId).toBe(1700000001);
    }
  });

  it("accepts bytes as well as text", () => {
    expect(accepted(parse(Buffer.from(JSON.stringify(fixture))))).toEqual(record);
  });
});

describe("parse: normalization", () => {
  it("keeps same-named cities of different states apart (Portland, OR vs Portland, ME)", () => {
    const maine = acceptedWith((m) => (m.group.group_state = "ME"));
    expect(maine.city.key).toBe("us/me/portland");
    expect(maine.city.key).not.toBe(accepted(parse(JSON.stringify(fixture))).city.key);
  });

  it("folds case, spacing and Unicode form of city names into one key", () => {
    const decomposed = acceptedWith((m) => {
      m.group.group_city = "  Montre\u0301al ";
      m.group.group_country = "CA";
      m.group.group_state = "qc";
    });
    const composed = acceptedWith((m) => {
      m.group.group_city = "MONTRÉAL";
      m.group.group_country = "ca";
      m.group.group_state = "QC";
    });
    expect(decomposed.city).toEqual({
      key: "ca/qc/montréal",
      country: "ca",
      state: "QC",
      name: "Montréal",
    });
    expect(composed.city.key).toBe(decomposed.city.key);
    // Changing case can undo NFC: "ᾶ" uppercases to "Α͂", which lowercases to
    // "ᾶ", not "ᾶ" until normalized again. Key and state stay NFC.
    const greek = (city: string, state: string) =>
      acceptedWith((m) => {
        m.group.group_city = city;
        m.group.group_country = "us";
        m.group.group_state = state;
      }).city;
    const lower = greek("\u1FB6", "\u1FD7");
    const upper = greek("\u0391\u0342", "\u03AA\u0342");
    expect(upper.key).toBe(lower.key);
    expect(lower.key).toBe("us/\u1FD7/\u1FB6");
    for (const text of [lower.key, lower.state ?? "", upper.state ?? ""])
      expect(text.normalize("NFC")).toBe(text);
    expect(
      countableRecordSchema.safeParse({ ...accepted(parse(JSON.stringify(fixture))), city: lower })
        .success,
    ).toBe(true);
  });

  it("gives cities outside the US and Canada an empty state part", () => {
    const bogota = acceptedWith((m) => {
      m.group.group_city = "Bogotá";
      m.group.group_country = "co";
      delete m.group.group_state;
    });
    expect(bogota.city).toEqual({ key: "co//bogotá", country: "co", state: null, name: "Bogotá" });
  });

  it("removes control and bidi characters and collapses whitespace in names", () => {
    const record = acceptedWith((m) => {
      m.group.group_name = "Hikers\u0000\u0007 of\u202E the\n\n\tNorth\u2028";
      m.venue.venue_name = "\u200FCafé\r\n";
    });
    expect(record.group.name).toBe("Hikers of the North");
    expect(record.venue?.name).toBe("Café");
  });

  it("caps a city name of 5,000 characters: a bounded key with a hash of the whole, the name cut with an ellipsis", () => {
    const long = "Ciudad ".repeat(715).trim(); // 5,004 characters
    const other = `${long} Norte`;
    const a = acceptedWith((m) => (m.group.group_city = long));
    const b = acceptedWith((m) => (m.group.group_city = other));
    expect(Buffer.byteLength(a.city.key, "utf8")).toBeLessThanOrEqual(MAX_CITY_KEY_BYTES);
    expect(a.city.key).toMatch(/^us\/or\/ciudad ciudad .*~[0-9a-f]{16}$/);
    // Same long prefix, other city: another key.
    expect(b.city.key).not.toBe(a.city.key);
    expect(Buffer.byteLength(a.city.name, "utf8")).toBeLessThanOrEqual(MAX_DISPLAY_NAME_BYTES);
    expect(a.city.name).toMatch(/^Ciudad Ciudad .*…$/);
    // What the ingest sends, the counting side accepts.
    expect(countableRecordSchema.safeParse(a).success).toBe(true);
    // Multi-byte names are cut between characters, never inside one.
    const emoji = acceptedWith((m) => (m.group.group_city = "🏙️".repeat(3000)));
    expect(emoji.city.name).not.toContain("\uFFFD");
    expect(Buffer.byteLength(emoji.city.key, "utf8")).toBeLessThanOrEqual(MAX_CITY_KEY_BYTES);
    // Ordinary names are left alone.
    expect(accepted(parse(JSON.stringify(fixture))).city.key).toBe("us/or/portland");
  });

  it("refuses, on the counting side, a record from elsewhere whose city is over the caps", () => {
    const record = accepted(parse(JSON.stringify(fixture)));
    const tooLong = { ...record, city: { ...record.city, key: `us/or/${"x".repeat(1200)}` } };
    const result = countableRecordSchema.safeParse(tooLong);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["city", "key"]);
  });

  it("drops invisible characters that would split one city into several keys, but not emoji joiners", () => {
    const hidden = acceptedWith((m) => (m.group.group_city = "Port\u200Bla\u00ADnd\u2060"));
    expect(hidden.city.key).toBe("us/or/portland");
    const family =
      "👩\u200D👩\u200D👧 Scotland 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    expect(acceptedWith((m) => (m.group.group_name = family)).group.name).toBe(family);
  });

  it("keeps HTML and emoji as text (escaping is the display's job)", () => {
    const record = acceptedWith((m) => {
      m.group.group_name = "<b>Coders</b> 👩‍💻 & <script>x</script>";
    });
    expect(record.group.name).toBe("<b>Coders</b> 👩‍💻 & <script>x</script>");
  });

  it("treats lat = lon = 0 as an unknown place, and so an impossible position", () => {
    const zero = acceptedWith((m) => Object.assign(m.venue, { lat: 0, lon: 0 }));
    expect(zero.venue).toMatchObject({ id: 1234567, position: null });
    const outside = acceptedWith((m) => Object.assign(m.venue, { lat: 91, lon: 10 }));
    expect(outside.venue?.position).toBeNull();
    const wrapped = acceptedWith((m) => Object.assign(m.venue, { lat: 10, lon: -180.5 }));
    expect(wrapped.venue?.position).toBeNull();
    const edge = acceptedWith((m) => Object.assign(m.venue, { lat: -90, lon: 180 }));
    expect(edge.venue?.position).toEqual({ lat: -90, lon: 180 });
    const equator = acceptedWith((m) => Object.assign(m.venue, { lat: 0, lon: 32.5 }));
    expect(equator.venue?.position).toEqual({ lat: 0, lon: 32.5 });
  });

  it("accepts a message without venue, event time, guests or member", () => {
    const record = acceptedWith((m) => {
      const message: Record<string, unknown> = m;
      delete message.venue;
      delete (message.event as Record<string, unknown>).time;
      delete message.guests;
      delete message.member;
    });
    expect(record).toMatchObject({ venue: null, guests: 0, event: { time: null } });
    expect(record).not.toHaveProperty("member");
  });

  it("drops topics that clean to nothing and duplicate topic keys", () => {
    const record = acceptedWith((m) => {
      m.group.group_topics = [
        { urlkey: "python", topic_name: "Python" },
        { urlkey: "PYTHON", topic_name: "Python again" },
        { urlkey: "\u0000", topic_name: "Nothing" },
      ];
    });
    expect(record.group.topics).toEqual([{ key: "python", name: "Python" }]);
  });
});

describe("parse: rejections carry a reason code", () => {
  const cases: [string, string | Uint8Array, string][] = [
    ["an empty frame", "", "empty"],
    ["whitespace only", " \n\t ", "empty"],
    ["truncated JSON", JSON.stringify(fixture).slice(0, 200), "not_json"],
    ["a Python dict repr", JSON.stringify(fixture).replaceAll('"', "'"), "not_json"],
    ["a JSON array", "[1,2,3]", "not_an_object"],
    ["JSON null", "null", "not_an_object"],
    ["a JSON string", '"rsvp"', "not_an_object"],
    ["no rsvp_id", withChanges((m) => delete m.rsvp_id), "missing_field"],
    ["no group city", withChanges((m) => delete m.group.group_city), "missing_field"],
    ["an empty group city", withChanges((m) => (m.group.group_city = " \u0000 ")), "missing_field"],
    ["rsvp_id as a string", withChanges((m) => (m.rsvp_id = "abc")), "invalid_field"],
    ["mtime in seconds", withChanges((m) => (m.mtime = 1526811900)), "invalid_field"],
    ["an unknown response", withChanges((m) => (m.response = "maybe")), "invalid_field"],
    ["negative guests", withChanges((m) => (m.guests = -1)), "invalid_field"],
    [
      "more guests than MAX_GUESTS",
      withChanges((m) => (m.guests = MAX_GUESTS + 1)),
      "invalid_field",
    ],
    ["2^53 - 1 guests", withChanges((m) => (m.guests = Number.MAX_SAFE_INTEGER)), "invalid_field"],
    [
      "a three-letter country",
      withChanges((m) => (m.group.group_country = "usa")),
      "invalid_field",
    ],
    ["an oversized frame", "x".repeat(MAX_MESSAGE_BYTES + 1), "too_large"],
    ["invalid UTF-8 bytes", new Uint8Array([0xff, 0xfe, 0x7b]), "not_json"],
  ];
  it.each(cases)("%s", (_name, input, reason) => {
    const result = parse(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.reason).toBe(reason);
      expect(result.rejection.detail.length).toBeGreaterThan(0);
      expect(result.rejection.detail.length).toBeLessThanOrEqual(300);
    }
  });

  it("never quotes the input in the detail of a JSON syntax error (it may hold personal data)", () => {
    const result = parse('{"member": {"member_name": "Jane Secret" "photo": 1}}');
    expect(result).toMatchObject({ ok: false, rejection: { reason: "not_json" } });
    expect(result.ok || result.rejection.detail).toBe(
      "Expected ',' or '}' after property value at position 41",
    );
    const short = parse("{Jane}");
    expect(short.ok || short.rejection.detail).not.toMatch(/Jane/);
  });

  it("refuses bytes that are not UTF-8, even where only a value holds them", () => {
    // A Latin-1 "München" (0xFC) in a message that is otherwise JSON: read leniently it was
    // accepted as "Mnchen", under a city key of its own.
    const text = withChanges((m) => (m.group.group_city = "M\u00fcnchen"));
    const [before, after] = text.split("M\u00fcnchen") as [string, string];
    const latin1 = Buffer.concat([
      Buffer.from(before, "utf8"),
      Buffer.from("M\u00fcnchen", "latin1"),
      Buffer.from(after, "utf8"),
    ]);
    expect(parse(new Uint8Array(latin1))).toEqual({
      ok: false,
      rejection: { reason: "not_json", detail: "not valid UTF-8 text" },
    });
    // The same message in UTF-8 is an RSVP of München.
    const utf8 = parse(new Uint8Array(Buffer.from(text, "utf8")));
    expect(utf8.ok && utf8.record.city.name).toBe("M\u00fcnchen");
  });

  it("names the field in the detail", () => {
    const result = parse(withChanges((m) => delete m.group.group_city));
    expect(result.ok || result.rejection.detail).toBe("group.group_city: missing");
  });
});

describe("parse: never throws (property-based)", () => {
  const expectResult = (result: ParseResult) => {
    expect(typeof result.ok).toBe("boolean");
    // What the ingest sends, the counting side takes: never a dead letter of our own making.
    if (result.ok) expect(countableRecordSchema.safeParse(result.record).error).toBeUndefined();
    // internal_error would mean the parser itself threw and only the safety net caught it.
    if (!result.ok)
      expect(result.rejection.reason).toMatch(
        /^(empty|too_large|not_json|not_an_object|missing_field|invalid_field)$/,
      );
  };

  it("on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => expectResult(parse(text))),
      { numRuns: 2000 },
    );
  });

  it("on any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => expectResult(parse(bytes))),
      { numRuns: 1000 },
    );
  });

  it("on any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectResult(parse(JSON.stringify(value) ?? ""))),
      { numRuns: 1000 },
    );
  });

  it("on a real message with any field replaced by anything", () => {
    const paths = [
      ["rsvp_id"],
      ["mtime"],
      ["response"],
      ["guests"],
      ["visibility"],
      ["member"],
      ["venue"],
      ["venue", "lat"],
      ["venue", "venue_name"],
      ["event"],
      ["event", "event_id"],
      ["event", "time"],
      ["group"],
      ["group", "group_city"],
      ["group", "group_country"],
      ["group", "group_state"],
      ["group", "group_topics"],
      ["group", "group_lat"],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(fc.anything(), fc.string({ unit: "binary" })),
        (path, value) => {
          const message = structuredClone(fixture) as Record<string, unknown>;
          let target = message;
          for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
          target[path[path.length - 1] as string] = value;
          let text: string;
          try {
            text = JSON.stringify(message);
          } catch {
            return; // a BigInt or a cycle cannot be sent as JSON at all
          }
          expectResult(parse(text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("accepts what the synthetic feed means as valid and rejects what it breaks on purpose", () => {
    let count = 0;
    for (const message of syntheticMessages({ seed: "parse-test", malformedShare: 0.2 })) {
      const result = parse(message.text);
      expect({ kind: message.kind, ok: result.ok }).toEqual({
        kind: message.kind,
        ok: message.kind !== "malformed",
      });
      if (++count === 3000) break;
    }
  });
});

describe(`parse: recorded data${SKIPPED_WITHOUT_SHARED_DATA}`, () => {
  it.skipIf(!hasSharedData)("accepts all 1,247 real messages of rsvps-sample.jsonl", () => {
    const lines = sharedLines("rsvps-sample.jsonl");
    expect(lines).toHaveLength(1247);
    const records = lines.map((line) => accepted(parse(line)));
    const portlands = new Set(
      records.filter((r) => r.city.name === "Portland").map((r) => r.city.key),
    );
    expect(records.every((r) => !JSON.stringify(r).includes("member_name"))).toBe(true);
    expect(records.filter((r) => r.venue === null).length).toBeGreaterThan(100);
    expect(portlands.size).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(!hasSharedData)("handles every odd example as its category says", () => {
    const expectations: Record<string, (result: ParseResult) => void> = {
      truncated_json: (r) =>
        expect(r).toMatchObject({ ok: false, rejection: { reason: "not_json" } }),
      python_repr_or_single_quoted: (r) =>
        expect(r).toMatchObject({ ok: false, rejection: { reason: "not_json" } }),
      truncated_single_quoted: (r) =>
        expect(r).toMatchObject({ ok: false, rejection: { reason: "not_json" } }),
      single_quoted_unparseable: (r) =>
        expect(r).toMatchObject({ ok: false, rejection: { reason: "not_json" } }),
      rejected_not_stream_format: (r) =>
        expect(r).toMatchObject({ ok: false, rejection: { reason: "missing_field" } }),
      non_ascii_city: (r) => expect(accepted(r).city.name).toMatch(/[^\p{ASCII}]/u),
      no_venue: (r) => expect(accepted(r).venue).toBeNull(),
      venue_latlon_zero: (r) => expect(accepted(r).venue?.position).toBeNull(),
      astral_chars_in_names: (r) =>
        expect(JSON.stringify(accepted(r))).toMatch(/[\u{10000}-\u{10FFFF}]/u),
      venue_name_whitespace: (r) => {
        const name = accepted(r).venue?.name ?? "";
        expect(name).toBe(name.trim());
        expect(name).not.toMatch(/\s{2}|[\t\n\r]/);
      },
      guests_positive: (r) => expect(accepted(r).guests).toBeGreaterThan(0),
      event_without_time: (r) => expect(accepted(r).event.time).toBeNull(),
      html_in_names: (r) => expect(JSON.stringify(accepted(r))).toMatch(/<[a-z/]/i),
      control_chars_in_names: (r) =>
        expect(JSON.stringify(accepted(r))).not.toMatch(/\\u00[01][0-9a-f]|\\[tnr]/),
      same_rsvp_id_several_mtimes: (r) => expect(accepted(r).rsvpId).toBeGreaterThan(0),
    };
    const examples = oddExamples();
    expect(examples).toHaveLength(33);
    for (const example of examples) {
      const expectation = expectations[example.category];
      if (!expectation)
        throw new Error(`no expectation for category ${example.category} (${example.id})`);
      for (const frame of example.frames) expectation(parse(frame));
    }
    const updates = examples.filter((e) => e.category === "same_rsvp_id_several_mtimes");
    for (const update of updates) {
      const records = update.frames.map((frame) => accepted(parse(frame)));
      expect(new Set(records.map((r) => r.rsvpId)).size).toBe(1);
      expect(new Set(records.map((r) => r.mtime)).size).toBe(records.length);
    }
  });
});
