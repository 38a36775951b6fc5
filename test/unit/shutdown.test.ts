/**
 * How an `npm start` run ends (local/pipeline/shutdown.ts): one shutdown whoever asks first, a
 * failed stop said and exit code 1, Ctrl-C / SIGTERM / a crashed engine wired to it, and the
 * bounded wait for city-counts to drain.
 */
import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createShutdown,
  shutdownOnSignalsAndCrash,
  waitFor,
} from "../../local/pipeline/shutdown.js";

describe("createShutdown", () => {
  it("stops once, whoever asks, and exits with the stop's code", async () => {
    const exits: number[] = [];
    const stops: string[] = [];
    let finish: () => void = () => {};
    const shutdown = createShutdown(
      async (reason, code) => {
        stops.push(reason);
        await new Promise<void>((resolve) => (finish = resolve));
        return code;
      },
      { say: () => {}, exit: (code) => exits.push(code) },
    );
    expect(shutdown.begun).toBe(false);
    const first = shutdown("Ctrl-C", 0);
    expect(shutdown.begun).toBe(true);
    // A second Ctrl-C, or an engine crashing while it is stopped, changes nothing.
    await shutdown("an engine crashed", 1);
    finish();
    await first;
    expect(stops).toEqual(["Ctrl-C"]);
    expect(exits).toEqual([0]);
  });

  it("says a failed stop in one line and exits 1", async () => {
    const exits: number[] = [];
    const said: string[] = [];
    const shutdown = createShutdown(
      async () => {
        throw new Error("moto did not stop");
      },
      { say: (line) => said.push(line), exit: (code) => exits.push(code) },
    );
    await shutdown("--duration 30 s reached", 0);
    expect(said).toEqual(["stopping failed: moto did not stop"]);
    expect(exits).toEqual([1]);
  });
});

describe("shutdownOnSignalsAndCrash", () => {
  const wired = () => {
    const asked: [string, number][] = [];
    const said: string[] = [];
    const shutdown = Object.assign(
      async (reason: string, code: number) => void asked.push([reason, code]),
      { begun: false },
    );
    const signals = new EventEmitter();
    let crash: (error: Error) => void = () => {};
    shutdownOnSignalsAndCrash(shutdown, {
      crashed: new Promise<Error>((resolve) => (crash = resolve)),
      say: (line) => said.push(line),
      signals: signals as unknown as Pick<NodeJS.Process, "on">,
    });
    return { asked, said, signals, crash };
  };

  it("ends the run with exit code 0 on Ctrl-C and SIGTERM", () => {
    const { asked, signals } = wired();
    signals.emit("SIGINT");
    signals.emit("SIGTERM");
    expect(asked).toEqual([
      ["Ctrl-C", 0],
      ["SIGTERM", 0],
    ]);
  });

  it("says what crashed and ends the run with exit code 1", async () => {
    const { asked, said, crash } = wired();
    crash(new Error("kafka exited with code 137; its log ends: ..."));
    await vi.waitFor(() => expect(asked).toEqual([["an engine crashed", 1]]));
    expect(said).toEqual(["kafka exited with code 137; its log ends: ..."]);
  });
});

describe("waitFor", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("checks every interval until the condition holds", async () => {
    vi.useFakeTimers({ now: 0 });
    let records = 0;
    const done = waitFor(() => records >= 3, { timeoutMs: 10_000, everyMs: 100 });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(100);
      records += 1;
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(await done).toBe(true);
    expect(Date.now()).toBe(400);
  });

  it("gives up after the timeout", async () => {
    vi.useFakeTimers({ now: 0 });
    let settled = false;
    const done = waitFor(() => false, { timeoutMs: 10_000, everyMs: 100 }).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(9_900);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBe(true);
    expect(await done).toBe(false);
  });

  it("holds at once without waiting", async () => {
    expect(await waitFor(() => true, { timeoutMs: 0, everyMs: 100 })).toBe(true);
  });
});
