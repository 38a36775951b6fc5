import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  type ReplayServer,
  type ReplayServerOptions,
  recordedWaitMs,
  startReplayServer,
} from "../../functions/replay-feed/replay-server.js";
import { jsonlLines } from "../../local/feed/jsonl.js";

const servers: ReplayServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: ReplayServerOptions): Promise<ReplayServer> {
  const server = await startReplayServer(options);
  servers.push(server);
  return server;
}

/** Connects and collects frames until the server closes or `limit` frames arrived. */
function receive(url: string, limit = Number.POSITIVE_INFINITY) {
  return new Promise<{ frames: string[]; times: number[]; closeCode: number }>(
    (resolve, reject) => {
      const socket = new WebSocket(url);
      const frames: string[] = [];
      const times: number[] = [];
      socket.on("message", (data) => {
        frames.push(data.toString());
        times.push(performance.now());
        if (frames.length === limit) socket.close();
      });
      socket.on("close", (closeCode) => resolve({ frames, times, closeCode }));
      socket.on("error", reject);
    },
  );
}

const LINES = [
  '{"rsvp_id":1,"mtime":1526811900000}',
  "not json at all",
  "",
  "{'python': 'repr'}",
  '{"rsvp_id":2,"mtime":1526811900500}',
];

describe("replay server", () => {
  it("sends every line verbatim as one text frame, in order, then closes with 1000", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" } });
    const { frames, closeCode } = await receive(server.url);
    expect(frames).toEqual(LINES);
    expect(closeCode).toBe(1000);
    expect(server.stats).toEqual({ connections: 1, sent: LINES.length });
  });

  it("plays the source from its start for every connection", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" } });
    const [a, b] = await Promise.all([receive(server.url), receive(server.url)]);
    expect(a.frames).toEqual(LINES);
    expect(b.frames).toEqual(LINES);
  });

  it("loops when asked", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" }, loop: true });
    const { frames } = await receive(server.url, LINES.length * 3 + 1);
    // Frames already on the wire when the client closed may follow; the first ones must loop.
    expect(frames.slice(0, LINES.length * 3 + 1)).toEqual([...LINES, ...LINES, ...LINES, LINES[0]]);
  });

  it("paces a fixed rate", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "rate", perSecond: 20 } });
    const { times } = await receive(server.url);
    // 5 frames at 20/s: the last one is due 200 ms after the first.
    expect((times[4] as number) - (times[0] as number)).toBeGreaterThanOrEqual(180);
  });

  it("follows the recording's own timing, sped up", async () => {
    const lines = [0, 1000, 3000].map((offset, i) =>
      JSON.stringify({ rsvp_id: i, mtime: 1526811900000 + offset }),
    );
    const server = await serve({ source: () => lines, pacing: { kind: "recorded", speedup: 10 } });
    const { frames, times } = await receive(server.url);
    expect(frames).toEqual(lines);
    // 3 s of recording at x10: 300 ms between the first and the last frame.
    expect((times[2] as number) - (times[0] as number)).toBeGreaterThanOrEqual(280);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(180);
  });

  it("paces every pass of a loop by the recording's timing", async () => {
    const lines = [0, 1000].map((offset, i) =>
      JSON.stringify({ rsvp_id: i, mtime: 1526811900000 + offset }),
    );
    const server = await serve({
      source: () => lines,
      pacing: { kind: "recorded", speedup: 10 },
      loop: true,
    });
    const { times } = await receive(server.url, 4);
    // frame 4 is the second line of the second pass: 1 s of recording at x10 after frame 3.
    expect((times[3] as number) - (times[2] as number)).toBeGreaterThanOrEqual(80);
  });

  it("survives a client that sends an invalid frame, and serves the next one", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "rate", perSecond: 5 } });
    const bad = new WebSocket(server.url);
    await new Promise((resolve) => bad.once("open", resolve));
    const badClosed = new Promise((resolve) => bad.once("close", resolve));
    bad.send(Buffer.from([0xff, 0xfe]), { binary: false }); // a text frame that is not UTF-8
    await badClosed;
    const { frames } = await receive(server.url);
    expect(frames).toEqual(LINES);
  });

  it("paces a recording out of mtime order by its latest time, not by every jump forward", () => {
    const pacing = { speedup: 60, maxGapMs: 5000 };
    const waits = (mtimes: number[]) => {
      const clock = { latestMtime: undefined };
      return mtimes.map((mtime) => recordedWaitMs(clock, mtime, pacing));
    };
    const hour = 3_600_000;
    // In order: each gap, sped up 60 times (a minute is a second), capped at 5 s.
    expect(waits([0, 60_000, 120_000, 120_000 + 10 * hour])).toEqual([0, 1000, 1000, 5000]);
    // Shuffled: older lines go at once and do not wind the clock back.
    expect(waits([10 * hour, 60_000, 9 * hour, 10 * hour + 60_000, 120_000])).toEqual([
      0, 0, 0, 1000, 0,
    ]);
    // A line without a readable mtime goes at once.
    expect(waits([0, Number.NaN, 60_000])).toEqual([0, 0, 1000]);
  });

  it("caps long gaps of the recording", async () => {
    const lines = [0, 3_600_000].map((offset, i) =>
      JSON.stringify({ rsvp_id: i, mtime: 1526811900000 + offset }),
    );
    const server = await serve({
      source: () => lines,
      pacing: { kind: "recorded", speedup: 1, maxGapMs: 50 },
    });
    const { frames, times } = await receive(server.url);
    expect(frames).toEqual(lines);
    // An hour of recording at x1, capped at 50 ms of wall time (bound loose for a busy machine).
    expect((times[1] as number) - (times[0] as number)).toBeLessThan(3000);
  });

  it("waits for a slow reader instead of buffering the whole source", async () => {
    const big = "x".repeat(64 * 1024);
    const server = await serve({
      source: () => Array.from({ length: 2000 }, () => big),
      pacing: { kind: "asap" },
    });
    const socket = new WebSocket(server.url);
    await new Promise((resolve) => socket.once("open", resolve));
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // 2000 x 64 KiB = 125 MiB; with the reader paused, only the kernel's socket buffers
    // (at most 32 MiB + 4 MiB here) and the 512 KiB high-water mark may be in flight.
    expect(server.stats.sent).toBeLessThan(1000);
    const received = new Promise<number>((resolve) => {
      let count = 0;
      socket.on("message", () => {
        if (++count === 2000) resolve(count);
      });
    });
    socket.resume();
    expect(await received).toBe(2000);
    socket.close();
  });

  it("refuses to start with a pacing that makes no sense", async () => {
    await expect(
      serve({ source: () => LINES, pacing: { kind: "rate", perSecond: 0 } }),
    ).rejects.toThrow(/rate must be above 0/);
    await expect(
      serve({ source: () => LINES, pacing: { kind: "recorded", speedup: -1 } }),
    ).rejects.toThrow(/speed-up must be above 0/);
  });
  it("answers a plain GET of the health path with 200, and other plain requests with 426", async () => {
    const server = await serve({
      source: () => LINES,
      pacing: { kind: "asap" },
      healthPath: "/healthz",
    });
    const http = server.url.replace(/^ws/, "http");
    const health = await fetch(`${http}healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", connections: 0, sent: 0 });
    expect((await fetch(`${http}elsewhere`)).status).toBe(426);
    // The WebSocket side is unchanged beside it.
    expect((await receive(server.url)).frames).toEqual(LINES);
  });

  it("answers no health path unless asked", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" } });
    expect((await fetch(`${server.url.replace(/^ws/, "http")}healthz`)).status).toBe(426);
  });

  it("ends a loop over an empty source instead of spinning", async () => {
    let passes = 0;
    const server = await serve({
      source: () => {
        passes += 1;
        return [];
      },
      pacing: { kind: "asap" },
      loop: true,
    });
    const { frames, closeCode } = await receive(server.url);
    expect(frames).toEqual([]);
    expect(closeCode).toBe(1000);
    expect(passes).toBe(1);
  });

  it("drops the connection of a failing source, reports why, and serves the next one", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const server = await serve({
      source: async function* () {
        calls += 1;
        yield "first";
        if (calls === 1) throw new Error("source broke");
        yield "second";
      },
      pacing: { kind: "asap" },
      onError: (error) => errors.push(error),
    });
    const broken = await receive(server.url);
    expect(broken.frames).toEqual(["first"]);
    expect(broken.closeCode).toBe(1006);
    expect(errors).toEqual([new Error("source broke")]);
    expect((await receive(server.url)).frames).toEqual(["first", "second"]);
  });
});

describe("jsonlLines", () => {
  it("yields each line verbatim, keeps empty and broken lines, and adds none at the end", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-jsonl-"));
    const file = join(dir, "feed.jsonl");
    writeFileSync(file, `${LINES.join("\n")}\n`);
    const lines: string[] = [];
    for await (const line of jsonlLines(file)) lines.push(line);
    expect(lines).toEqual(LINES);
  });
});
