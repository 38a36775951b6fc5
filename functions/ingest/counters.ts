/**
 * The ingest's counters as one log line every few seconds: plain JSON locally, CloudWatch
 * Embedded Metric Format on AWS, where the log line itself becomes metrics (no agent, no API
 * calls from the task).
 */
import type { IngestCounters } from "./ingest.js";

export const METRICS_NAMESPACE = "RsvpAtlas/Ingest";

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

/** An EMF document: the values are the counters since start, reported as metrics with `service`. */
export function toEmf(
  counters: IngestCounters,
  service: string,
  now = Date.now(),
): Record<string, unknown> {
  const values = flatten(counters);
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [["service"]],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: "Count" })),
        },
      ],
    },
    service,
    message: "ingest counters",
    ...values,
  };
}
