/**
 * The city-counts function's configuration: an RSVP's state (the dedup horizon,
 * RSVP_STATE_TTL_DAYS) must outlive every redelivery the topic can make, which is its retention,
 * plus its segment's roll, plus the hour the handler allows for the broker's retention check (the
 * same hour it keeps states alive for). A configuration where a state could expire before the
 * topic's last redelivery is refused at start. And the horizon holds for a copy read late: a
 * state lives the horizon plus the topic's keep time after its write.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { processBatch } from "../../functions/city-counts/process-batch.js";
import { ConfigError } from "../../functions/shared/config.js";
import { CostModelStore } from "../../local/dynamodb/cost-model-store.js";
import { functionEnvironment } from "../../local/stack/template-model.js";
import { countsOfItems } from "../support/counts-table.js";

type HandlerModule = typeof import("../../functions/city-counts/handler.js");

/** The handler module loaded with `environment` (its configuration is read at load). */
async function loadWith(environment: Record<string, string>): Promise<HandlerModule> {
  vi.resetModules();
  for (const name of [
    "RSVP_STATE_TTL_DAYS",
    "RSVP_TOPIC_RETENTION_HOURS",
    "RSVP_TOPIC_SEGMENT_HOURS",
  ])
    vi.stubEnv(name, undefined);
  vi.stubEnv("TABLE_NAME", "counts");
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  return import("../../functions/city-counts/handler.js");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("city-counts' configuration: the dedup horizon outlives every redelivery", () => {
  it("takes template.yaml's environment for the function, parameters at their defaults", async () => {
    const environment = functionEnvironment("CityCountsFunction", { CityCountsTable: "counts" });
    const { defaultDependencies } = await loadWith(environment);
    // 14 days against 168 h of retention + 1 h of segment roll + 1 h for the retention check;
    // a state lives both after its write.
    expect(defaultDependencies.keepAliveSeconds).toBe((168 + 1 + 1) * 3_600);
    expect(defaultDependencies.stateTtlSeconds).toBe(14 * 86_400 + (168 + 1 + 1) * 3_600);
  });

  // 7 days are 168 h. With 1 h of segment roll and 1 h for the broker's retention check, a
  // retention of 166 h may redeliver a record 168 h after it was written: the state would
  // expire as the record can still come. (Without the check's hour, 166 + 1 < 168 passed.)
  it("refuses a horizon inside the retention check's hour", async () => {
    await expect(
      loadWith({
        RSVP_STATE_TTL_DAYS: "7",
        RSVP_TOPIC_RETENTION_HOURS: "166",
        RSVP_TOPIC_SEGMENT_HOURS: "1",
      }),
    ).rejects.toThrow(
      new ConfigError(
        "invalid configuration: RSVP_STATE_TTL_DAYS: must outlive the topic's retention, its segment roll and 1 h for the broker's retention check (RSVP_TOPIC_RETENTION_HOURS + RSVP_TOPIC_SEGMENT_HOURS + 1 < RSVP_STATE_TTL_DAYS x 24)",
      ),
    );
  });

  it("accepts a horizon just outside it, and keeps states alive for less than they live", async () => {
    const { defaultDependencies } = await loadWith({
      RSVP_STATE_TTL_DAYS: "7",
      RSVP_TOPIC_RETENTION_HOURS: "165",
      RSVP_TOPIC_SEGMENT_HOURS: "1",
    });
    // The keep-alive uses the same hour as the check: 165 + 1 + 1 = 167 h, under the 168 h.
    expect(defaultDependencies.keepAliveSeconds).toBe(167 * 3_600);
    expect(defaultDependencies.stateTtlSeconds).toBe((168 + 167) * 3_600);
  });

  it("changes nothing for a copy sent just inside the horizon and read a topic's keep time later", async () => {
    const { defaultDependencies } = await loadWith({});
    const store = new CostModelStore();
    const written = Date.UTC(2026, 0, 1, 12);
    const rsvp = {
      v: 1,
      rsvpId: 7,
      mtime: written,
      response: "yes",
      guests: 2,
      city: { key: "us/or/portland", country: "us", state: "OR", name: "Portland" },
    };
    const run = (offset: number, nowMs: number) =>
      processBatch([{ topic: "meetup", partition: 0, offset, value: JSON.stringify(rsvp) }], {
        ...defaultDependencies,
        store,
        unwrittenRecords: new Map(),
        markedDays: new Set(),
        now: () => nowMs,
        pause: async () => {},
      });
    await run(0, written);
    // The feed sends the same message again an hour inside the 14-day horizon; the consumer,
    // behind, reads it an hour inside the topic's 170 h. DynamoDB's TTL has deleted whatever
    // expired by then (it may do so at once).
    const read = written + (14 * 24 - 1 + 170 - 1) * 3_600_000;
    for (const [key, item] of store.images)
      if (Number(item.expiresAt?.N ?? Number.POSITIVE_INFINITY) <= read / 1000)
        store.images.delete(key);
    await run(1, read);
    const portland = [...countsOfItems(store.images.values()).values()].map(
      ({ rsvps, yes, guests }) => ({ rsvps, yes, guests }),
    );
    // The day's row and the all-time row: one RSVP, once.
    expect(portland).toEqual([
      { rsvps: 1, yes: 1, guests: 2 },
      { rsvps: 1, yes: 1, guests: 2 },
    ]);
  });
});
