/**
 * Counts stores that die or fail midway. `crashing`: as a Lambda timeout or a killed process
 * would, the one failure most counting tests inject: it refuses every write after the crash,
 * the failed run's record of its RSVPs too, so nothing the dead run would not have written gets
 * through; a test that lets a batch fail and comes again catches {@link SimulatedCrash} and
 * nothing else, so any other error (a bug, DynamoDB refusing a request) fails the test.
 * `failingAfter`: any error, sparing the writes a test lets through.
 */
import type { WriteAction } from "../../functions/city-counts/counting.js";
import type { CountsStore, WriteOutcome } from "../../functions/city-counts/counts-store.js";

export class SimulatedCrash extends Error {
  override readonly name = "SimulatedCrash";
}

/**
 * `store`, dying after `writesBeforeCrash` single-item writes: between two state writes,
 * between the states and the counters, or between two counters, by where the count runs out.
 */
export function crashing(store: CountsStore, writesBeforeCrash: number): CountsStore {
  return failingAfter(store, writesBeforeCrash, () => new SimulatedCrash("simulated crash"));
}

/**
 * `store`, refusing every write after `writesBeforeFailure` with `error()` (one at a time, so a
 * call may apply some first), except the writes `spared` lets through.
 */
export function failingAfter(
  store: CountsStore,
  writesBeforeFailure: number,
  error: () => Error,
  spared: (action: WriteAction) => boolean = () => false,
): CountsStore {
  let left = writesBeforeFailure;
  return {
    ...store,
    applyWrites: async (actions, onOutcome) => {
      const outcomes: WriteOutcome[] = [];
      for (const [index, action] of actions.entries()) {
        if (!spared(action) && left-- <= 0) throw error();
        const [outcome = "applied"] = await store.applyWrites([action]);
        onOutcome?.(index, outcome);
        outcomes.push(outcome);
      }
      return outcomes;
    },
  };
}
