/**
 * A counts store that dies midway, as a Lambda timeout or a killed process would: the one
 * failure the counting tests inject. A test that lets a batch fail and comes again catches
 * {@link SimulatedCrash} and nothing else, so any other error (a bug, DynamoDB refusing a
 * request) fails the test.
 */
import type { CountsStore, WriteOutcome } from "../../functions/city-counts/counts-store.js";

export class SimulatedCrash extends Error {
  override readonly name = "SimulatedCrash";
}

/**
 * `store`, dying after `writesBeforeCrash` single-item writes: between two state writes,
 * between the states and the counters, or between two counters, by where the count runs out.
 */
export function crashing(store: CountsStore, writesBeforeCrash: number): CountsStore {
  let left = writesBeforeCrash;
  return {
    ...store,
    applyWrites: async (actions, onOutcome) => {
      const outcomes: WriteOutcome[] = [];
      for (const [index, action] of actions.entries()) {
        if (left-- <= 0) throw new SimulatedCrash("simulated crash");
        const [outcome = "applied"] = await store.applyWrites([action]);
        onOutcome?.(index, outcome);
        outcomes.push(outcome);
      }
      return outcomes;
    },
  };
}
