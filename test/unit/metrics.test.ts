/**
 * The EMF documents of the cluster watch and the ingest counters come from Powertools Metrics
 * through functions/shared/metrics.ts: the dimension set is exactly the one given (the alarms
 * read a metric by its full dimension set), and nothing carries over from one document to the next.
 */
import { describe, expect, it } from "vitest";
import { createEmfSerializer, MetricUnit } from "../../functions/shared/metrics.js";

const NOW = Date.now() - 60_000;

describe("createEmfSerializer", () => {
  it("has exactly the dimensions given: no `service` of Powertools' own", () => {
    const toEmf = createEmfSerializer({ namespace: "Test/Space", dimensions: { Cluster: "c-1" } });
    const doc = toEmf({
      metrics: { AgeSeconds: { unit: MetricUnit.Seconds, value: 90 } },
      metadata: { message: "hello" },
      timestamp: NOW,
    });
    expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["Cluster"]]);
    expect(doc).not.toHaveProperty("service");
    expect(doc).toMatchObject({ Cluster: "c-1", message: "hello", AgeSeconds: 90 });
  });

  it("starts every document afresh: no metric, metadata or timestamp of the one before", () => {
    const toEmf = createEmfSerializer({ namespace: "Test/Space", dimensions: { service: "s" } });
    toEmf({
      metrics: { a: { unit: MetricUnit.Count, value: 1 } },
      metadata: { note: "first" },
      timestamp: NOW,
    });
    const before = Date.now();
    const second = toEmf({ metrics: { b: { unit: MetricUnit.Count, value: 0 } } });
    expect(second).not.toHaveProperty("a");
    expect(second).not.toHaveProperty("note");
    expect(second.b).toBe(0);
    expect(second._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: "b", Unit: "Count" }]);
    expect(second._aws.Timestamp).toBeGreaterThanOrEqual(before);
  });
});
