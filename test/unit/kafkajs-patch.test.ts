/**
 * patches/kafkajs+2.2.4.patch, applied by `npm ci`'s postinstall (patch-package) and in
 * tasks/Dockerfile: kafkajs 2.2.4 (its last release) schedules its throttle check with
 * `throttledUntil - Date.now()`, about -1.8e12 when nothing is throttled (kafkajs#1751, open).
 * Node clamps a delay below 1 ms to 1 ms; from Node 23 it also prints a TimeoutNegativeWarning,
 * once per process, in the ingest task's and the kafka-topics Lambda's logs on Node 24 and in
 * `npm start`'s terminal. The patch passes the same 1 ms itself; other delays are unchanged.
 */
import { createRequire } from "node:module";
import { describe, expect, it, vi } from "vitest";

const require = createRequire(import.meta.url);
const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as new (options: {
  maxInFlightRequests: number;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: unknown;
}) => {
  throttledUntil: number;
  pending: unknown[];
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  scheduleCheckPendingRequests(): void;
};

function queue() {
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: "test",
    broker: "localhost:9092",
    logger: { namespace: () => logger, ...logger },
  });
}

/** The delay the queue's throttle check was scheduled with. */
function scheduledDelay(requestQueue: ReturnType<typeof queue>): number | undefined {
  const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
  requestQueue.scheduleCheckPendingRequests();
  const delay = setTimeoutSpy.mock.calls[0]?.[1];
  setTimeoutSpy.mockRestore();
  if (requestQueue.throttleCheckTimeoutId) clearTimeout(requestQueue.throttleCheckTimeoutId);
  return delay;
}

describe("kafkajs's throttle check (patched, kafkajs#1751)", () => {
  it("is scheduled 1 ms ahead, not at a negative delay, when nothing is throttled", () => {
    const requestQueue = queue();
    expect(requestQueue.throttledUntil).toBe(-1);
    expect(scheduledDelay(requestQueue)).toBe(1);
  });

  it("keeps the delays that were right: the throttle's end, or its 10 ms interval with requests pending", () => {
    const throttled = queue();
    throttled.throttledUntil = Date.now() + 5_000;
    expect(scheduledDelay(throttled)).toBeGreaterThan(4_000);
    const pending = queue();
    pending.pending.push({});
    expect(scheduledDelay(pending)).toBe(10);
  });
});
