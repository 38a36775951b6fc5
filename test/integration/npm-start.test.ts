/**
 * `npm start` as a newcomer runs it: the stack comes up, the synthetic feed flows through the
 * ingest into Kafka and back out, progress is shown, and Ctrl-C stops everything with a summary.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { descendantsOf, waitUntilGone } from "../support/processes.js";

describe("npm start", () => {
  it("plays the synthetic feed through Kafka with live progress, and Ctrl-C stops it cleanly", async () => {
    const child = spawn(process.execPath, ["local/bootstrap.mjs", "start", "--rate", "200"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, as in a terminal
    });
    let output = "";
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    const progressSeen = new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (chunk) => {
        output += chunk;
        const read = [...output.matchAll(/consumer (\d+) read/g)].map((m) => Number(m[1]));
        if (read.some((n) => n > 100)) resolve();
      });
      void exited.then(() => reject(new Error(`npm start exited early:\n${output}`)));
    });
    await progressSeen;
    const engines = descendantsOf(child.pid as number);
    expect(engines.some((p) => p.command.includes("kafka.Kafka"))).toBe(true);
    expect(engines.some((p) => p.command.includes("moto_server"))).toBe(true);

    process.kill(-(child.pid as number), "SIGINT"); // what Ctrl-C does: the whole foreground group
    expect(await exited).toBe(0);
    const summary = output.match(
      /summary: (\d+) received, (\d+) produced to meetup, (\d+) dead-lettered.*?, (\d+) read back/,
    );
    expect(summary, output).not.toBeNull();
    const [received, produced, deadLettered, readBack] = (summary ?? [])
      .slice(1)
      .map(Number) as number[];
    expect(received).toBeGreaterThan(100);
    expect((produced ?? 0) + (deadLettered ?? 0)).toBe(received);
    expect(readBack).toBe(produced);
    expect(output).toMatch(
      /feed: synthetic \(seed 1\) on ws:\/\/127\.0\.0\.1:\d+\/, 200 messages\/s/,
    );
    expect(await waitUntilGone(engines.map((p) => p.pid))).toEqual([]);
  });
});
