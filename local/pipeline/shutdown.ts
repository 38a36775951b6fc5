/**
 * How an `npm start` run ends: one shutdown, whatever asks for it first (Ctrl-C, SIGTERM,
 * --duration, the end of a --once replay, a crashed engine). Later requests while it stops (a
 * second Ctrl-C, the crash of an engine being stopped) change nothing; a stop that fails is
 * said in one line and ends the run with exit code 1 all the same.
 */

/** Stops everything; resolves with the exit code. */
export type Stop = (reason: string, code: number) => Promise<number>;

export interface Shutdown {
  /** Starts the shutdown (once); resolves when it has run, just before the exit. */
  (reason: string, code: number): Promise<void>;
  /** Whether a shutdown has begun. */
  readonly begun: boolean;
}

export function createShutdown(
  stop: Stop,
  options: { say: (line: string) => void; exit?: (code: number) => void },
): Shutdown {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let begun = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (begun) return;
    begun = true;
    let exitCode: number;
    try {
      exitCode = await stop(reason, code);
    } catch (error) {
      options.say(`stopping failed: ${(error as Error).message}`);
      exitCode = 1;
    }
    exit(exitCode);
  };
  return Object.defineProperty(shutdown, "begun", { get: () => begun }) as Shutdown;
}

/** Ends the run on Ctrl-C and SIGTERM (exit 0), and when an engine crashes (exit 1). */
export function shutdownOnSignalsAndCrash(
  shutdown: Shutdown,
  options: {
    crashed: Promise<Error>;
    say: (line: string) => void;
    signals?: Pick<NodeJS.Process, "on">;
  },
): void {
  const signals = options.signals ?? process;
  signals.on("SIGINT", () => void shutdown("Ctrl-C", 0));
  signals.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  void options.crashed.then((error) => {
    options.say(error.message);
    void shutdown("an engine crashed", 1);
  });
}

/** Checks `done` every `everyMs` until it holds or `timeoutMs` has passed; whether it held. */
export async function waitFor(
  done: () => boolean,
  { timeoutMs, everyMs }: { timeoutMs: number; everyMs: number },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
