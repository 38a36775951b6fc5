/**
 * Runs a local engine (the Kafka JVM, the moto server) so that it cannot outlive the stack
 * manager, however the manager ends.
 *
 * Each engine runs under a small bash watchdog, in a process group of its own:
 * - stop(): SIGTERM to the watchdog, which stops the engine (SIGKILL after a grace period);
 * - the manager exits normally or on a signal: the `exit` hook signals every group;
 * - the manager dies without running any code (SIGKILL, OOM): the watchdog sees its stdin pipe
 *   from the manager close and stops the engine itself;
 * - kill(signal), for fault tests: the manager writes the signal's name on that pipe and the
 *   watchdog sends it to the engine alone, as an outside `kill <pid>` would, then reaps it.
 *
 * The pipe is read by a reader of its own with plain blocking reads, while the watchdog waits
 * for the engine. An earlier watchdog did both in one loop, polling the pipe with `read -t`: a
 * timeout that fell mid-line split the name ("SIGK" then "ILL" sent SIGILL to the Kafka JVM,
 * which survives it), and gluing the parts back together still failed once in a loaded CI run
 * (a line never completed: the engine was not signalled within 20 s). A read with no timeout
 * has no such edge. The reader tells the watchdog that the pipe closed with SIGUSR1, which ends
 * its `wait` at once (bash runs a trapped signal's handler as soon as it arrives there).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { constants } from "node:os";

/** Exported for its test (test/unit/supervised-watchdog.test.ts). */
export const WATCHDOG = `
child=""
reader=""
stop() {
  [ -n "$child" ] || return 0
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$child" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
}
# Ends the reader too, and reaps it, so that no orphan of the group is left behind.
finish() {
  if [ -n "$reader" ]; then kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null; fi
  exit "$1"
}
# The traps before the engine: a SIGTERM in the watchdog's first moments stops it (and any
# engine) with 143 instead of killing bash by default (found by review).
trap 'stop; wait "$child" 2>/dev/null; finish 143' TERM INT HUP
trap 'stop; wait "$child" 2>/dev/null; finish 0' USR1
"$@" </dev/null &
child=$!
watchdog=$$
# A background job's stdin is /dev/null unless redirected: hand the reader the pipe by fd 3.
exec 3<&0 </dev/null
{
  while read -r request; do
    if [ -n "$request" ]; then kill -s "$request" "$child" 2>/dev/null; fi
  done
  kill -USR1 "$watchdog"
} <&3 3<&- &
reader=$!
exec 3<&-
wait "$child"
finish $?
`;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisedProcess {
  readonly name: string;
  /** The watchdog's pid, which is also the process group id of the engine. */
  readonly pid: number;
  readonly logPath: string;
  /** Settles when the watchdog has exited. */
  readonly exited: Promise<ExitInfo>;
  readonly stopping: boolean;
  stop(graceMs?: number): Promise<void>;
  /**
   * Sends `signal` to the engine alone (not to its watchdog), the way an outside `kill` of the
   * engine's pid would, to make it crash on purpose. Resolves with the watchdog's exit (the
   * engine's status, e.g. code 137 after SIGKILL) once the engine has exited and the watchdog
   * has reaped it, so its ports are closed by then. Resolves at once when it has exited already;
   * never for a signal the engine survives (SIGSTOP, or SIGQUIT to a JVM): callers bound the wait.
   */
  kill(signal: NodeJS.Signals): Promise<ExitInfo>;
  /** The last lines the engine wrote, for error messages. */
  logTail(lines?: number): string;
}

const running = new Set<SupervisedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const supervised of running) signalGroup(supervised.pid, "SIGTERM");
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Waits until no process of the group is left (a zombie that its parent has not reaped yet
 * still counts, so this is bounded by `timeoutMs`). Returns whether the group is gone.
 */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function startSupervised(options: StartOptions): SupervisedProcess {
  installExitHook();
  const logFd = openSync(options.logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn("bash", ["-c", WATCHDOG, options.name, options.command, ...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["pipe", logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}`);

  // A write after the watchdog has gone fails with EPIPE; kill() then has nothing left to kill.
  child.stdin?.on("error", () => {});
  let stopping = false;
  let finished = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      finished = true;
      running.delete(supervised);
      resolve({ code, signal });
    });
  });

  const supervised: SupervisedProcess = {
    name: options.name,
    pid,
    logPath: options.logPath,
    exited,
    get stopping() {
      return stopping;
    },
    async stop(graceMs = 20_000) {
      stopping = true;
      // The whole group, even when the watchdog is gone: its engine may have outlived it.
      signalGroup(pid, "SIGTERM");
      if (!(await groupGone(pid, graceMs))) {
        signalGroup(pid, "SIGKILL");
        await groupGone(pid, 5_000);
      }
      await exited;
    },
    kill(signal) {
      // The name goes to bash's `kill -s`: only real signal names, nothing else on that line.
      if (!Object.hasOwn(constants.signals, signal)) throw new TypeError(`not a signal: ${signal}`);
      if (!finished) child.stdin?.write(`${signal}\n`);
      return exited;
    },
    logTail(lines = 30) {
      try {
        return readFileSync(options.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "(no log)";
      }
    },
  };
  running.add(supervised);
  return supervised;
}
