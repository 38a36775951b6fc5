/**
 * A clock for code that waits through injected `now` and `sleep` (the stack's cleanups, the
 * daily batch's stop): time moves only when the code sleeps, so a wait of minutes runs at once
 * and the test can read how long each sleep was.
 */
export function sleepClock(start = 0) {
  let time = start;
  const sleeps: number[] = [];
  return {
    /** Every sleep asked for, in ms, in order. */
    sleeps,
    now: () => time,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      time += ms;
    },
  };
}
