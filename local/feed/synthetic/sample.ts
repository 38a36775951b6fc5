/**
 * Finite samples of the endless synthetic feed, for benches and tests: its first messages, and
 * the records its valid messages become once parsed as the ingest parses them.
 */
import type { RsvpParser } from "../../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../../functions/shared/rsvp/record.js";
import { type SyntheticFeedOptions, syntheticMessages } from "./generator.js";

/** The first `count` items (all of them when there are fewer). */
export function take<T>(items: Iterable<T>, count: number): T[] {
  const taken: T[] = [];
  if (count <= 0) return taken;
  for (const item of items) {
    taken.push(item);
    if (taken.length === count) break;
  }
  return taken;
}

/**
 * The records of the synthetic feed's messages that `parse` accepts, in feed order (endless:
 * take what you need). The malformed ones are passed over; `malformedShare: 0` makes none.
 */
export function* syntheticRecords(
  options: SyntheticFeedOptions,
  parse: RsvpParser,
): Generator<RsvpRecord> {
  for (const message of syntheticMessages(options)) {
    const result = parse(message.text);
    if (result.ok) yield result.record;
  }
}
