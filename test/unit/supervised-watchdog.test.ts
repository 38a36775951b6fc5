/**
 * The engines' watchdog (local/stack/supervised-process.ts) reads a signal's name per line
 * from its stdin and sends it to the engine. A line may arrive in parts with long pauses
 * between them (a loaded machine): it must still be one signal. "SIGK" then "ILL" once sent
 * SIGILL to the Kafka JVM, which survives it, when the watchdog polled its stdin with a read
 * timeout; the later fix that glued the parts together still missed a line once in a loaded
 * CI run. The watchdog now reads with no timeout, in a reader of its own.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { WATCHDOG } from "../../local/stack/supervised-process.js";

function watchdogOf(engine: string[]) {
  // A process group of its own, as the stack manager runs it, to see that all of it ends.
  const child = spawn("bash", ["-c", WATCHDOG, "watchdog-test", ...engine], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, exited };
}

const watchdogOfSleep = () => watchdogOf(["sleep", "30"]);

/** Whether process `pid` exists (a zombie still does). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** Whether any process of group `pgid` is left (the engine, the watchdog's reader). */
function groupExists(pgid: number): boolean {
  return exists(-pgid);
}

/** Polls for `check`, since a process ends a little after it is signalled. */
async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

describe("the engines' watchdog", () => {
  it("sends the signal of a line that arrived in parts, with long pauses between", async () => {
    const { child, exited } = watchdogOfSleep();
    await sleep(300);
    child.stdin.write("SIGK");
    await sleep(700); // the old watchdog's read timed out twice here
    for (const part of ["I", "L", "L\n"]) {
      await sleep(300);
      child.stdin.write(part);
    }
    // The watchdog exits with the engine's status: 128 + 9 after SIGKILL (SIGILL would be 132).
    expect(await exited).toBe(137);
    expect(await eventually(() => !groupExists(child.pid as number))).toBe(true);
  });

  it("sends every line of one write, in order", async () => {
    const { child, exited } = watchdogOfSleep();
    await sleep(300);
    // SIGCONT leaves a running sleep as it is; SIGKILL after it ends it.
    child.stdin.write("SIGCONT\n\nSIGKILL\n");
    expect(await exited).toBe(137);
  });

  it("ends with the engine's status when the engine exits on its own, reader and all", async () => {
    const { child, exited } = watchdogOf(["sh", "-c", "sleep 0.3; exit 7"]);
    // stdin stays open: the reader is still waiting for a line when the engine exits.
    expect(await exited).toBe(7);
    expect(await eventually(() => !groupExists(child.pid as number))).toBe(true);
    child.stdin.end();
  });

  it("stops the engine and exits 143 on SIGTERM", async () => {
    const { child, exited } = watchdogOfSleep();
    await sleep(300);
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(await eventually(() => !groupExists(child.pid as number))).toBe(true);
  });

  it("sends a whole line's signal, and stops the engine when its stdin closes", async () => {
    const killed = watchdogOfSleep();
    await sleep(300);
    killed.child.stdin.write("SIGTERM\n");
    expect(await killed.exited).toBe(143);

    // The engine writes its pid (sh then becomes the sleep, same pid), to look for it after.
    const dir = mkdtempSync(join(tmpdir(), "watchdog-test-"));
    const pidFile = join(dir, "engine.pid");
    const orphaned = watchdogOf(["sh", "-c", 'echo $$ > "$1"; exec sleep 30', "engine", pidFile]);
    let enginePid: number | undefined;
    let engineGone = false;
    try {
      expect(
        await eventually(() => {
          const written = existsSync(pidFile) ? readFileSync(pidFile, "utf8") : "";
          if (written.endsWith("\n")) enginePid = Number(written);
          return enginePid !== undefined;
        }),
      ).toBe(true);
      expect(exists(enginePid as number)).toBe(true);
      orphaned.child.stdin.end();
      expect(await orphaned.exited).toBe(0);
      engineGone = await eventually(() => !exists(enginePid as number));
      expect(engineGone, `engine ${enginePid} still runs after its watchdog exited`).toBe(true);
    } finally {
      orphaned.child.kill("SIGKILL");
      if (enginePid !== undefined && !engineGone) {
        try {
          process.kill(enginePid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
