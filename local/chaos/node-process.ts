/**
 * A Node.js entry point of the project (the ingest task, the counting worker) run as its own
 * process, as ECS or Lambda runs it, so the fault suite can signal it: SIGTERM to stop it as ECS
 * does, SIGKILL to kill it as a crash does. Its output goes to a log file and, line by line, to
 * `onLine`; the process is killed with this one if this one exits first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { repoRoot } from "../setup/paths.js";

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Settles with the exit code (null) and signal when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function startNodeProcess(options: {
  name: string;
  /** Path from the repository root, run with tsx. */
  script: string;
  env: Record<string, string>;
  logPath: string;
  onLine?: (line: string) => void;
}): NodeProcess {
  const log = createWriteStream(options.logPath, { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", options.script], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    stream.pipe(log, { end: false });
    createInterface({ input: stream }).on("line", (line) => options.onLine?.(line));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    name: options.name,
    child,
    exited,
    async signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
