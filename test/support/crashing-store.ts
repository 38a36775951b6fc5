/**
 * Counts stores that die or fail midway. `crashing`: as a Lambda timeout or a killed process
 * would, the one failure most counting tests inject: it refuses every write after the crash,
 * the failed run's record of its RSVPs too, so nothing the dead run would not have written gets
 * through; a test that lets a batch fail and comes again catches {@link SimulatedCrash} and
 * nothing else, so any other error (a bug, DynamoDB refusing a request) fails the test.
 * `failingAfter`: any error, sparing the writes a test lets through. `hangingAfter`: no answer,
 * until the call's abort signal ends it.
 */
import type { WriteAction } from "../../functions/city-counts/counting.js";
import type {
  CountsStore,
  StoreCallOptions,
  WriteOutcome,
} from "../../functions/city-counts/counts-store.js";

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

/** What the SDK throws for a call whose `abortSignal` ended it. */
export const abortError = () => Object.assign(new Error("Request aborted"), { name: "AbortError" });

/**
 * `store`, answering nothing from its `writesBeforeHang`-th write on, as a DynamoDB endpoint
 * that accepts and stops answering: that write and every call after it (reads too) wait until
 * the call's `abortSignal` ends them (an {@link abortError}), or for good without one. The
 * writes `spared` lets through still go, unless their call's signal is spent, as the SDK
 * refuses one. `onHang` runs as the first call starts waiting.
 */
export function hangingAfter(
  store: CountsStore,
  writesBeforeHang: number,
  {
    spared = () => false,
    onHang = () => {},
  }: { spared?: (action: WriteAction) => boolean; onHang?: () => void } = {},
): CountsStore {
  let left = writesBeforeHang;
  let hung = false;
  /** As the SDK does: a call whose signal is spent is refused before it is sent. */
  const unlessSpent = <T>(options: StoreCallOptions | undefined, call: () => Promise<T>) =>
    options?.abortSignal?.aborted ? Promise.reject(abortError()) : call();
  const hang = (options?: StoreCallOptions) =>
    new Promise<never>((_, reject) => {
      if (!hung) {
        hung = true;
        onHang();
      }
      const signal = options?.abortSignal;
      if (signal?.aborted) reject(abortError());
      signal?.addEventListener("abort", () => reject(abortError()), { once: true });
    });
  return {
    readStates: (ids, options) =>
      hung ? hang(options) : unlessSpent(options, () => store.readStates(ids, options)),
    readFences: (keys, options) =>
      hung ? hang(options) : unlessSpent(options, () => store.readFences(keys, options)),
    readUnsettled: (tp, options) =>
      hung ? hang(options) : unlessSpent(options, () => store.readUnsettled(tp, options)),
    forgetUnsettled: (tp, batches, options) =>
      hung ? hang(options) : unlessSpent(options, () => store.forgetUnsettled(tp, batches)),
    putDeadLetters: (poison, nowMs, ttl, options) =>
      hung ? hang(options) : unlessSpent(options, () => store.putDeadLetters(poison, nowMs, ttl)),
    applyWrites: async (actions, onOutcome, options) => {
      const outcomes: WriteOutcome[] = [];
      for (const [index, action] of actions.entries()) {
        if (!spared(action) && (hung || left-- <= 0)) return hang(options);
        if (options?.abortSignal?.aborted) throw abortError();
        const [outcome = "applied"] = await store.applyWrites([action]);
        onOutcome?.(index, outcome);
        outcomes.push(outcome);
      }
      return outcomes;
    },
  };
}
