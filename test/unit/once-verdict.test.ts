/**
 * `npm start -- --input FILE --once`: exit 0 only if every valid record was counted. The local
 * MSK event source treats a batch handed to the failed-batches bucket after its retries as done
 * (as Lambda does), so "city-counts read every record" is not enough: a record set aside was
 * read and not counted. onceVerdict is what start.ts decides with.
 */
import { describe, expect, it } from "vitest";
import { type OnceRun, onceVerdict } from "../../local/pipeline/local-pipeline.js";

/** A replay of 100 lines: 96 produced and read, 4 rejected and dead-lettered by the ingest. */
const counted: OnceRun = {
  drained: true,
  produced: 96,
  read: 96,
  rejected: 4,
  ingestDeadLettered: 4,
  setAside: 0,
  setAsideIn: [],
};

describe("onceVerdict: whether a --once replay was fully counted", () => {
  it("passes a replay whose every produced record was read and none set aside", () => {
    expect(onceVerdict(counted)).toEqual({ ok: true });
  });

  it("fails when the event source set records aside after their retries, saying how many and where", () => {
    // The counting failed for good on one record: bisected down to it, its retries spent, its
    // one-record batch written to the failed-batches bucket. Read, so drained; not counted.
    const where = "s3://rsvp-atlas-countsfailedbatchesbucket/failed-batches/meetup-2/41-41.json";
    const verdict = onceVerdict({ ...counted, setAside: 1, setAsideIn: [where] });
    expect(verdict.ok).toBe(false);
    const reason = verdict.ok ? "" : verdict.reason;
    expect(reason).toMatch(/^the replay was not fully counted: /);
    expect(reason).toContain("city-counts set 1 record aside uncounted after their retries");
    expect(reason).toContain(`in the local on-failure destination (${where}`);
  });

  it("names at most three of the batches set aside, and how many more there are", () => {
    const objects = [1, 2, 3, 4, 5].map(
      (n) => `s3://bucket/failed-batches/meetup-0/${n}-${n}.json`,
    );
    const verdict = onceVerdict({ ...counted, setAside: 5, setAsideIn: objects });
    const reason = verdict.ok ? "" : verdict.reason;
    expect(reason).toContain("city-counts set 5 records aside");
    expect(reason).toContain(`${objects.slice(0, 3).join(", ")} and 2 more;`);
    expect(reason).not.toContain(objects[3]);
  });

  it("fails when city-counts did not read every produced record in time", () => {
    expect(onceVerdict({ ...counted, drained: false, read: 90 })).toEqual({
      ok: false,
      reason: "the replay was not fully counted: city-counts read 90 of the 96 records produced",
    });
  });

  it("fails when a rejected line was not dead-lettered by the ingest", () => {
    expect(onceVerdict({ ...counted, ingestDeadLettered: 3 })).toEqual({
      ok: false,
      reason: "the replay was not fully counted: the ingest rejected 4 lines but dead-lettered 3",
    });
  });

  it("says every problem at once", () => {
    const verdict = onceVerdict({
      ...counted,
      drained: false,
      read: 95,
      ingestDeadLettered: 3,
      setAside: 2,
      setAsideIn: ["s3://bucket/failed-batches/meetup-0/7-8.json"],
    });
    const reason = verdict.ok ? "" : verdict.reason;
    expect(reason.split("; ").length).toBeGreaterThanOrEqual(3);
    expect(reason).toContain("read 95 of the 96");
    expect(reason).toContain("dead-lettered 3");
    expect(reason).toContain("set 2 records aside");
  });
});
