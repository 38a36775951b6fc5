import { describe, expect, it } from "vitest";
import { parseConsumerPerformanceSummary } from "../../bench/stream/consumer-performance.js";

// As Kafka 4.0's ConsumerPerformance prints them (printBasicHeader, then printMetrics), after a
// warning of its own on stderr (the bench reads both streams).
const output = [
  "WARN some log line of the consumer",
  "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec",
  "2026-12-06 03:25:40:123, 2026-12-06 03:25:40:736, 80.0713, 130.6220, 98033, 159923.3279, 216, 397, 201.6909, 246934.5088",
  "",
].join("\n");

describe("parseConsumerPerformanceSummary", () => {
  it("reads the line under the header: whole run, fetching only, and the join", () => {
    expect(parseConsumerPerformanceSummary(output)).toEqual({
      messages: 98033,
      messagesPerSecond: 159923.3279,
      megabytesPerSecond: 130.622,
      fetchMessagesPerSecond: 246934.5088,
      rebalanceMs: 216,
    });
  });

  it("says so, with what the tool printed, when there is no summary", () => {
    expect(() => parseConsumerPerformanceSummary("Exception: timed out\n")).toThrow(
      /no summary:\nException: timed out/,
    );
  });
});
