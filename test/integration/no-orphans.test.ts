/**
 * However the stack manager ends, it leaves no process and no port behind: on Ctrl-C, on
 * SIGTERM, on a normal exit without stop(), when an engine crashes, and when the manager itself
 * is killed without a chance to run any code.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { repoRoot, runsDir } from "../../local/setup/paths.js";
import { isPortFree } from "../../local/stack/ports.js";
import { descendantsOf, membersOfGroups, waitUntilGone } from "../support/processes.js";

interface Ready {
  runDir: string;
  ports: number[];
  processGroups: { name: string; pgid: number }[];
}

interface Running {
  child: ChildProcess;
  ready: Ready;
  /** Every process below the manager while it ran: watchdogs, their readers and engines. */
  descendants: { pid: number; pgid: number; command: string }[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

async function startStackCli(...flags: string[]): Promise<Running> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "local/cli/stack.ts", "--json", ...flags],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, stderr })));
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    void exited.then(({ stderr: text }) =>
      reject(new Error(`stack CLI exited before ready:\n${text}`)),
    );
  });
  const ready = JSON.parse(firstLine) as Ready;
  // The engines' process groups find them even after a quick exit has re-parented them.
  const engines = membersOfGroups(ready.processGroups.map((group) => group.pgid));
  const below = descendantsOf(child.pid as number);
  const descendants = [...new Map([...engines, ...below].map((p) => [p.pid, p])).values()];
  return { child, ready, descendants, exited };
}

async function expectNothingLeft(running: Running): Promise<void> {
  const left = await waitUntilGone(running.descendants.map((p) => p.pid));
  expect(left.map((p) => `${p.pid} ${p.state} ${p.command.slice(0, 150)}`)).toEqual([]);
  for (const port of running.ready.ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
  expect(membersOfGroups(running.ready.processGroups.map((group) => group.pgid))).toEqual([]);
  // Crashes keep their logs for a person to read; these were made on purpose.
  rmSync(running.ready.runDir, { recursive: true, force: true });
}

/**
 * SIGKILLs the one process below the manager that `is` picks (Kafka's engine or its
 * watchdog): the manager must take it for a crash of Kafka and exit 1 saying so. Its stderr.
 */
async function killForKafkaCrash(
  running: Running,
  is: (process: { pid: number; pgid: number; command: string }) => boolean,
): Promise<string> {
  const victims = running.descendants.filter(is);
  expect(victims.map((p) => p.command)).toHaveLength(1);
  process.kill(victims[0]?.pid as number, "SIGKILL");
  const { code, stderr } = await running.exited;
  expect(code).toBe(1);
  expect(stderr).toMatch(/kafka exited unexpectedly/);
  return stderr;
}

describe("local stack: no process and no port left behind", () => {
  it("on Ctrl-C (SIGINT)", async () => {
    const running = await startStackCli();
    expect(running.descendants.some((p) => p.command.includes("kafka.Kafka"))).toBe(true);
    expect(running.descendants.some((p) => p.command.includes("moto_server"))).toBe(true);
    for (const port of running.ready.ports) expect(await isPortFree(port)).toBe(false);
    running.child.kill("SIGINT");
    expect((await running.exited).code).toBe(0);
    await expectNothingLeft(running);
  });

  it("on SIGTERM", async () => {
    const running = await startStackCli();
    running.child.kill("SIGTERM");
    expect((await running.exited).code).toBe(0);
    await expectNothingLeft(running);
  });

  it("on a normal exit that never called stop()", async () => {
    const running = await startStackCli("--exit-when-ready");
    expect((await running.exited).code).toBe(0);
    expect(running.descendants.some((p) => p.command.includes("kafka.Kafka"))).toBe(true);
    await expectNothingLeft(running);
  });

  it("when an engine crashes: the others are stopped and the exit code says so", async () => {
    const running = await startStackCli();
    const stderr = await killForKafkaCrash(
      running,
      ({ command }) => command.startsWith("java") && command.includes("kafka.Kafka"),
    );
    // The crash message points at the engine's log, which is kept for reading.
    const logPath = stderr.match(/its log \((\S+)\)/)?.[1];
    expect(logPath && existsSync(logPath)).toBe(true);
    await expectNothingLeft(running);
  });

  it("when a watchdog is killed and leaves its engine running", async () => {
    const running = await startStackCli();
    await killForKafkaCrash(
      running,
      // The watchdog leads its group; its stdin reader, a subshell, has the same command line.
      ({ pid, pgid, command }) =>
        pid === pgid && command.startsWith("bash") && command.includes("kafka.Kafka"),
    );
    await expectNothingLeft(running);
  });

  it("on Ctrl-C while the engines are still starting: exits 130, leaves no process and no run folder", async () => {
    const runsBefore = new Set(existsSync(runsDir) ? readdirSync(runsDir) : []);
    const child = spawn(process.execPath, ["--import", "tsx", "local/cli/stack.ts", "--json"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    // An engine is up (its JVM runs), the stack is not ready: the moment Ctrl-C used to leave
    // the run's folder behind, and Node's default for SIGINT ran no exit hook.
    const deadline = Date.now() + 60_000;
    let below: { pid: number; command: string }[] = [];
    while (Date.now() < deadline) {
      below = descendantsOf(child.pid as number);
      if (below.some((p) => p.command.includes("kafka.Kafka") || p.command.includes("moto_server")))
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stdout, "not ready yet when interrupted").toBe("");
    expect(below.length).toBeGreaterThan(0);
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT while starting: stopping what has started/);
    const left = await waitUntilGone(below.map((p) => p.pid));
    expect(left.map((p) => p.command.slice(0, 150))).toEqual([]);
    const runsAfter = existsSync(runsDir) ? readdirSync(runsDir) : [];
    expect(runsAfter.filter((name) => !runsBefore.has(name))).toEqual([]);
  });

  it("when the manager itself is killed with SIGKILL (no code of it runs)", async () => {
    const running = await startStackCli();
    running.child.kill("SIGKILL");
    expect((await running.exited).signal).toBe("SIGKILL");
    await expectNothingLeft(running);
  });
});
