/**
 * The ingest's counter reports: the plain JSON line keeps the totals since start; the EMF
 * document reports the increase since the previous report, so CloudWatch's Sum per period is
 * the number of events in that period.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_METRICS_NAMESPACE } from "../../tasks/ingest/config.js";
import { createEmfReporter, flatten } from "../../tasks/ingest/counters.js";
import { ingestCounters } from "../support/ingest-counters.js";

const METRICS_NAMESPACE = "RsvpAtlas/my-stack/Ingest";
const counters = ingestCounters;

// CloudWatch takes EMF timestamps from 14 days back to 2 hours ahead (Powertools warns outside).
const NOW = Date.now() - 60_000;

type EmfDoc = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  service: string;
  message: string;
} & Record<string, unknown>;

describe("flatten", () => {
  it("gives the totals since start with rejected.<reason> and retried.<sink> keys", () => {
    expect(
      flatten(
        counters({
          received: 10,
          produced: 8,
          deadLettered: 2,
          rejected: { not_json: 2 },
          retried: { kafka: 1, firehose: 0 },
        }),
      ),
    ).toEqual({
      received: 10,
      produced: 8,
      ticks: 0,
      sentToFirehose: 0,
      deadLettered: 2,
      "rejected.not_json": 2,
      "retried.kafka": 1,
      "retried.firehose": 0,
      reconnects: 0,
      oversizedFrames: 0,
      paused: 0,
    });
  });
});

describe("createEmfReporter", () => {
  it("reports since start first, then the increase since the previous report", () => {
    const report = createEmfReporter("ingest", METRICS_NAMESPACE);
    const first = report(counters({ received: 100, produced: 90, deadLettered: 10 }), NOW);
    expect(first).toMatchObject({ received: 100, produced: 90, deadLettered: 10 });
    const second = report(
      counters({ received: 250, produced: 230, deadLettered: 20 }),
      NOW + 10_000,
    );
    expect(second).toMatchObject({ received: 150, produced: 140, deadLettered: 10 });
    const quiet = report(
      counters({ received: 250, produced: 230, deadLettered: 20 }),
      NOW + 20_000,
    );
    expect(quiet).toMatchObject({ received: 0, produced: 0, deadLettered: 0, paused: 0 });
  });

  it("adds up, over successive reports, to the totals since start", () => {
    const report = createEmfReporter("ingest", METRICS_NAMESPACE);
    const totals = [3, 3, 17, 40, 41];
    let sum = 0;
    for (const received of totals) sum += Number(report(counters({ received }))?.received);
    expect(sum).toBe(41);
  });

  it("reports a rejected.<reason> that appears later since start, then its increase", () => {
    const report = createEmfReporter("ingest", METRICS_NAMESPACE);
    const first = report(counters({ rejected: { not_json: 2 } })) as unknown as EmfDoc;
    expect(first["rejected.not_json"]).toBe(2);
    expect(first).not.toHaveProperty("rejected.missing_field");

    const second = report(
      counters({ rejected: { not_json: 5, missing_field: 4 } }),
    ) as unknown as EmfDoc;
    expect(second["rejected.not_json"]).toBe(3);
    expect(second["rejected.missing_field"]).toBe(4);
    expect(second._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(["rejected.not_json", "rejected.missing_field"]),
    );

    const third = report(
      counters({ rejected: { not_json: 5, missing_field: 6 } }),
    ) as unknown as EmfDoc;
    expect(third["rejected.not_json"]).toBe(0);
    expect(third["rejected.missing_field"]).toBe(2);
  });

  it("keeps one reporter's state to itself", () => {
    const a = createEmfReporter("ingest", METRICS_NAMESPACE);
    const b = createEmfReporter("ingest", METRICS_NAMESPACE);
    a(counters({ received: 10 }));
    expect(a(counters({ received: 15 })).received).toBe(5);
    expect(b(counters({ received: 15 })).received).toBe(15);
  });

  it("reports a counter that went down (reset) with its current value, never negative", () => {
    const report = createEmfReporter("ingest", METRICS_NAMESPACE);
    report(counters({ reconnects: 4 }));
    expect(report(counters({ reconnects: 1 })).reconnects).toBe(1);
    expect(report(counters({ reconnects: 3 })).reconnects).toBe(2);
  });

  it("writes an EMF document: namespace, service dimension, a Count metric per value", () => {
    const report = createEmfReporter("ingest", METRICS_NAMESPACE);
    const doc = report(
      counters({ received: 7, deadLettered: 1, rejected: { empty: 1 } }),
      NOW,
    ) as unknown as EmfDoc;
    expect(doc._aws.Timestamp).toBe(NOW);
    expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
    const [directive] = doc._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
    expect(DEFAULT_METRICS_NAMESPACE).toBe("RsvpAtlas/Ingest");
    expect(directive?.Dimensions).toEqual([["service"]]);
    expect(doc.service).toBe("ingest");
    expect(doc.message).toBe("ingest counters");
    expect(directive?.Metrics).toEqual(
      [
        "received",
        "produced",
        "ticks",
        "sentToFirehose",
        "deadLettered",
        "reconnects",
        "oversizedFrames",
        "paused",
        "rejected.empty",
        "retried.kafka",
        "retried.firehose",
      ].map((Name) => ({ Name, Unit: "Count" })),
    );
    // Every metric has its value as a number at the top level, as EMF requires.
    for (const { Name } of directive?.Metrics ?? []) expect(typeof doc[Name]).toBe("number");
  });
});
