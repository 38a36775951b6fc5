/** Looking at the machine's process table, to prove that nothing outlives its owner. */
import { execFileSync, spawn } from "node:child_process";

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  command: string;
}

function processTable(): ProcessInfo[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,pgid=,stat=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/))
    .filter((match): match is RegExpMatchArray => match !== null)
    .map((match) => ({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      pgid: Number(match[3]),
      state: match[4] ?? "",
      command: match[5] ?? "",
    }));
}

/** Every live process below `pid`, children first. */
export function descendantsOf(pid: number): ProcessInfo[] {
  const table = processTable().filter((p) => !p.state.startsWith("Z"));
  const found: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const child of table.filter((p) => p.ppid === parent)) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Every live process in one of the process groups `pgids`. */
export function membersOfGroups(pgids: number[]): ProcessInfo[] {
  return processTable().filter((p) => !p.state.startsWith("Z") && pgids.includes(p.pgid));
}

/** The pids among `pids` that are still running (zombies waiting to be reaped do not count). */
export function stillRunning(pids: number[]): ProcessInfo[] {
  const live = processTable().filter((p) => !p.state.startsWith("Z"));
  return live.filter((p) => pids.includes(p.pid));
}

export async function waitUntilGone(pids: number[], timeoutMs = 30_000): Promise<ProcessInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let left = stillRunning(pids);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = stillRunning(pids);
  }
  return left;
}

export interface CollectedProcess {
  child: import("node:child_process").ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/** Starts `node <args>` in the repository, collecting what it prints. */
export function spawnNode(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; detached?: boolean; cwd: string },
): CollectedProcess {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: options.detached ?? false,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end();
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, exited, stdout: () => out, stderr: () => err };
}
