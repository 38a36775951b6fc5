/**
 * `npm start` as a newcomer runs it: the stack comes up, the synthetic feed flows through the
 * ingest into Kafka and on to the city-counts handler, progress is shown, and Ctrl-C stops
 * everything with a summary.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { descendantsOf, waitUntilGone } from "../support/processes.js";

describe("npm start", () => {
  it("plays the synthetic feed through Kafka into the counts with live progress, and Ctrl-C stops it cleanly", async () => {
    const child = spawn(process.execPath, ["local/bootstrap.mjs", "start", "--rate", "30"], {
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
        const counted = [...output.matchAll(/city-counts (\d+) RSVPs/g)].map((m) => Number(m[1]));
        // Three progress lines (one each 5 s off a terminal): long enough to see it keep up.
        if (counted.length >= 3 && counted.some((n) => n > 60)) resolve();
      });
      void exited.then(() => reject(new Error(`npm start exited early:\n${output}`)));
    });
    await progressSeen;
    // The counts API is served locally and answers like the deployed one.
    const apiUrl = output.match(/counts API: (http:\/\/127\.0\.0\.1:\d+\/api\/counts)/)?.[1];
    expect(apiUrl, output).toBeDefined();
    const counts = await fetch(`${apiUrl}?country=us&day=all&limit=3`);
    expect(counts.status).toBe(200);
    const body = (await counts.json()) as { cities: { rsvps: number }[]; updatedAt: string | null };
    expect(body.cities.length).toBeGreaterThan(0);
    expect(body.cities[0]?.rsvps).toBeGreaterThanOrEqual(body.cities.at(-1)?.rsvps ?? 0);
    expect(body.updatedAt).not.toBeNull();
    const bad = await fetch(`${apiUrl}?day=tomorrow`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/day must be/);

    const engines = descendantsOf(child.pid as number);
    expect(engines.some((p) => p.command.includes("kafka.Kafka"))).toBe(true);
    expect(engines.some((p) => p.command.includes("moto_server"))).toBe(true);

    process.kill(-(child.pid as number), "SIGINT"); // what Ctrl-C does: the whole foreground group
    expect(await exited).toBe(0);
    const summary = output.match(
      /summary: (\d+) received, (\d+) produced to meetup, \d+ sent to Firehose, (\d+) dead-lettered.*?, (\d+) read by city-counts: (\d+) RSVPs counted, (\d+) changed by a later version, (\d+) messages changed nothing/,
    );
    expect(summary, output).not.toBeNull();
    const [received, produced, deadLettered, read, counted, changed, unchanged] = (summary ?? [])
      .slice(1)
      .map(Number) as number[];
    expect(received).toBeGreaterThan(60);
    expect((produced ?? 0) + (deadLettered ?? 0)).toBe(received);
    // Everything produced reached the city-counts handler, and each message was accounted for:
    // a new RSVP, a change of one, or nothing (a duplicate or stale version).
    expect(read).toBe(produced);
    expect((counted ?? 0) + (changed ?? 0) + (unchanged ?? 0)).toBe(read);
    expect(counted).toBeGreaterThan(0);
    expect(output).toMatch(/top US cities: .+ \d+/);
    // Every progress line says how far behind the feed the counts are (at --rate 30; the
    // default is 25/s). That nothing was left behind is shown by the summary above: everything
    // produced was read and accounted for. How the lag behaves under load is for bench/.
    const progressLines = output.split("\n").filter((line) => line.startsWith("[progress] "));
    expect(progressLines.length, output).toBeGreaterThanOrEqual(3);
    for (const line of progressLines)
      expect(line).toMatch(
        /city-counts \d+ RSVPs \([\d.]+\/s\), \d+ changed, \d+ unchanged, lag \d+\.\d s/,
      );
    expect(output).toMatch(
      /feed: synthetic \(seed 1\) on ws:\/\/127\.0\.0\.1:\d+\/, 30 messages\/s/,
    );
    expect(await waitUntilGone(engines.map((p) => p.pid))).toEqual([]);
    // The terminal shows progress and summaries only; the components' JSON logs are in the
    // run's log file, which the first lines name.
    expect(output.split("\n").filter((line) => line.trimStart().startsWith("{"))).toEqual([]);
    const logPath = output.match(/structured logs: (\S+\.log)/)?.[1];
    expect(logPath, output).toBeDefined();
    const logged = readFileSync(logPath as string, "utf8")
      .trim()
      .split("\n");
    expect(logged.map((line) => JSON.parse(line).message)).toContain("batch counted");
  });
});
