import { describe, expect, it } from "vitest";
import { parseProducerPerformanceSummary } from "../../bench/stream/producer-performance.js";

// Lines as Kafka 4.0's ProducerPerformance prints them (Stats.printWindow / printTotal).
const output = [
  "139681 records sent, 27936.2 records/sec (21.72 MB/sec), 1093.5 ms avg latency, 1401.0 ms max latency.",
  "100000 records sent, 27925.3 records/sec (21.71 MB/sec), 1187.41 ms avg latency, 1503.00 ms max latency, 1254 ms 50th, 1390 ms 95th, 1419 ms 99th, 1488 ms 99.9th.",
  "",
].join("\n");

describe("parseProducerPerformanceSummary", () => {
  it("reads the closing line, not an interim one", () => {
    expect(parseProducerPerformanceSummary(output)).toEqual({
      records: 100000,
      recordsPerSecond: 27925.3,
      megabytesPerSecond: 21.71,
      avgLatencyMs: 1187.41,
      maxLatencyMs: 1503,
      p50Ms: 1254,
      p99Ms: 1419,
    });
  });

  it("says so, with what the tool printed, when there is no closing line", () => {
    expect(() =>
      parseProducerPerformanceSummary("Exception in thread main: TimeoutException\n"),
    ).toThrow(/no summary line:\nException in thread main/);
  });
});
