/**
 * How long the RSVP topic may still deliver a record, which the dedup horizon must outlive: the
 * deploy (kafka-topics) refuses settings that break it and the counting (city-counts) both
 * checks it and keeps states alive that long, so both use this one rule.
 *
 * Kafka deletes whole segments: a record outlives its retention by up to its segment's roll.
 * The broker then deletes it at its next retention check (log.retention.check.interval.ms, 5
 * minutes by default): an hour more covers it.
 */
export const RETENTION_CHECK_HOURS = 1;

/** Hours after a record was written that the topic may still deliver it. */
export function topicKeepsRecordsHours(retentionHours: number, segmentHours: number): number {
  return retentionHours + segmentHours + RETENTION_CHECK_HOURS;
}
