/**
 * The fault suite's short form (`npm run chaos -- --short`): each kind of fault once, on its own
 * engines, with a fixed seed. After every fault the counts equal the counting rule over what the
 * feed delivered (nothing lost, nothing counted twice), the raw landing holds every valid
 * message, and the counts API answered the garbage with 4xx, never a 5xx or a hang. Raw
 * duplicates are allowed (at-least-once, reported); the feed's own loss is reported apart.
 */
import { describe, expect, it } from "vitest";
import { SHORT_FAULTS } from "../../local/chaos/faults.js";
import { runChaos } from "../../local/chaos/run.js";
import { chaosTable } from "../../local/chaos/table.js";
import { hasSharedData, sharedLines } from "../support/shared-data.js";

describe("the pipeline under faults (short form)", () => {
  it("loses and doubles no RSVP, and lands every raw record, through each fault", async () => {
    // The handlers running in this process log their expected warnings (a 503 under throttling)
    // as JSON: not into the test output.
    process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
    const report = await runChaos({
      seed: 20261205,
      faults: SHORT_FAULTS,
      allAtOnce: false,
      messagesPerPhase: 300,
      ratePerSecond: 100,
      // The recorded sample plays in the baseline when ../shared is there.
      ...(hasSharedData ? { prelude: sharedLines("rsvps-sample.jsonl") } : {}),
      progress: (line) => process.stdout.write(`[chaos test] ${line}\n`),
    });
    process.stdout.write(`${chaosTable(report.phases)}\n`);
    expect(report.phases.map((phase) => phase.phase)).toEqual(["baseline", ...SHORT_FAULTS]);
    for (const phase of report.phases) {
      const { rsvpsLost, rsvpsCountedTwice, rowsWrong, rawLost, apiDisagreements } = phase.delta;
      expect(
        { rsvpsLost, rsvpsCountedTwice, rowsWrong, rawLost, apiDisagreements },
        phase.phase,
      ).toEqual({
        rsvpsLost: 0,
        rsvpsCountedTwice: 0,
        rowsWrong: 0,
        rawLost: 0,
        apiDisagreements: 0,
      });
      if (phase.injectedAt.length > 0) expect(phase.recoveredAfter, phase.phase).not.toBeNull();
    }
    // Every fault was really there: the pipeline had something to ride out.
    const notes = report.phases.flatMap((phase) => phase.notes).join("; ");
    expect(notes).toContain("counting killed mid-batch");
    const api = report.phases.find((phase) => phase.phase === "api-garbage")?.api;
    expect(api?.requests).toBeGreaterThanOrEqual(40); // at least one burst of 40 at once
    expect(api?.clientErrors).toBeGreaterThan(0);
    expect({ serverErrors: api?.serverErrors, hangs: api?.hangs, unclear: api?.unclear }).toEqual({
      serverErrors: 0,
      hangs: 0,
      unclear: 0,
    });
    expect(report.final.rsvps).toBeGreaterThan(1000);
  }, 600_000);
});
