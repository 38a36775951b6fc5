import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { jsonlLines } from "../../local/feed/jsonl.js";
import { livePasses } from "../../tasks/replay-feed/live-passes.js";
import {
  type ReplayServer,
  type ReplayServerOptions,
  type ResumeEvent,
  recordedWaitMs,
  startReplayServer,
} from "../../tasks/replay-feed/replay-server.js";

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
    expect(server.stats).toEqual({ connections: 1, sent: LINES.length, replayed: 0 });
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
    expect(await health.json()).toEqual({ status: "ok", connections: 0, sent: 0, replayed: 0 });
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

const T = 1526811900000;
/** A recording in mtime order, with a malformed line after the second message. */
const FEED = [
  JSON.stringify({ rsvp_id: 1, mtime: T }),
  JSON.stringify({ rsvp_id: 2, mtime: T + 1000 }),
  "not json at all",
  JSON.stringify({ rsvp_id: 3, mtime: T + 2000 }),
  JSON.stringify({ rsvp_id: 4, mtime: T + 3000 }),
];
const since = (server: ReplayServer, value: string | number) =>
  `${server.url}?since_mtime=${encodeURIComponent(value)}`;

describe("replay server: since_mtime (what a reconnecting client missed)", () => {
  it("first sends the frames sent after since_mtime, verbatim and in order, then the client's own pass", async () => {
    const resumes: ResumeEvent[] = [];
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      onResume: (resume) => resumes.push(resume),
    });
    expect((await receive(server.url)).frames).toEqual(FEED);

    // After the second message: the third and fourth again, then a pass of its own.
    const b = await receive(since(server, T + 1000));
    expect(b.frames).toEqual([FEED[3], FEED[4], ...FEED]);
    expect(b.closeCode).toBe(1000);

    // From just before the second: the malformed line comes again in its place (it has the
    // mtime of the line before it). Of the second connection, only its pass was buffered: the
    // frames it was sent again were already there.
    const c = await receive(since(server, T + 999));
    const afterFirst = FEED.slice(1);
    expect(c.frames).toEqual([...afterFirst, ...afterFirst, ...FEED]);

    expect(server.stats).toEqual({ connections: 3, sent: 3 * FEED.length, replayed: 2 + 8 });
    expect(resumes).toEqual([
      { sinceMtime: T + 1000, frames: 2, complete: true },
      { sinceMtime: T + 999, frames: 8, complete: true },
    ]);
  });

  it("sends nothing again when since_mtime is at or after the newest frame", async () => {
    const resumes: ResumeEvent[] = [];
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      onResume: (resume) => resumes.push(resume),
    });
    await receive(server.url);
    for (const value of [T + 3000, T + 3001, Number.MAX_SAFE_INTEGER])
      expect((await receive(since(server, value))).frames).toEqual(FEED);
    expect(server.stats.replayed).toBe(0);
    expect(resumes.map((resume) => "frames" in resume && resume.frames)).toEqual([0, 0, 0]);
  });

  it("sends nothing again to a first connection (nothing was sent yet)", async () => {
    const server = await serve({ source: () => FEED, pacing: { kind: "asap" } });
    expect((await receive(since(server, 0))).frames).toEqual(FEED);
    expect(server.stats.replayed).toBe(0);
  });

  it("ignores a since_mtime that is not a non-negative integer, and reports it", async () => {
    const resumes: ResumeEvent[] = [];
    const errors: unknown[] = [];
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      onResume: (resume) => resumes.push(resume),
      onError: (error) => errors.push(error),
    });
    await receive(server.url);
    const garbage = [
      "",
      "abc",
      "-1",
      "1.5",
      "1e12",
      " 1526811900000",
      "0x10",
      "99999999999999999999",
    ];
    for (const value of garbage) {
      const { frames, closeCode } = await receive(since(server, value));
      expect(frames, value).toEqual(FEED);
      expect(closeCode).toBe(1000);
    }
    expect(server.stats.replayed).toBe(0);
    expect(resumes).toEqual(garbage.map((value) => ({ ignored: value })));
    expect(errors).toEqual([]);
    // Other parameters are not since_mtime.
    expect((await receive(`${server.url}?since=0&mtime=0`)).frames).toEqual(FEED);
    expect(resumes).toHaveLength(garbage.length);
  });

  it("keeps only the newest replayBufferFrames frames, and says when a resume asks for more", async () => {
    const resumes: ResumeEvent[] = [];
    const lines = [1, 2, 3, 4, 5].map((i) => JSON.stringify({ rsvp_id: i, mtime: T + i }));
    const server = await serve({
      source: () => lines,
      pacing: { kind: "asap" },
      replayBufferFrames: 3,
      onResume: (resume) => resumes.push(resume),
    });
    await receive(server.url);
    // The two oldest were pushed out by the newest three.
    expect((await receive(since(server, 0))).frames).toEqual([...lines.slice(2), ...lines]);
    // The second pass pushed the first out entirely: its frames 3..5 are the buffer now.
    expect((await receive(since(server, T + 3))).frames).toEqual([...lines.slice(3), ...lines]);
    expect(resumes).toEqual([
      { sinceMtime: 0, frames: 3, complete: false },
      // Frames after T + 3 were pushed out (the first pass's 4 and 5): some are missed.
      { sinceMtime: T + 3, frames: 2, complete: false },
    ]);
    const none = await serve({
      source: () => lines,
      pacing: { kind: "asap" },
      replayBufferFrames: 0,
    });
    await receive(none.url);
    expect((await receive(since(none, 0))).frames).toEqual(lines);
    await expect(
      serve({ source: () => lines, pacing: { kind: "asap" }, replayBufferFrames: -1 }),
    ).rejects.toThrow(/replay buffer must be a whole number of frames >= 0, got -1/);
  });

  it("sends again the frames as they were sent: rewritten by the pass (LIVE), not the recording", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      startPass: livePasses(() => (clock += 1000)),
    });
    const a = (await receive(server.url)).frames;
    expect(a).not.toEqual(FEED);
    expect(a[2]).toBe(FEED[2]);
    const { mtime } = JSON.parse(a[1] as string) as { mtime: number };
    const b = (await receive(since(server, mtime))).frames;
    // The rest of the first connection's pass as it had it (the malformed line has the mtime
    // of the second line: after it only what follows it), then a pass of new RSVPs.
    expect(b.slice(0, 2)).toEqual(a.slice(3));
    const ids = (frames: string[]) =>
      frames.filter((f) => f !== FEED[2]).map((f) => JSON.parse(f).rsvp_id as number);
    const own = b.slice(2);
    expect(own).toHaveLength(FEED.length);
    expect(ids(own).filter((id) => ids(a).includes(id))).toEqual([]);
  });

  it("waits for a slow reader while sending frames again, as in a pass", async () => {
    const big = "x".repeat(64 * 1024);
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ mtime: T + i, padding: big }),
    );
    const server = await serve({ source: () => lines, pacing: { kind: "asap" } });
    expect((await receive(server.url)).frames).toHaveLength(2000);
    const socket = new WebSocket(since(server, 0));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // As in the pass: only the kernel's socket buffers and the high-water mark in flight.
    expect(server.stats.replayed).toBeLessThan(1000);
    const received = new Promise<string[]>((resolve) => {
      const frames: string[] = [];
      socket.on("message", (data) => {
        frames.push(data.toString());
        if (frames.length === 2000) resolve(frames);
      });
    });
    socket.resume();
    expect(await received).toEqual(lines);
    socket.close();
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
