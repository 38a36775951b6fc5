import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redactPersonalData, WITHHELD } from "../../functions/shared/rsvp/redact.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";

const MARK = "[personal data removed]";

describe("redactPersonalData", () => {
  it("replaces the whole member object of a JSON message and keeps the rest", () => {
    const raw = JSON.stringify({
      venue: { venue_id: 1 },
      member: {
        member_id: 12,
        member_name: "Jane {Doe}",
        photo: "p.jpg",
        other_services: { twitter: { identifier: "@jane" } },
      },
      rsvp_id: 5,
    });
    const redacted = redactPersonalData(raw);
    expect(JSON.parse(redacted)).toEqual({ venue: { venue_id: 1 }, member: MARK, rsvp_id: 5 });
  });

  it("handles Python dict reprs, truncated frames and flattened fields", () => {
    expect(
      redactPersonalData("{'member': {'member_id': 221, 'member_name': 'Ann'}, 'rsvp_id': 1}"),
    ).toBe(`{'member': '${MARK}', 'rsvp_id': 1}`);
    expect(
      redactPersonalData('{"rsvp_id":1,"member":{"member_id":67055112,"member_name":"Mem'),
    ).toBe(`{"rsvp_id":1,"member": "${MARK}"`);
    expect(redactPersonalData('{"member_id":234587908,"member_name":"Bob","photo":"x"}')).toBe(
      `{"member_id":"${MARK}","member_name":"${MARK}","photo":"${MARK}"}`,
    );
  });

  it("finds personal fields however a JSON frame spells or shapes them, at any depth", () => {
    const hostile = [
      // A key spelled with escapes, the accounts object beside the member's fields.
      '{"\\u006dember":{"member_id":5,"member_name":"Alice","other_services":{"twitter":{"identifier":"@alice"}}}}',
      // A member that is a string, names in a list, a nested copy.
      '{"member":"Alice Smith","mtime":"soon"}',
      '{"member_name":["Alice"],"rsvp_id":3}',
      '{"rsvp":{"payload":[{"member":{"member_name":"Alice"}}]}}',
      '{"other_services":{"facebook":{"identifier":"alice"}},"mtime":1}',
      // A member object flattened, as pandas' json_normalize writes one.
      '{"member.member_id":7,"member.member_name":"Alice Smith","member.photo":"https://p/alice.jpg","rsvp_id":1}',
      '{"member_photo":"https://p/alice.jpg","memberOtherServices.twitter":"@alice","rsvp_id":1}',
    ];
    for (const raw of hostile) {
      expect(JSON.parse(raw), raw).toBeDefined();
      const redacted = redactPersonalData(raw);
      expect(redacted, raw).not.toMatch(/alice|Alice/);
      expect(redacted, raw).toContain(MARK);
      expect(() => JSON.parse(redacted), raw).not.toThrow();
    }
    expect(JSON.parse(redactPersonalData(hostile[1] as string))).toEqual({
      member: MARK,
      mtime: "soon",
    });
  });

  it("finds them in text that is not JSON too: escaped keys, string members, lists, accounts", () => {
    const cut = [
      '{"\\u006dember":{"member_name":"Alice","other_se',
      '{"member":"Alice Smith","mtime":',
      "{'member_name': ['Alice'], 'rsvp_id': 3",
      '{"rsvp_id":1,"other_services":{"twitter":{"identifier":"@alice"}},"mti',
    ];
    for (const raw of cut) {
      expect(() => JSON.parse(raw), raw).toThrow();
      const redacted = redactPersonalData(raw);
      expect(redacted, raw).not.toMatch(/alice|Alice/);
      expect(redacted, raw).toContain(MARK);
    }
  });

  it("never throws, however deep a small message nests (the ingest calls it in its feed listener)", () => {
    for (const depth of [2_000, 12_000]) {
      const arrays = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      expect(redactPersonalData(arrays)).toBe(arrays);
      const objects = `${'{"a":'.repeat(depth)}{"member":{"member_name":"Alice"}}${"}".repeat(depth)}`;
      const redacted = redactPersonalData(objects);
      expect(redacted).not.toContain("Alice");
      expect(redacted).toContain(MARK);
    }
    // Deeper than the 64 KiB it reads: the cut text is scanned, the member still found.
    const deepest = `${'{"a":'.repeat(50_000)}{"member":{"member_name":"Alice"}}`;
    const cut = `{"member":{"member_name":"Alice"}}${'{"a":'.repeat(50_000)}`;
    for (const raw of [deepest.slice(-60_000), cut]) {
      expect(redactPersonalData(raw)).not.toContain("Alice");
      expect(redactPersonalData(raw)).toContain(MARK);
    }
  });

  it("looks into JSON held in strings, and into text scans for every personal key and shape", () => {
    const inner = JSON.stringify({ member: { member_name: "Alice Smith" } });
    for (const raw of [
      JSON.stringify(inner),
      JSON.stringify({ payload: inner }),
      JSON.stringify({ payload: JSON.stringify({ wrapped: inner }) }),
      '{"rsvp_id":1,"other_services": ["@alice"], "mti',
      '{"rsvp_id":1,"photo": {"photo_link": "https://x/alice.jpg"}, "mti',
      "{u'member_name': u'Alice', 'rsvp_id': 1",
      "{'member_name': 'Alice \\'Al\\' Smith', 'rsvp_id': 1",
    ]) {
      const redacted = redactPersonalData(raw);
      expect(redacted, raw).not.toMatch(/alice/i);
      expect(redacted, raw).toContain(MARK);
    }
  });

  it("finds quoted JSON in text, escaped keys in strings, and messages quoted many times over", () => {
    const member = { member: { member_name: "Alice" } };
    let quoted = JSON.stringify(member);
    const raws = [
      '{"x": "{\\"member\\": {\\"name\\": \\"Alice\\"}}',
      '{"raw": "{\\"member_name\\":\\"Alice\\"',
      JSON.stringify({ x: '{"\\u006dember": {"name": "Alice"}}' }),
      `${"[".repeat(20_000)}${JSON.stringify({ x: JSON.stringify(member) })}${"]".repeat(20_000)}`,
    ];
    for (let times = 0; times < 8; times++) {
      quoted = JSON.stringify(quoted);
      raws.push(quoted, JSON.stringify({ x: quoted }));
    }
    for (const raw of raws) {
      const redacted = redactPersonalData(raw);
      expect(redacted, raw.slice(0, 80)).not.toContain("Alice");
      expect(redacted, raw.slice(0, 80)).toContain(MARK);
    }
  });

  it("withholds a text it cannot read whole: other encodings, unquoted keys, quotes in names", () => {
    const member = {
      member: { member_id: 7, member_name: "Jane Secret", photo: "https://p/j.jpg" },
    };
    const json = JSON.stringify(member);
    const unreadable = [
      // UTF-16 read as text, HTML-escaped and URL-encoded JSON.
      Buffer.from(json, "utf16le").toString("latin1"),
      json.replaceAll('"', "&quot;"),
      json.replaceAll('"', "&#34;"),
      encodeURIComponent(json),
      // Keys without quotes (JavaScript, YAML, a query string), a repr inside a repr.
      "{member: {member_id: 7, member_name: 'Jane Secret'}}",
      "member_name: Jane Secret\nrsvp_id: 1",
      "rsvp_id=1&member_name=Jane+Secret",
      "{'x': '{\\'member\\': {\\'member_name\\': \\'Jane Secret\\'}}'}",
      // A quote inside a single-quoted name: the scan cannot tell where the value ends.
      "{'member_name':'Jane O'Secret', 'rsvp_id': 1",
      // A flattened member field in a cut frame, as the JSON path finds it in a whole one.
      '{"rsvp_id":1,"member_photo":"https://p/j.jpg","x":2',
      "{'rsvp_id': 1, 'member_full_name': 'Jane Secret', 'x'",
      // ...nor where the member object ends, with a brace in the name as well.
      "{'member':{'member_id':1,'member_name':'Jane O'Neil} Secret'},'rsvp_id':1}",
      // A key with its value but no colon: quoted, or spelled as an identifier.
      '{"member_name" "Jane Secret","rsvp_id":1',
      "{'photo' 'https://p/j.jpg', 'rsvp_id': 1",
      "rsvp_id\t1\nmember_name\tJane Secret",
      "memberId Jane Secret",
      // The same in JSON quoted inside a string of a cut message.
      '{"data":"{\\"photo\\" \\"https://p/j.jpg\\", \\"x\\": 1',
    ];
    for (const raw of unreadable) {
      expect(() => JSON.parse(raw), raw).toThrow();
      expect(redactPersonalData(raw), raw).toBe(WITHHELD);
    }
    // Inside a JSON message, only the string that cannot be read is withheld.
    const nested = JSON.stringify({ rsvp_id: 1, note: json.replaceAll('"', "&quot;") });
    expect(JSON.parse(redactPersonalData(nested))).toEqual({ rsvp_id: 1, note: WITHHELD });
    // Text that only mentions the words, or has them as values, keeps its diagnosis.
    const mentions = "{'event_name': 'Photography: a photo walk for members', 'rsvp_id': 1";
    expect(redactPersonalData(mentions)).toBe(mentions);
    const values =
      '{"event":{"event_name":"Member","rsvp_id":1},"group":{"group_topics":[{"urlkey":"photo","topic_name":"Photo"}],"group_city":"Ro';
    expect(redactPersonalData(values)).toBe(values);
    const cutAfterMember = `{"member":{"member_id":7,"member_name":"Jane Secret"},${values.slice(1)}`;
    expect(redactPersonalData(cutAfterMember)).toBe(
      `{"member": "[personal data removed]",${values.slice(1)}`,
    );
  });

  it("finds personal keys in any case or spelling, and in typographic, XML or twice-encoded text", () => {
    // Valid JSON with keys spelled otherwise: the value goes, the rest stays.
    const spelled = [
      '{"Member_Name":"Jo Bloggs","mtime":1}',
      '{"memberName":"Jo Bloggs","mtime":1}',
      '{"MEMBER":{"name":"Jo Bloggs"},"mtime":1}',
      '{"member_name ":"Jo Bloggs","mtime":1}',
      '{"OtherServices":{"twitter":{"identifier":"@jo"}},"mtime":1}',
    ];
    for (const raw of spelled) {
      const redacted = redactPersonalData(raw);
      expect(redacted, raw).not.toMatch(/Jo Bloggs|@jo/);
      expect(JSON.parse(redacted).mtime, raw).toBe(1);
    }
    // Text it cannot read whole: withheld.
    const unreadable = [
      '{“member_name”: “Jo Bloggs”, "mt',
      "<rsvp><member_name>Jo Bloggs</member_name><mtime>1",
      encodeURIComponent(encodeURIComponent('{"member_name":"Jo Bloggs"}')),
      "{'Member Name'： 'Jo Bloggs'",
    ];
    for (const raw of unreadable) expect(redactPersonalData(raw), raw).toBe(WITHHELD);
    // Words that only look alike stay: a members-only event, a photography group.
    const alike =
      "{'visibility': 'members', 'group_name': 'Photography Club', 'event': 'photo_walk>";
    expect(redactPersonalData(alike)).toBe(alike);
  });

  it("reads at most 64 KiB of a text, however large the frame", () => {
    const huge = `{"member_name":"Alice","pad":"${"x".repeat(4_000_000)}","end":"END"}`;
    const redacted = redactPersonalData(huge);
    expect(redacted.length).toBeLessThan(65 * 1024);
    expect(redacted).not.toContain("END");
    expect(redacted).not.toContain("Alice");
  });

  it("never cuts a surrogate pair in two: what it returns is well-formed Unicode to store", () => {
    // The 64 KiB cut falls inside an emoji; the member object taken out moves it to the front.
    let text = `{"member":{"member_name":"${"a".repeat(65_496)}"},"x":"`;
    text += "b".repeat(65_535 - text.length);
    text += "😀😀😀 tail";
    expect(text.slice(0, 65_536).isWellFormed()).toBe(false);
    const redacted = redactPersonalData(text);
    expect(redacted).not.toContain("a".repeat(100));
    expect(redacted.endsWith("b")).toBe(true);
    expect(redacted.isWellFormed()).toBe(true);
    // A lone surrogate in the text itself is replaced, not kept.
    expect(redactPersonalData("not json \ud83d")).toBe("not json \ufffd");
  });

  it("leaves text without personal fields unchanged", () => {
    // Escaped quotes and backslashes are unescaped level by level to find quoted JSON; with no
    // personal field found, the text comes back as it was (a random run once found `\"` -> `"`).
    for (const text of ['\\"', 'a\\"b', '\\\\"', '{"a": "\\"x\\""', "\\u0041\\\\"])
      expect(redactPersonalData(text), text).toBe(text);
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!/member|photo/.test(text));
        expect(redactPersonalData(text)).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });

  it("removes the fake member names from every malformed synthetic message", () => {
    let checked = 0;
    for (const message of syntheticMessages({ seed: "redact", malformedShare: 1 })) {
      expect(redactPersonalData(message.text)).not.toMatch(
        /Synthetic\d|example\.invalid\/photos|"member_id":\d/,
      );
      if (++checked === 2000) break;
    }
  });
});
