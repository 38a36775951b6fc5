/**
 * vitest's fake timers for code that sleeps with node:timers/promises. vi.useFakeTimers replaces
 * the global setTimeout, but a module that imported `setTimeout` from node:timers/promises keeps
 * Node's own, which goes on sleeping in real time. In the test file:
 *
 *   vi.mock("node:timers/promises", async (importOriginal) =>
 *     (await import("../support/fake-timers.js")).onGlobalTimers(await importOriginal()),
 *   );
 */
import type * as TimersPromises from "node:timers/promises";

/** node:timers/promises, its setTimeout waiting on whatever global setTimeout is in place. */
export function onGlobalTimers(original: typeof TimersPromises): typeof TimersPromises {
  const setTimeout = <T = void>(
    delay?: number,
    value?: T,
    options?: { signal?: AbortSignal },
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const signal = options?.signal;
      const aborted = () =>
        Object.assign(new Error("The operation was aborted"), {
          name: "AbortError",
          code: "ABORT_ERR",
          cause: signal?.reason,
        });
      if (signal?.aborted) return reject(aborted());
      const onAbort = () => {
        globalThis.clearTimeout(timer);
        reject(aborted());
      };
      const timer = globalThis.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(value as T);
      }, delay);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  return { ...original, setTimeout: setTimeout as typeof original.setTimeout };
}
