/**
 * Arrival stamps for the records the ingest sends on. The counting rule breaks a tie of equal
 * mtimes by "the first to arrive", and the topic is keyed by city: two versions of one RSVP
 * that name different cities travel on different partitions, which the counting reads side by
 * side, so the order the counting sees them in says nothing. The ingest, which reads the feed
 * in order, stamps each record instead.
 *
 * A stamp is microseconds since the epoch: the wall clock (milliseconds, times 1,000) or one more
 * than the last stamp, whichever is greater. So stamps rise strictly within a task, whatever the
 * rate (up to a million a second before they run ahead of the clock), and a task that replaces a
 * dead one starts from its own clock, later than anything its predecessor stamped. They stay
 * exact in a double until the year 2255.
 */
export type ArrivalClock = () => number;

export function createArrivalClock(nowMs: () => number = Date.now): ArrivalClock {
  let last = 0;
  return () => {
    last = Math.max(Math.floor(nowMs()) * 1000, last + 1);
    return last;
  };
}
