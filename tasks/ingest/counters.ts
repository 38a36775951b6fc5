/**
 * The ingest's counters as one log line every few seconds: plain JSON locally, CloudWatch
 * Embedded Metric Format on AWS (../../functions/shared/metrics.ts), where the log line itself
 * becomes metrics (no agent, no API calls from the task).
 *
 * The plain JSON line carries the totals since start. The EMF document carries the increase
 * since the previous report (the first one: since start), so that a metric's Sum over a period
 * is the number of events in that period, whatever the report interval and across task
 * restarts (an alarm on dead-letter growth sums `deadLettered` over its period).
 */
import type { EmfOutput } from "@aws-lambda-powertools/metrics/types";
import {
  createEmfSerializer,
  type EmfMetrics,
  MetricUnit,
} from "../../functions/shared/metrics.js";
import type { IngestCounters } from "./ingest.js";

/** Flat counter values: rejected.<reason>, retried.<sink>, and the rest as they are. */
export function flatten(counters: IngestCounters): Record<string, number> {
  const { rejected, retried, ...plain } = counters;
  return {
    ...plain,
    ...Object.fromEntries(Object.entries(rejected).map(([reason, n]) => [`rejected.${reason}`, n])),
    "retried.kafka": retried.kafka,
    "retried.firehose": retried.firehose,
  };
}

/** Turns the totals since start into the EMF document of the increase since the last call. */
export type EmfReporter = (counters: IngestCounters, now?: number) => EmfOutput;

/**
 * A stateful reporter: each call reports, per counter, its increase since the previous call (the
 * first call and a counter seen for the first time, such as a new rejected.<reason>: since start).
 * Counters seen before keep being reported, with 0, so a quiet period has data, not a gap. A
 * counter that went down (it was reset) reports its current value.
 */
export function createEmfReporter(service: string, namespace: string): EmfReporter {
  // The alarms read the metrics of the stack's namespace by `service` alone.
  const toEmf = createEmfSerializer({ namespace, dimensions: { service } });
  const previous = new Map<string, number>();
  return (counters, now = Date.now()) => {
    const deltas: EmfMetrics = {};
    for (const [name, total] of Object.entries(flatten(counters))) {
      const before = previous.get(name) ?? 0;
      deltas[name] = { unit: MetricUnit.Count, value: total >= before ? total - before : total };
      previous.set(name, total);
    }
    return toEmf({ metrics: deltas, metadata: { message: "ingest counters" }, timestamp: now });
  };
}
