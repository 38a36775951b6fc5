/**
 * CloudWatch Embedded Metric Format documents, built by Powertools Metrics: one JSON line that
 * CloudWatch Logs turns into metrics in any log group (a Lambda's or the Fargate ingest task's),
 * with no PutMetricData call and no permission for it.
 *
 * The line is handed back rather than printed by Powertools, so the caller picks where it goes
 * (stdout in production, an array in tests). The dimension set is exactly the one given:
 * Powertools' default `service` dimension is added only where a caller names it, because an
 * alarm reads a metric by its full dimension set.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { EmfOutput, MetricUnit as Unit } from "@aws-lambda-powertools/metrics/types";

export { MetricUnit } from "@aws-lambda-powertools/metrics";

export interface EmfSerializerOptions {
  namespace: string;
  /** Every document's dimensions, names to values: one dimension set. */
  dimensions: Record<string, string>;
}

/** Metric names to units and values, in the order the document lists them. */
export type EmfMetrics = Record<string, { unit: Unit; value: number }>;

export interface EmfValues {
  metrics: EmfMetrics;
  /** Fields of the line that are not metrics nor dimensions (say a log `message`). */
  metadata?: Record<string, string>;
  /** Epoch milliseconds; the time of the call if absent. */
  timestamp?: number;
}

/** One EMF document per call, of the namespace and dimensions given here. */
export type EmfSerializer = (values: EmfValues) => EmfOutput;

export function createEmfSerializer({
  namespace,
  dimensions,
}: EmfSerializerOptions): EmfSerializer {
  const metrics = new Metrics({ namespace });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions(dimensions);
  return ({ metrics: values, metadata = {}, timestamp = Date.now() }) => {
    try {
      for (const [name, { unit, value }] of Object.entries(values)) {
        metrics.addMetric(name, unit, value);
      }
      for (const [key, value] of Object.entries(metadata)) metrics.addMetadata(key, value);
      metrics.setTimestamp(timestamp);
      return metrics.serializeMetrics();
    } finally {
      metrics.clearMetrics();
      metrics.clearMetadata();
    }
  };
}
