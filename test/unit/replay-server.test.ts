/**
 * The replay server on loopback sockets. Where a test says when frames go out, the pacing's
 * sleeps run on vitest's fake clock, which only moves when the test moves it: the times are
 * the clock's, not the machine's.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { jsonlLines } from "../../local/feed/jsonl.js";
import type { OversizedLine, RecordingLine } from "../../tasks/replay-feed/bounded-lines.js";
import { livePasses } from "../../tasks/replay-feed/live-passes.js";
import {
  type ReplayServer,
  type ReplayServerOptions,
  type ResumeEvent,
  recordedWaitMs,
  SentFrames,
  startReplayServer,
} from "../../tasks/replay-feed/replay-server.js";
import { receiveFrames } from "../support/websocket-frames.js";

// The pacing sleeps with node:timers/promises: onto the global timers, which the clock fakes.
vi.mock("node:timers/promises", async (importOriginal) =>
  (await import("../support/fake-timers.js")).onGlobalTimers(await importOriginal()),
);

/** Real waits, whatever the clock: socket I/O takes real time. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realPause = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

const servers: ReplayServer[] = [];
afterEach(async () => {
  // A connection's player asleep on the fake clock wakes, finds its socket closed and ends.
  if (vi.isFakeTimers()) await vi.runOnlyPendingTimersAsync();
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: ReplayServerOptions): Promise<ReplayServer> {
  const server = await startReplayServer(options);
  servers.push(server);
  return server;
}

/** Puts the pacing on a fake clock (performance.now() and the timers it sleeps on). */
const useFakeClock = () =>
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });

/**
 * Receives `dueMs.length` frames on the fake clock, moving it only to each of `dueMs` (ms after
 * connecting) in turn. Before the clock reaches dueMs[k], frame k has a real moment to arrive,
 * so a pacing that sends it early is seen doing so; once the clock is there, frame k must
 * arrive. Each frame is stamped with the clock's time (ms after connecting) when it arrived.
 */
async function receiveOnClock(url: string, dueMs: number[]) {
  const start = performance.now();
  const socket = new WebSocket(url);
  const frames: string[] = [];
  const times: number[] = [];
  let arrived = () => {};
  socket.on("message", (data) => {
    if (frames.length === dueMs.length) return; // a loop goes on: the frames asked for are in
    frames.push(data.toString());
    times.push(performance.now() - start);
    arrived();
  });
  const closed = new Promise((resolve) => socket.once("close", resolve));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  for (const [k, due] of dueMs.entries()) {
    await realPause(20);
    await vi.advanceTimersByTimeAsync(Math.max(0, start + due - performance.now()));
    await new Promise<void>((resolve, reject) => {
      const timer = realSetTimeout(
        () => reject(new Error(`frame ${k} had not come when the clock was at ${due} ms`)),
        5_000,
      );
      arrived = () => {
        if (frames.length <= k) return;
        realClearTimeout(timer);
        resolve();
      };
      arrived();
    });
  }
  socket.close();
  await closed;
  return { frames, times };
}

/** The lines of a recording, one RSVP each, their mtimes `offsetsMs` after the first's. */
const recording = (...offsetsMs: number[]) =>
  offsetsMs.map((offset, i) => JSON.stringify({ rsvp_id: i, mtime: 1526811900000 + offset }));

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
    const { frames, closeCode } = await receiveFrames(server.url);
    expect(frames).toEqual(LINES);
    expect(closeCode).toBe(1000);
    expect(server.stats).toEqual({ connections: 1, sent: LINES.length, replayed: 0 });
  });

  it("plays the source from its start for every connection", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" } });
    const [a, b] = await Promise.all([receiveFrames(server.url), receiveFrames(server.url)]);
    expect(a.frames).toEqual(LINES);
    expect(b.frames).toEqual(LINES);
  });

  it("loops when asked", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "asap" }, loop: true });
    const { frames } = await receiveFrames(server.url, LINES.length * 3 + 1);
    // Frames already on the wire when the client closed may follow; the first ones must loop.
    expect(frames.slice(0, LINES.length * 3 + 1)).toEqual([...LINES, ...LINES, ...LINES, LINES[0]]);
  });

  it("paces a fixed rate", async () => {
    useFakeClock();
    const server = await serve({ source: () => LINES, pacing: { kind: "rate", perSecond: 20 } });
    const { frames, times } = await receiveOnClock(server.url, [0, 50, 100, 150, 200]);
    expect(frames).toEqual(LINES);
    // 20/s: the first at once, then one every 50 ms, none before its time.
    expect(times).toEqual([0, 50, 100, 150, 200]);
  });

  it("follows the recording's own timing, sped up", async () => {
    useFakeClock();
    const lines = recording(0, 1000, 3000);
    const server = await serve({ source: () => lines, pacing: { kind: "recorded", speedup: 10 } });
    const { frames, times } = await receiveOnClock(server.url, [0, 100, 300]);
    expect(frames).toEqual(lines);
    // The recording's gaps of 1 s and 2 s, at x10.
    expect(times).toEqual([0, 100, 300]);
  });

  it("paces every pass of a loop by the recording's timing", async () => {
    useFakeClock();
    const lines = recording(0, 1000);
    const server = await serve({
      source: () => lines,
      pacing: { kind: "recorded", speedup: 10 },
      loop: true,
    });
    const { frames, times } = await receiveOnClock(server.url, [0, 100, 100, 200]);
    expect(frames).toEqual([...lines, ...lines]);
    // The second pass starts at once with its first line, and waits its 1 s at x10 again.
    expect(times).toEqual([0, 100, 100, 200]);
  });

  it("survives a client that sends an invalid frame, and serves the next one", async () => {
    const server = await serve({ source: () => LINES, pacing: { kind: "rate", perSecond: 5 } });
    const bad = new WebSocket(server.url);
    await new Promise((resolve) => bad.once("open", resolve));
    const badClosed = new Promise((resolve) => bad.once("close", resolve));
    bad.send(Buffer.from([0xff, 0xfe]), { binary: false }); // a text frame that is not UTF-8
    await badClosed;
    const { frames } = await receiveFrames(server.url);
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
    useFakeClock();
    const lines = recording(0, 3_600_000);
    const server = await serve({
      source: () => lines,
      pacing: { kind: "recorded", speedup: 1, maxGapMs: 50 },
    });
    const { frames, times } = await receiveOnClock(server.url, [0, 50]);
    expect(frames).toEqual(lines);
    // An hour of recording at x1, capped at 50 ms.
    expect(times).toEqual([0, 50]);
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
    expect((await receiveFrames(server.url)).frames).toEqual(LINES);
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
    const { frames, closeCode } = await receiveFrames(server.url);
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
    const broken = await receiveFrames(server.url);
    expect(broken.frames).toEqual(["first"]);
    expect(broken.closeCode).toBe(1006);
    expect(errors).toEqual([new Error("source broke")]);
    expect((await receiveFrames(server.url)).frames).toEqual(["first", "second"]);
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

/** A server of FEED at full speed (and `options`), with each resume it reports, in order. */
async function serveFeed(options: Partial<ReplayServerOptions> = {}) {
  const resumes: ResumeEvent[] = [];
  const server = await serve({
    source: () => FEED,
    pacing: { kind: "asap" },
    onResume: (resume) => resumes.push(resume),
    ...options,
  });
  return { server, resumes };
}

describe("replay server: since_mtime (what a reconnecting client missed)", () => {
  it("first sends the frames sent after since_mtime, verbatim and in order, then the client's own pass", async () => {
    const { server, resumes } = await serveFeed();
    expect((await receiveFrames(server.url)).frames).toEqual(FEED);

    // After the second message: the third and fourth again, then a pass of its own.
    const b = await receiveFrames(since(server, T + 1000));
    expect(b.frames).toEqual([FEED[3], FEED[4], ...FEED]);
    expect(b.closeCode).toBe(1000);

    // From just before the second: the malformed line comes again in its place (it has the
    // mtime of the line before it). Of the second connection, only its pass was buffered: the
    // frames it was sent again were already there.
    const c = await receiveFrames(since(server, T + 999));
    const afterFirst = FEED.slice(1);
    expect(c.frames).toEqual([...afterFirst, ...afterFirst, ...FEED]);

    expect(server.stats).toEqual({ connections: 3, sent: 3 * FEED.length, replayed: 2 + 8 });
    expect(resumes).toEqual([
      { sinceMtime: T + 1000, frames: 2, complete: true },
      { sinceMtime: T + 999, frames: 8, complete: true },
    ]);
  });

  it("files a line whose mtime the ingest refuses under the mtime before it, as a line without one", async () => {
    // The ingest dead-letters a message whose mtime is in seconds; its resume point counts a
    // dead letter it had in flight as the newest mtime before it, and asks from there. Filed
    // under its own mtime (1970), the line was never sent again, nor a broken line after it.
    const feed = [
      JSON.stringify({ rsvp_id: 1, mtime: T }),
      JSON.stringify({ rsvp_id: 2, mtime: Math.floor(T / 1000) + 1 }),
      '{"rsvp_id": 3, "mti',
      JSON.stringify({ rsvp_id: 4, mtime: T + 2000 }),
    ];
    const { server } = await serveFeed({ source: () => feed });
    await receiveFrames(server.url);
    const resumed = await receiveFrames(since(server, T - 1));
    expect(resumed.frames.slice(0, 4)).toEqual(feed);
  });

  it("sends nothing again when since_mtime is at or after the newest frame", async () => {
    const { server, resumes } = await serveFeed();
    await receiveFrames(server.url);
    for (const value of [T + 3000, T + 3001, Number.MAX_SAFE_INTEGER])
      expect((await receiveFrames(since(server, value))).frames).toEqual(FEED);
    expect(server.stats.replayed).toBe(0);
    expect(resumes.map((resume) => "frames" in resume && resume.frames)).toEqual([0, 0, 0]);
  });

  it("sends nothing again to a first connection, and cannot vouch for what an earlier feed process sent", async () => {
    // A feed restarted (a deploy replaced its task): the client resumes from what the old
    // process sent it last; what that process sent after, or had queued when it stopped, is not
    // here to send, so the resume is not complete, and the task warns.
    const { server, resumes } = await serveFeed();
    expect((await receiveFrames(since(server, 0))).frames).toEqual(FEED);
    // Asked again once this process has sent frames: from before its first, still unknown;
    // from its first on, everything after is here.
    await receiveFrames(since(server, T - 1));
    await receiveFrames(since(server, T));
    expect(resumes).toEqual([
      { sinceMtime: 0, frames: 0, complete: false },
      // Every frame of the first pass (frames sent again are not kept twice)...
      { sinceMtime: T - 1, frames: FEED.length, complete: false },
      // ...and of the two passes since, but the two with mtime T.
      { sinceMtime: T, frames: 2 * FEED.length - 2, complete: true },
    ]);
  });

  it("ignores a since_mtime that is not a non-negative integer, and reports it", async () => {
    const errors: unknown[] = [];
    const { server, resumes } = await serveFeed({ onError: (error) => errors.push(error) });
    await receiveFrames(server.url);
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
      const { frames, closeCode } = await receiveFrames(since(server, value));
      expect(frames, value).toEqual(FEED);
      expect(closeCode).toBe(1000);
    }
    expect(server.stats.replayed).toBe(0);
    expect(resumes).toEqual(garbage.map((value) => ({ ignored: value })));
    expect(errors).toEqual([]);
    // Other parameters are not since_mtime.
    expect((await receiveFrames(`${server.url}?since=0&mtime=0`)).frames).toEqual(FEED);
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
    await receiveFrames(server.url);
    // The two oldest were pushed out by the newest three.
    expect((await receiveFrames(since(server, 0))).frames).toEqual([...lines.slice(2), ...lines]);
    // The second pass pushed the first out entirely: its frames 3..5 are the buffer now.
    expect((await receiveFrames(since(server, T + 3))).frames).toEqual([
      ...lines.slice(3),
      ...lines,
    ]);
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
    await receiveFrames(none.url);
    expect((await receiveFrames(since(none, 0))).frames).toEqual(lines);
    await expect(
      serve({ source: () => lines, pacing: { kind: "asap" }, replayBufferFrames: -1 }),
    ).rejects.toThrow(/replay buffer must be a whole number of frames >= 0, got -1/);
  });

  it("keeps no more than replayBufferBytes of frames, however few they are", async () => {
    const resumes: ResumeEvent[] = [];
    // Frames of 1,000 bytes or so, and room for two and a half of them.
    const lines = [1, 2, 3, 4].map((i) =>
      JSON.stringify({ rsvp_id: i, mtime: T + i, pad: "p".repeat(960) }),
    );
    const server = await serve({
      source: () => lines,
      pacing: { kind: "asap" },
      replayBufferBytes: 2500,
      onResume: (resume) => resumes.push(resume),
    });
    await receiveFrames(server.url);
    expect((await receiveFrames(since(server, 0))).frames).toEqual([...lines.slice(2), ...lines]);
    expect(resumes).toEqual([{ sinceMtime: 0, frames: 2, complete: false }]);
    // A frame larger than the whole bound is sent, and not kept.
    const huge = await serve({
      source: () => lines,
      pacing: { kind: "asap" },
      replayBufferBytes: 999,
    });
    expect((await receiveFrames(huge.url)).frames).toEqual(lines);
    expect((await receiveFrames(since(huge, 0))).frames).toEqual(lines);
    await expect(
      serve({ source: () => lines, pacing: { kind: "asap" }, replayBufferBytes: 1.5 }),
    ).rejects.toThrow(/replay buffer must be a whole number of bytes >= 0, got 1.5/);
  });

  it("lets go of a frame it drops at once, not at its next compaction", async () => {
    // A dropped frame still referenced from its old slot would live until the slots are
    // compacted (1,024 drops on): with 16 MiB lines, gigabytes. Whether V8 collects it is
    // asked of a WeakRef after a full collection (a byte count right after one would not be
    // settled: ArrayBuffers are freed on another thread).
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const kept = new SentFrames(100_000, 8 * 2 ** 20);
    const refs: WeakRef<Buffer>[] = [];
    for (let i = 0; i < 100; i++) {
      const frame = Buffer.alloc(256 * 1024, 1);
      refs.push(new WeakRef(frame));
      kept.add(frame, T + i);
    }
    // WeakRef targets are kept until the job that made them ends.
    await new Promise(setImmediate);
    gc();
    expect(kept.after(0).frames).toHaveLength(32);
    const alive = refs.map((ref) => ref.deref() !== undefined);
    expect(alive.slice(0, 68)).toEqual(Array(68).fill(false));
    expect(alive.slice(68)).toEqual(Array(32).fill(true));
  });

  it("keeps the newest frames in order across many turns of the buffer", async () => {
    // Thousands of frames through a buffer of 1,500: the slots of frames gone are let go of in
    // bulk, and what is kept stays the newest, oldest first.
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ n: i, mtime: T + i }));
    const resumes: ResumeEvent[] = [];
    const server = await serve({
      source: () => lines,
      pacing: { kind: "asap" },
      replayBufferFrames: 1500,
      onResume: (resume) => resumes.push(resume),
    });
    await receiveFrames(server.url);
    // Kept: the last 1,500 (mtimes T + 3500 on); pushed out: all before.
    expect((await receiveFrames(since(server, T + 4000))).frames).toEqual([
      ...lines.slice(4001),
      ...lines,
    ]);
    // The second pass turned the buffer over again: the same 1,500, and T + 3499 is gone.
    expect((await receiveFrames(since(server, T + 3498))).frames.slice(0, 1501)).toEqual([
      ...lines.slice(3500),
      lines[0],
    ]);
    expect(resumes).toEqual([
      { sinceMtime: T + 4000, frames: 999, complete: true },
      { sinceMtime: T + 3498, frames: 1500, complete: false },
    ]);
  });

  it("sends again the frames as they were sent: rewritten by the pass (LIVE), not the recording", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      startPass: livePasses(() => (clock += 1000)),
    });
    const a = (await receiveFrames(server.url)).frames;
    expect(a).not.toEqual(FEED);
    expect(a[2]).toBe(FEED[2]);
    const { mtime } = JSON.parse(a[1] as string) as { mtime: number };
    const b = (await receiveFrames(since(server, mtime))).frames;
    // The rest of the first connection's pass as it had it (the malformed line has the mtime
    // of the second line: after it only what follows it), then a pass of new RSVPs.
    expect(b.slice(0, 2)).toEqual(a.slice(3));
    const ids = (frames: string[]) =>
      frames.filter((f) => f !== FEED[2]).map((f) => JSON.parse(f).rsvp_id as number);
    const own = b.slice(2);
    expect(own).toHaveLength(FEED.length);
    expect(ids(own).filter((id) => ids(a).includes(id))).toEqual([]);
  });

  it("leaves out of a pass the lines its rewriter leaves out, and ends a loop whose pass sends nothing", async () => {
    const server = await serve({
      source: () => FEED,
      pacing: { kind: "asap" },
      loop: true,
      // The first pass sends every other line; the second, none: the loop ends there.
      startPass: (() => {
        let pass = 0;
        return () => {
          const keep = pass++ === 0;
          let index = 0;
          return (line: string) => (keep && index++ % 2 === 0 ? line : null);
        };
      })(),
    });
    const { frames } = await receiveFrames(server.url);
    expect(frames).toEqual(FEED.filter((_, index) => index % 2 === 0));
  });

  it("waits for a slow reader while sending frames again, as in a pass", async () => {
    const big = "x".repeat(64 * 1024);
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ mtime: T + i, padding: big }),
    );
    const server = await serve({ source: () => lines, pacing: { kind: "asap" } });
    expect((await receiveFrames(server.url)).frames).toHaveLength(2000);
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
    const lines: RecordingLine[] = [];
    const oversized: OversizedLine[] = [];
    const reading = jsonlLines(file, { onOversized: (line) => oversized.push(line) });
    for await (const line of reading) lines.push(line);
    expect(oversized).toEqual([]);
    expect(lines).toEqual(LINES);
  });

  it("plays a line that is not UTF-8 as its bytes, which the ingest refuses instead of counting it garbled", async () => {
    // A Latin-1 "München" (0xFC): read as text it became U+FFFD, which the parser's text
    // cleaning drops, and the RSVP counted under "Mnchen" (found by review).
    const message = JSON.stringify({ rsvp_id: 1, mtime: T, group: { group_city: "M\u00fcnchen" } });
    const [before, after] = message.split("M\u00fcnchen") as [string, string];
    const latin1 = Buffer.concat([
      Buffer.from(before),
      Buffer.from("M\u00fcnchen", "latin1"),
      Buffer.from(after),
    ]);
    const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-jsonl-"));
    const file = join(dir, "feed.jsonl");
    writeFileSync(file, Buffer.concat([Buffer.from(`${LINES[0]}\n`), latin1, Buffer.from("\n")]));
    const server = await serve({
      source: () => jsonlLines(file, { onOversized: () => {} }),
      pacing: { kind: "asap" },
    });
    const received: { text: boolean; bytes: Buffer }[] = [];
    await new Promise<void>((resolve, reject) => {
      const client = new WebSocket(server.url, { skipUTF8Validation: true });
      client.on("message", (data, isBinary) =>
        received.push({ text: !isBinary, bytes: data as Buffer }),
      );
      client.on("close", () => resolve());
      client.on("error", reject);
    });
    expect(received.map((frame) => frame.text)).toEqual([true, true]);
    expect(received[1]?.bytes.equals(latin1)).toBe(true);
    expect(createRsvpParser()(new Uint8Array(latin1))).toMatchObject({
      ok: false,
      rejection: { reason: "not_json" },
    });
  });

  it("leaves out a line over the limit and says which", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-jsonl-"));
    const file = join(dir, "feed.jsonl");
    writeFileSync(file, `${LINES[0]}\n${"y".repeat(100)}\n${LINES[1]}`);
    const oversized: OversizedLine[] = [];
    const lines: RecordingLine[] = [];
    const reading = jsonlLines(file, { maxLineBytes: 99, onOversized: (l) => oversized.push(l) });
    for await (const line of reading) lines.push(line);
    expect(lines).toEqual([LINES[0], LINES[1]]);
    expect(oversized).toEqual([{ line: 2, bytes: 100 }]);
  });
});
