/**
 * kill(), restart() and stop() of the local Kafka broker (kafka-broker.ts) across the JVMs that
 * serve it in turn: a kill is a fault, not a crash; a restart comes back on the same ports and
 * data, waiting out (or naming) a port another process took; stop() ends whichever JVM runs.
 */
import { readFileSync, statSync } from "node:fs";
import type { KafkaBroker } from "./kafka-broker.js";
import { isPortFree } from "./ports.js";
import type { ExitInfo, SupervisedProcess } from "./supervised-process.js";

/** How long kill() waits for the JVM to exit: SIGKILL takes well under a second, a SIGTERM'd
 * broker shuts down in a few; longer means a signal it survives. */
const KILL_TIMEOUT_MS = 60_000;
/** restart(): how long a port of the killed broker may stay taken by another process, checked
 * before each JVM is started, and how many JVMs try in turn when one still fails to bind (the
 * port taken again between the check and the JVM's bind). */
const PORT_WAIT_MS = 10_000;
const RESTART_ATTEMPTS = 3;

export interface Relaunch {
  /** Starts the broker's JVM: the same command, server.properties, ports and data directory. */
  launch: () => SupervisedProcess;
  /** Resolves once a launched JVM is healthy, rejects when it exits first or times out. */
  healthy: (broker: SupervisedProcess) => Promise<void>;
  listeners: { port: number; listener: string }[];
}

/**
 * kill(), restart() and stop() for a broker whose JVM `first` is up and healthy, and the stable
 * `process` view of it. See {@link KafkaBroker} for the semantics.
 *
 * State: `current` is the JVM serving (undefined between a kill and a healthy restart, and
 * after a crash); `unfinished` every JVM that stop() must end. kill() and restart() take turns,
 * so they never interleave; stop() does not wait its turn: it ends a restart in progress too.
 */
export function restartable(
  first: SupervisedProcess,
  { launch, healthy, listeners }: Relaunch,
): Pick<KafkaBroker, "process" | "kill" | "restart" | "stop"> {
  let current: SupervisedProcess | undefined = first;
  let latest = first;
  // Every JVM whose process group may still have members: a crash that took only the watchdog
  // leaves its JVM running, and only stop() of that JVM's group ends it. kill() and a failed
  // restart attempt see theirs reaped.
  const unfinished = new Set<SupervisedProcess>([first]);
  let lastExit: ExitInfo = { code: null, signal: null };
  let stopped = false;
  let gone = false;
  const killed = new WeakSet<SupervisedProcess>();
  let settle: (info: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((resolve) => {
    settle = (info) => {
      gone = true;
      resolve(info);
    };
  });

  /** A serving JVM's exit ends the broker unless kill() asked for it. */
  const watch = (broker: SupervisedProcess) => {
    void broker.exited.then((info) => {
      lastExit = info;
      if (broker !== current) return;
      current = undefined;
      if (!killed.has(broker)) settle(info);
    });
  };
  watch(first);

  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = turn.then(operation);
    turn = run.catch(() => {});
    return run;
  };

  const kill = (signal: NodeJS.Signals = "SIGKILL"): Promise<ExitInfo> =>
    inTurn(async () => {
      const broker = current;
      if (!broker) return lastExit;
      const exit = broker.kill(signal);
      // Marked before the exit this causes can be seen, so that it is never taken for a crash.
      killed.add(broker);
      const timedOut = Symbol("timed out");
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        exit,
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), KILL_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      if (outcome === timedOut) {
        // Still serving: a later exit of it is a crash again, and stop() still ends it.
        killed.delete(broker);
        throw new Error(
          `the Kafka JVM (watchdog pid ${broker.pid}) did not exit within ${KILL_TIMEOUT_MS / 1000} s of ${signal}`,
        );
      }
      unfinished.delete(broker);
      return outcome;
    });

  /** Resolves once every listener's port can be bound again; rejects when one stays taken. */
  const portsFreed = async (): Promise<void> => {
    const deadline = Date.now() + PORT_WAIT_MS;
    for (;;) {
      const taken: string[] = [];
      for (const { port, listener } of listeners)
        if (!(await isPortFree(port))) taken.push(`${port} (${listener})`);
      if (taken.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(
          `cannot restart the Kafka broker: port ${taken.join(", ")} on 127.0.0.1 is still taken ${PORT_WAIT_MS / 1000} s after the kill; another process bound it, and the broker comes back only on its own ports (clients and the data directory's metadata know those)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const restart = (): Promise<void> =>
    inTurn(async () => {
      if (stopped) throw new Error("the Kafka broker was stopped; restart() follows only kill()");
      if (current) throw new Error("the Kafka broker is running; kill() it before restart()");
      if (gone)
        throw new Error(
          `the Kafka broker exited on its own (${lastExit.signal ?? `code ${lastExit.code}`}), and a crash is not restarted; log ${latest.logPath}`,
        );
      for (let attempt = 1; ; attempt++) {
        await portsFreed();
        if (stopped) throw new Error("the Kafka broker was stopped while restarting");
        const logFrom = logSize(latest.logPath);
        const broker = launch();
        unfinished.add(broker);
        latest = broker;
        try {
          await healthy(broker);
          if (stopped) throw new Error("the Kafka broker was stopped while restarting");
          current = broker;
          watch(broker);
          return;
        } catch (error) {
          // stop() ends this JVM itself (it was in `unfinished` when stop() began).
          if (stopped) throw new Error("the Kafka broker was stopped while restarting");
          await broker.stop();
          unfinished.delete(broker);
          lastExit = await broker.exited;
          // The port was free a moment ago: someone took it again before the JVM bound it.
          const bindFailed = logSince(broker.logPath, logFrom).includes("Address already in use");
          if (!bindFailed) throw error;
          if (attempt >= RESTART_ATTEMPTS) {
            throw new Error(
              `cannot restart the Kafka broker: ${RESTART_ATTEMPTS} JVMs in turn found one of ports ${listeners.map((l) => l.port).join(", ")} taken ("Address already in use"); log ${broker.logPath}`,
            );
          }
        }
      }
    });

  const stop = async (graceMs?: number): Promise<void> => {
    stopped = true;
    // The serving JVM, a restarting one, and the JVM of a crash that may have outlived its
    // watchdog (SupervisedProcess.stop() signals the whole group).
    const jvms = [...unfinished];
    unfinished.clear();
    await Promise.all(jvms.map((broker) => broker.stop(graceMs)));
    // A restart in progress ends now (its JVM is gone); wait for it, then for any kill().
    await turn;
    // Killed and not restarted: nothing was running, the broker is gone all the same.
    if (!gone) settle(lastExit);
    await exited;
  };

  const supervised: SupervisedProcess = {
    name: "kafka",
    get pid() {
      return latest.pid;
    },
    logPath: first.logPath,
    exited,
    get stopping() {
      return stopped;
    },
    stop,
    kill,
    logTail: (lines) => latest.logTail(lines),
  };
  return { process: supervised, kill, restart, stop: () => stop() };
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What the log got since it was `from` bytes long. */
function logSince(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}
