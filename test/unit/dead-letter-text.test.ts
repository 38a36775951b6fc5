/**
 * What a dead letter of the ingest keeps of a rejected frame (dead-letter-text.ts): the RSVP
 * format's fields, and of anything else at most its name. A dead letter is not a message of the
 * format, so cleaning only the format's personal keys kept another feed's `attendee` or a
 * free-text `comment` whole (found by review: the first four cases below).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deadLetterText, LEFT_OUT } from "../../functions/shared/rsvp/dead-letter-text.js";

const SECRET = /Jane|Example|5550100|jane\.jpg/;

describe("deadLetterText", () => {
  it("keeps no value outside the format's fields, whatever the shape of the frame", () => {
    const frames = [
      // JSON whose personal data is under keys the format does not have.
      '{"rsvp_id":1,"response":"maybe","attendee":{"name":"Jane Example","email":"j@x"}}',
      '{"user":{"name":"Jane Example","avatar":"https://x/jane.jpg"}}',
      '{"comment":"call Jane Example, 5550100"}',
      // A frame cut inside a key: its quotes read the wrong way round from there.
      'mber_name":"Jane Example","rsvp_id":1,"response":"yes"',
      // Cut inside the member object; a Python repr; plain text; JSON that is no object.
      '{"rsvp_id": 5, "mtime": 1526800000000, "member": {"member_name": "Jane Ex',
      "{'rsvp_id': 1, 'member': {'name': 'Jane'}, 'response': 'maybe'}",
      "hello Jane Example 5550100",
      '["Jane Example", 5550100]',
      "5550100",
      '"Jane Example"',
      '{"Jane Example": 1}',
      // Under a format field's name, but not where the format has it.
      '{"extra":{"event_name":"Jane Example"}}',
      '[{"rsvp_id":1,"event":{"event_name":"Jane Example"}}]',
      // A quote left unescaped in a format field's value, a comment, a bare apostrophe: each
      // turns the quotes round, and the field kept the rest of the frame (found by review).
      '{"rsvp_id":1,"event":{"event_name":"Bring a 3.5" floppy","event_id":"e1"},"attendee":{"name":"Jane Example","phone":"5550100"}}',
      '{"response":"say "hi", "comment":"Jane Example 5550100"}',
      '{"rsvp_id": 1, "response": "yes" /* from Jane Example 5550100 */}',
      '{"rsvp_id": 1 // Jane Example 5550100\n}',
      '{response: O\'Brien, comment: "Jane Example 5550100"}',
      // A format key inside a comment or another field's text; a value after an object or
      // list of a format field (second review).
      '{"rsvp_id": 1 /* mtime: 5550100 guests: Jane */}',
      '{"rsvp_id": 1, // response: Jane_Example\n "x":1}',
      '{"rsvp_id":1,"event_name_x":"3.5" floppy","comment":"response: Jane_Example_5550100"}',
      '{"event":{"event_name":"a"b","c":"event_id: Jane_Example"}}',
      '{"rsvp_id":1,"response": [] "Jane Example 5550100"}',
      '{"rsvp_id":1,"guests": {} Jane_Example_5550100}',
    ];
    for (const frame of frames) expect(deadLetterText(frame), frame).not.toMatch(SECRET);
  });

  it("keeps the format's fields of a JSON frame, and names the others", () => {
    const frame = {
      rsvp_id: 7,
      mtime: 1526800000000,
      response: "maybe",
      guests: 1,
      member: { member_id: 3, member_name: "Jane" },
      attendee: { name: "Jane" },
      event: { event_id: "e1", event_name: "Python Night", time: 1, extra: "Jane" },
      group: {
        group_id: 9,
        group_city: "Portland",
        group_country: "us",
        group_topics: [{ urlkey: "py", topic_name: "Python", by: "Jane" }],
      },
      "a name with spaces": "Jane",
    };
    expect(JSON.parse(deadLetterText(JSON.stringify(frame)))).toEqual({
      rsvp_id: 7,
      mtime: 1526800000000,
      response: "maybe",
      guests: 1,
      member: "[personal data removed]",
      attendee: LEFT_OUT,
      event: { event_id: "e1", event_name: "Python Night", time: 1, extra: LEFT_OUT },
      group: {
        group_id: 9,
        group_city: "Portland",
        group_country: "us",
        group_topics: [{ urlkey: "py", topic_name: "Python", by: LEFT_OUT }],
      },
      "[fields left out, names and all]": 1,
    });
  });

  it("keeps the shape and the format's fields of text that is not JSON", () => {
    expect(
      deadLetterText('{"rsvp_id": 5, "response": "maybe", "comment": "Jane", "group": {"group_ci'),
    ).toBe('{"rsvp_id": 5, "response": "maybe", "comment": "…", "group": {"…');
    expect(deadLetterText("{'rsvp_id': 1, 'member': {'name': 'Jane'}}")).toBe(
      "{'rsvp_id': 1, '…': {'name': '…'}}",
    );
  });

  it("still cleans a member object held as text in a format field", () => {
    const frame = JSON.stringify({
      rsvp_id: 1,
      group: { group_country: JSON.stringify({ member_name: "Jane Example" }) },
    });
    expect(deadLetterText(frame)).not.toMatch(SECRET);
    expect(deadLetterText(frame)).toContain("[personal data removed]");
  });

  it("keeps no generated secret, in any frame cut anywhere, JSON or Python repr (property)", () => {
    const fieldNames = ["rsvp_id", "response", "event", "event_name", "group", "group_city"];
    // Ordinary values, one with a quote that a careless producer leaves unescaped.
    const key = fc.oneof(
      fc.constantFrom(...fieldNames),
      fc.constantFrom("attendee", "comment", "user", "name", "member", "notes", "Secret9"),
    );
    // Format fields hold ordinary values; any other key holds a secret, at any depth below.
    const secret = fc.integer({ min: 1000, max: 9999 }).map((n) => `Secret${n}`);
    const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.constantFrom("yes", "Portland", "Python Night", 'Bring a 3.5" floppy', "O'Brien"),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.dictionary(key, tie("value"), { maxKeys: 4 }),
      ),
    })).value;
    const secretTree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        secret,
        fc.array(tie("value"), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom("name", "event_name", "x"), tie("value"), { maxKeys: 3 }),
      ),
    })).value;
    const frame = fc
      .tuple(
        fc.dictionary(fc.constantFrom(...fieldNames), tree, { maxKeys: 4 }),
        fc.dictionary(fc.constantFrom("attendee", "comment", "user", "member"), secretTree, {
          minKeys: 1,
          maxKeys: 3,
        }),
      )
      .map(([fields, others]) => ({ ...fields, ...others }));
    fc.assert(
      fc.property(frame, fc.nat(), fc.nat(3), (message, cutAt, style) => {
        const json = JSON.stringify(message);
        // JSON; a Python repr; quotes left unescaped; a comment after the first value.
        const text = [
          json,
          json.replaceAll('"', "'"),
          json.replaceAll('\\"', '"'),
          json.replace(",", ", /* Secret4242 */"),
        ][style] as string;
        for (const variant of [
          text,
          text.slice(0, cutAt % (text.length + 1)),
          text.slice(cutAt % (text.length + 1)),
        ])
          expect(deadLetterText(variant), variant).not.toMatch(/Secret\d{4}/);
      }),
      { numRuns: 500 },
    );
  });
});
