/**
 * The engines' watchdog (local/stack/supervised-process.ts) reads a signal's name per line
 * from its stdin, polling with a 0.25 s read timeout. A line that arrives in two parts across a
 * timeout (the manager's write is one, but a loaded machine may let the timeout fall between
 * bash's byte reads) must still be one signal: "SIGK" then "ILL" once sent SIGILL to the Kafka
 * JVM, which survives it.
 */
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { WATCHDOG } from "../../local/stack/supervised-process.js";

function watchdogOfSleep() {
  const child = spawn("bash", ["-c", WATCHDOG, "watchdog-test", "sleep", "30"], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, exited };
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

    const orphaned = watchdogOfSleep();
    await sleep(300);
    orphaned.child.stdin.end();
    expect(await orphaned.exited).toBe(0);
  });
});
