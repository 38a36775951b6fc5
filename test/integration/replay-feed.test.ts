/**
 * The replay-feed task as ECS runs it: its own process, configured by environment variables,
 * serving a recording from S3 (moto here) as the RSVP stream, and the ingest task reading it,
 * also across a SIGKILL of the ingest task (its successor resumes with since_mtime).
 */
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { TICK_HEADER } from "../../functions/shared/partition-tick.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { freePorts } from "../../local/stack/ports.js";
import { endOffsets, recordsSince } from "../support/kafka-records.js";
import { stackAws, stackKafka, stackS3 } from "../support/stack-clients.js";
import {
  ingestTaskEnvironment,
  killLeftoverTasks,
  logLine,
  spawnTask,
  type TaskProcess,
  waitForTask,
} from "../support/task-process.js";
import { receiveFrames } from "../support/websocket-frames.js";

const stack = inject("stack");
const s3 = stackS3();
const bucket = `replay-feed-test-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const rsvpTopic = stack.resources.topics.RsvpTopicName as string;
const kafka = stackKafka("replay-feed-test");

const valid = take(syntheticLines({ seed: "replay-feed", malformedShare: 0 }), 40);
/** A broken line (with a non-ASCII character, split across chunks in a large object) must be
 * sent verbatim, like every other line. */
const MALFORMED = '{"rsvp_id": 7, "member": {"member_name": "Zoë"}, "mtime": 15268';
const LINES = [...valid.slice(0, 20), MALFORMED, ...valid.slice(20)];

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const text = `${LINES.join("\n")}\n`;
  await put("feed.jsonl", text);
  await put("feed.jsonl.gz", gzipSync(text));
});
afterAll(async () => {
  killLeftoverTasks();
  s3.destroy();
});

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Runs tasks/replay-feed/main.ts in its own process, as the task definition would. */
function spawnFeed(env: Record<string, string>, port = 0) {
  return spawnTask("tasks/replay-feed/main.ts", {
    ...localAwsEnvironment(stackAws()),
    HOST: "127.0.0.1",
    PORT: String(port),
    PACING: "asap",
    LOOP: "false",
    ...env,
  });
}

/** Starts the feed on a free port; resolves once it listens. */
async function startFeed(env: Record<string, string>) {
  const [port] = await freePorts(1);
  const task = spawnFeed(env, port);
  await waitForTask(task, "the replay feed started", () =>
    Boolean(logLine(task, "replay feed started")),
  );
  return { ...task, url: `ws://127.0.0.1:${port}/`, http: `http://127.0.0.1:${port}` };
}

/** Runs tasks/ingest/main.ts against `feedUrl`, as the ingest task definition would. */
function spawnIngest(feedUrl: string, env: Record<string, string> = {}): TaskProcess {
  return spawnTask("tasks/ingest/main.ts", {
    ...ingestTaskEnvironment(feedUrl),
    METRICS_FORMAT: "json",
    // The recording is played once (LOOP=false): its end is the ingest's end.
    RECONNECT_AFTER_NORMAL_CLOSE: "false",
    ...env,
  });
}

async function statsOf(feed: { http: string }): Promise<{ sent: number; replayed: number }> {
  return (await (await fetch(`${feed.http}/healthz`)).json()) as { sent: number; replayed: number };
}

describe("replay-feed task process", () => {
  it("serves every line of a JSONL object verbatim, in order, answers /healthz, exits 0 on SIGTERM", async () => {
    const feed = await startFeed({ SOURCE_URI: `s3://${bucket}/feed.jsonl` });
    const { frames, closeCode } = await receiveFrames(feed.url);
    expect(frames).toEqual(LINES);
    expect(closeCode).toBe(1000);

    const health = await fetch(`${feed.http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", connections: 1, sent: LINES.length });

    feed.child.kill("SIGTERM");
    expect(await feed.exited, feed.output()).toBe(0);
    expect(logLine(feed, "stopped")).toMatchObject({
      connections: 1,
      sent: LINES.length,
    });
  });

  it("gunzips a .gz object", async () => {
    const feed = await startFeed({ SOURCE_URI: `s3://${bucket}/feed.jsonl.gz` });
    expect((await receiveFrames(feed.url)).frames).toEqual(LINES);
    feed.child.kill("SIGTERM");
    expect(await feed.exited, feed.output()).toBe(0);
  });

  it("reads the object anew for every connection and every pass of a loop", async () => {
    await put("changing.jsonl", "a\nb\n");
    const feed = await startFeed({ SOURCE_URI: `s3://${bucket}/changing.jsonl`, LOOP: "true" });
    expect((await receiveFrames(feed.url, 5)).frames.slice(0, 5)).toEqual([
      "a",
      "b",
      "a",
      "b",
      "a",
    ]);
    await put("changing.jsonl", "c\n");
    expect((await receiveFrames(feed.url, 3)).frames.slice(0, 3)).toEqual(["c", "c", "c"]);

    // SIGTERM with a client connected: it is told the server is going away (1001), then exit 0.
    const socket = new WebSocket(feed.url);
    await new Promise((resolve) => socket.once("message", resolve));
    const closed = new Promise<number>((resolve) => socket.once("close", resolve));
    feed.child.kill("SIGTERM");
    expect(await closed).toBe(1001);
    expect(await feed.exited, feed.output()).toBe(0);
  });

  it("LIVE=true makes every pass of a loop new RSVPs of today, and leaves malformed lines as they are", async () => {
    const feed = await startFeed({
      SOURCE_URI: `s3://${bucket}/feed.jsonl`,
      LOOP: "true",
      LIVE: "true",
    });
    const { frames } = await receiveFrames(feed.url, 2 * LINES.length);
    feed.child.kill("SIGTERM");
    expect(await feed.exited, feed.output()).toBe(0);
    const passes = [frames.slice(0, LINES.length), frames.slice(LINES.length)];
    expect(passes.map((pass) => pass[20])).toEqual([MALFORMED, MALFORMED]);
    const idsOf = (pass: string[]) =>
      pass.filter((f) => f !== MALFORMED).map((f) => JSON.parse(f).rsvp_id as number);
    const [first = [], second = []] = passes.map(idsOf);
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect(first.map((id) => id % 2 ** 31)).toEqual(second.map((id) => id % 2 ** 31));
    const today = new Date().toISOString().slice(0, 10);
    for (const frame of frames.filter((f) => f !== MALFORMED)) {
      expect(new Date(JSON.parse(frame).mtime).toISOString().slice(0, 10)).toBe(today);
    }
  });

  it("logs its stats at the interval", async () => {
    const feed = await startFeed({
      SOURCE_URI: `s3://${bucket}/feed.jsonl`,
      STATS_INTERVAL_SECONDS: "0.2",
    });
    await receiveFrames(feed.url);
    const stats = () => feed.logs().filter((line) => line.message === "replay stats");
    await waitForTask(
      feed,
      "a stats line with every line sent",
      () => stats().some((line) => line.sent === LINES.length),
      { timeoutMs: 10_000 },
    );
    expect(stats().at(-1)).toMatchObject({ connections: 1, sent: LINES.length });
    feed.child.kill("SIGTERM");
    expect(await feed.exited).toBe(0);
  });

  it("exits 1 at start naming the URI when the object or its bucket is missing", async () => {
    for (const uri of [`s3://${bucket}/missing.jsonl`, `s3://${bucket}-absent/feed.jsonl`]) {
      const feed = spawnFeed({ SOURCE_URI: uri });
      expect(await feed.exited, feed.output()).toBe(1);
      expect(feed.output()).toContain(`cannot read the recording: ${uri}: no such object`);
      expect(logLine(feed, "replay feed started")).toBeUndefined();
    }
  });

  it("refuses to start with a malformed configuration, naming it", async () => {
    const task = spawnFeed({ SOURCE_URI: "/data/feed.jsonl", PACING: "quick" });
    expect(await task.exited).toBe(1);
    expect(task.stderr()).toMatch(
      /invalid configuration: SOURCE_URI: expected s3:\/\/bucket\/key; PACING: expected "recorded:<speed-up>", "rate:<messages per second>" or "asap", got "quick"/,
    );
  });

  it("feeds the ingest task end to end: every line received, the malformed one dead-lettered", async () => {
    const feed = await startFeed({
      SOURCE_URI: `s3://${bucket}/feed.jsonl.gz`,
      PACING: "rate:200",
    });
    const ingest = spawnIngest(feed.url);
    const code = await ingest.exited;
    const output = ingest.output();
    expect(code, output).toBe(0);
    const stopped = logLine(ingest, "stopped") as Record<string, number> | undefined;
    expect(stopped, output).toBeDefined();
    expect(stopped?.received).toBe(LINES.length);
    expect(stopped?.deadLettered).toBeGreaterThanOrEqual(1);
    expect((stopped?.produced ?? 0) + (stopped?.deadLettered ?? 0)).toBe(LINES.length);
    expect(stopped?.sentToFirehose).toBe(stopped?.produced);

    feed.child.kill("SIGTERM");
    expect(await feed.exited, feed.output()).toBe(0);
  });

  it("loses no message of an ingest task killed with SIGKILL: the next one resumes with since_mtime", async () => {
    // Live traffic, as on AWS: mtimes of now, newer than any resume point already on the topic.
    const lines = take(syntheticLines({ seed: "replay-feed-kill", malformedShare: 0 }), 5000);
    await put("kill.jsonl", `${lines.join("\n")}\n`);
    const before = await endOffsets(kafka, [rsvpTopic]);
    const feed = await startFeed({
      SOURCE_URI: `s3://${bucket}/kill.jsonl`,
      PACING: "rate:1000",
      LIVE: "true",
    });

    // Killed a fifth of the way in, with messages on their way to Kafka and Firehose, once its
    // records carry a durable point past this feed's first frame: a task killed before that
    // leaves its successor no point to resume from, or one below the first frame's mtime
    // (its own point while it is in flight, and the point a tick sent just after carries),
    // which the feed cannot call complete: frames before it may have come from an earlier
    // feed. That is the ingest's matter (resume-point.ts), not the feed's. The point first
    // moved by this feed's frames is at least the first frame's mtime less one, so two more
    // is past it. Its produced count rising twice after that means a batch was sent after it
    // (one produce request in flight at a time), so the topic holds the point.
    const first = spawnIngest(feed.url, { COUNTERS_INTERVAL_SECONDS: "0.1" });
    const resumable = () => {
      const started = logLine(first, "ingest started")?.resumeFrom;
      if (started === undefined) return false;
      const startPoint = started === "live" ? 0 : Date.parse(String(started));
      const counters = first.logs().filter((line) => line.message === "ingest counters");
      const points = counters.map((line) => Number(line.durableMtime));
      const moved = points.find((point) => point > startPoint);
      if (moved === undefined) return false;
      const from = points.findIndex((point) => point >= moved + 2);
      if (from < 0) return false;
      const produced = counters.slice(from).map((line) => Number(line.produced));
      return (
        produced.filter((count, i) => i > 0 && count > (produced[i - 1] as number)).length >= 2
      );
    };
    await waitForTask(
      first,
      "a durable point of the first ingest, with 1,000 frames sent",
      async () => resumable() && (await statsOf(feed)).sent >= 1000,
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    first.child.kill("SIGKILL");
    expect(await first.exited, `it ended before it was killed:\n${first.output()}`).toBeNull();

    // Its successor reads the resume point back from the topic, is sent again what came after
    // it, then plays the recording to its end.
    const second = spawnIngest(feed.url);
    expect(await second.exited, second.output()).toBe(0);
    // (The first task may have asked too, from a point of an earlier test: nothing buffered yet.)
    const resumed = feed
      .logs()
      .filter((line) => line.message === "a connection resumed: sending it what it missed");
    expect(resumed.at(-1), feed.output()).toMatchObject({ complete: true });
    const again = Number(resumed.at(-1)?.frames);
    expect(again).toBeGreaterThan(0);
    const stopped = logLine(second, "stopped");
    expect(stopped, second.output()).toMatchObject({ received: again + lines.length });
    const stats = await statsOf(feed);
    expect(stats.replayed).toBe(again);

    // Everything the feed sent (to either task, as it keeps it: a client asking from 0 is sent
    // all of it first) is on the topic, counted once however often it arrived.
    const { frames } = await receiveFrames(`${feed.url}?since_mtime=0`, stats.sent);
    const key = (id: unknown, mtime: unknown) => `${id}@${mtime}`;
    const sent = new Set(
      frames.slice(0, stats.sent).map((frame) => {
        const message = JSON.parse(frame) as { rsvp_id: number; mtime: number };
        return key(message.rsvp_id, message.mtime);
      }),
    );
    // (Fewer keys than frames: two versions of one RSVP sent within a millisecond share one.)
    expect(frames.length).toBeGreaterThanOrEqual(stats.sent);
    const onTopic = new Set(
      // (Each task also sends every partition a tick at start: not an RSVP.)
      (await recordsSince(kafka, before))
        .filter(({ headers }) => headers[TICK_HEADER] === undefined)
        .map(({ value }) => {
          const record = JSON.parse(value) as RsvpRecord;
          return key(record.rsvpId, record.mtime);
        }),
    );
    expect([...sent].filter((id) => !onTopic.has(id))).toEqual([]);
    expect(onTopic.size).toBe(sent.size);

    feed.child.kill("SIGTERM");
    expect(await feed.exited, feed.output()).toBe(0);
  });
});
