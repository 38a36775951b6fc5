import type { IngestCounters } from "../../tasks/ingest/ingest.js";

/** Every counter the ingest reports (the type lists them all), at zero unless overridden. */
export function ingestCounters(overrides: Partial<IngestCounters> = {}): IngestCounters {
  return {
    received: 0,
    produced: 0,
    ticks: 0,
    sentToFirehose: 0,
    deadLettered: 0,
    rejected: {},
    retried: { kafka: 0, firehose: 0 },
    reconnects: 0,
    oversizedFrames: 0,
    paused: 0,
    ...overrides,
  };
}
