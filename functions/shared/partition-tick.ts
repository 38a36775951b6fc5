/**
 * Tick records: the ingest sends one to every partition of the RSVP topic when it starts and
 * then every `PARTITION_TICK_SECONDS` (an hour by default), marked by a header. The counting
 * counts nothing for a tick, but the tick gives its partition a batch.
 *
 * Why: a batch the event source sets aside after it wrote RSVP states leaves their changes in
 * those states, and the partition's next batch takes them into the counters (counting.ts,
 * `UNSETTLED#`). States expire the dedup horizon plus the topic's keep time after their last
 * write, so a partition with no batch for that long (the feed quiet for three weeks, or a
 * partition no city is keyed to) lost the changes. With ticks, every partition has a batch
 * within an interval while the ingest runs.
 */

/** The header that marks a tick record (its value is `"1"`). */
export const TICK_HEADER = "rsvp-atlas-tick";

/** A tick's value: when it was sent, for whoever reads the topic with Kafka's own tools. */
export const tickValue = (nowMs: number) => JSON.stringify({ tick: new Date(nowMs).toISOString() });

/**
 * True for a tick: the header and a value of {@link tickValue}'s form. A record that has the
 * header but another value (an RSVP, say) is not taken for a tick: it is counted, or
 * dead-lettered, like any record, so nothing is skipped without a word.
 */
export function isTick(headerNames: Iterable<string>, value: string | null): boolean {
  if (![...headerNames].includes(TICK_HEADER) || value === null) return false;
  try {
    const parsed: unknown = JSON.parse(value);
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      Object.keys(parsed).length === 1 &&
      typeof (parsed as { tick?: unknown }).tick === "string"
    );
  } catch {
    return false;
  }
}
