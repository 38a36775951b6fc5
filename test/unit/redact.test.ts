import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redactPersonalData } from "../../functions/shared/rsvp/redact.js";
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

  it("leaves text without personal fields unchanged", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!/member|photo/.test(text));
        expect(redactPersonalData(text)).toBe(text);
      }),
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
