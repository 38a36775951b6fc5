/**
 * The engines' watchdog (local/stack/supervised-process.ts) reads a signal's name per line
 * from its stdin, polling with a 0.25 s read timeout. A line that arrives in two parts across a
 * timeout (the manager's write is one, but a loaded machine may let the timeout fall between
 * bash's byte reads) must still be one signal: "SIGK" then "ILL" once sent SIGILL to the Kafka
 * JVM, which survives it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { WATCHDOG } from "../../local/stack/supervised-process.js";

function watchdogOf(engine: string[]) {
  const child = spawn("bash", ["-c", WATCHDOG, "watchdog-test", ...engine], {
    stdio: ["pipe", "ignore", "ignore"],
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
  it("sends the signal of a line that arrived in two parts across its read timeout", async () => {
    const { child, exited } = watchdogOfSleep();
    await sleep(300);
    child.stdin.write("SIGK");
    await sleep(700); // more than two read timeouts
    child.stdin.write("ILL\n");
    // The watchdog exits with the engine's status: 128 + 9 after SIGKILL (SIGILL would be 132).
    expect(await exited).toBe(137);
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
