/**
 * The city-counts function's configuration: an RSVP's state (the dedup horizon,
 * RSVP_STATE_TTL_DAYS) must outlive every redelivery the topic can make, which is its retention,
 * plus its segment's roll, plus the hour the handler allows for the broker's retention check (the
 * same hour it keeps states alive for). A configuration where a state could expire before the
 * topic's last redelivery is refused at start.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "../../functions/shared/config.js";
import { functionEnvironment } from "../../local/stack/template-model.js";

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
    // 14 days against 168 h of retention + 1 h of segment roll + 1 h for the retention check.
    expect(defaultDependencies.stateTtlSeconds).toBe(14 * 86_400);
    expect(defaultDependencies.keepAliveSeconds).toBe((168 + 1 + 1) * 3_600);
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
    expect(defaultDependencies.stateTtlSeconds).toBe(168 * 3_600);
  });
});
