/**
 * The replay feed's S3 source with S3 mocked: line splitting across chunk boundaries, gzip,
 * early stops, and the errors (the real S3 API of moto runs in test/integration/replay-feed.test.ts).
 */
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { OversizedLine } from "../../tasks/replay-feed/bounded-lines.js";
import {
  checkS3Object,
  parseS3Uri,
  S3SourceError,
  s3Lines,
} from "../../tasks/replay-feed/s3-lines.js";

/** For sources with no line too long: one reported fails the test. */
const NO_LONG_LINES = {
  onOversized: (line: OversizedLine) => {
    throw new Error(`unexpected line over the limit: ${JSON.stringify(line)}`);
  },
};

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: "us-east-1" });
beforeEach(() => s3Mock.reset());

const LINES = [
  '{"rsvp_id":1,"mtime":1526811900000,"member":{"member_name":"Zoë Ångström"}}',
  "not json at all",
  "",
  '{"rsvp_id":2,"mtime":1526811900500}',
];

/** A body that arrives in chunks of `size` bytes, so lines and characters are split across them. */
function chunked(bytes: Uint8Array, size: number) {
  let destroyed = false;
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
    Buffer.from(bytes.subarray(i * size, (i + 1) * size)),
  );
  const stream = new Readable({
    read() {
      this.push(chunks.shift() ?? null);
    },
    destroy(error, callback) {
      destroyed = true;
      callback(error);
    },
  });
  return { stream, destroyed: () => destroyed };
}

async function collect(
  lines: AsyncIterable<string | Uint8Array>,
): Promise<(string | Uint8Array)[]> {
  const out: (string | Uint8Array)[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe("parseS3Uri", () => {
  it("takes the key literally", () => {
    expect(parseS3Uri("s3://recordings/2018/05/feed day.jsonl.gz")).toEqual({
      bucket: "recordings",
      key: "2018/05/feed day.jsonl.gz",
    });
  });

  it.each([
    "",
    "recordings/feed.jsonl",
    "s3://recordings",
    "s3://recordings/",
    "file:///feed.jsonl",
  ])("refuses %j with a typed error naming it", (uri) => {
    expect(() => parseS3Uri(uri)).toThrow(S3SourceError);
    expect(() => parseS3Uri(uri)).toThrow(
      `${uri}: not an S3 object URI (expected s3://bucket/key)`,
    );
  });
});

describe("s3Lines", () => {
  it("yields the lines verbatim, split anywhere across chunks, without a final empty one", async () => {
    const { stream } = chunked(new TextEncoder().encode(`${LINES.join("\n")}\n`), 7);
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    expect(await collect(s3Lines(s3, "s3://recordings/feed.jsonl", NO_LONG_LINES))).toEqual(LINES);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: "recordings",
      Key: "feed.jsonl",
    });
  });

  it("gunzips a key ending in .gz", async () => {
    const { stream } = chunked(gzipSync(`${LINES.join("\r\n")}\r\n`), 5);
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    expect(await collect(s3Lines(s3, "s3://recordings/feed.jsonl.gz", NO_LONG_LINES))).toEqual(
      LINES,
    );
  });

  it("leaves out a line too long to play, reports it, and plays the lines after it", async () => {
    const long = "x".repeat(140);
    const { stream } = chunked(gzipSync(`${LINES[0]}\n${long}\n${LINES[1]}\n`), 9);
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    const oversized: OversizedLine[] = [];
    const lines = await collect(
      s3Lines(s3, "s3://recordings/feed.jsonl.gz", {
        maxLineBytes: 128,
        onOversized: (line) => oversized.push(line),
      }),
    );
    expect(lines).toEqual([LINES[0], LINES[1]]);
    expect(oversized).toEqual([{ line: 2, bytes: 140 }]);
  });

  it("stops the download when the reader stops early", async () => {
    const body = chunked(new TextEncoder().encode(`${LINES.join("\n")}\n`.repeat(1000)), 64);
    s3Mock.on(GetObjectCommand).resolves({ Body: body.stream as never });
    for await (const line of s3Lines(s3, "s3://recordings/feed.jsonl", NO_LONG_LINES)) {
      expect(line).toBe(LINES[0]);
      break;
    }
    expect(body.destroyed()).toBe(true);
  });

  it("names the URI of a missing object", async () => {
    s3Mock
      .on(GetObjectCommand)
      .rejects(
        Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" }),
      );
    const error = await collect(s3Lines(s3, "s3://recordings/gone.jsonl", NO_LONG_LINES)).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(S3SourceError);
    expect(error).toMatchObject({ uri: "s3://recordings/gone.jsonl", problem: "not-found" });
    expect(error.message).toBe("s3://recordings/gone.jsonl: no such object");
  });

  it("refuses a URI that is not s3:// before asking S3", async () => {
    await expect(collect(s3Lines(s3, "/tmp/feed.jsonl", NO_LONG_LINES))).rejects.toThrow(
      "/tmp/feed.jsonl: not an S3 object URI",
    );
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it("names the URI of a corrupt gzip object", async () => {
    const { stream } = chunked(new TextEncoder().encode("plain text, not gzip\n"), 8);
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    await expect(
      collect(s3Lines(s3, "s3://recordings/feed.jsonl.gz", NO_LONG_LINES)),
    ).rejects.toThrow(
      /^s3:\/\/recordings\/feed\.jsonl\.gz: reading failed: incorrect header check$/,
    );
  });

  it("names the URI of a download that breaks off", async () => {
    let sent = false;
    const stream = new Readable({
      read() {
        if (sent) this.destroy(new Error("socket hang up"));
        else this.push("first line\nsecond li");
        sent = true;
      },
    });
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    const seen: (string | Uint8Array)[] = [];
    const error = await (async () => {
      for await (const line of s3Lines(s3, "s3://recordings/feed.jsonl", NO_LONG_LINES))
        seen.push(line);
    })().catch((e) => e);
    expect(seen).toEqual(["first line"]);
    expect(error).toMatchObject({ problem: "read-failed", uri: "s3://recordings/feed.jsonl" });
    expect(error.message).toMatch(/socket hang up/);
  });

  it("names the URI of a gzip download that breaks off", async () => {
    // Read through gunzip: the body's error still ends the read, and says where.
    const zipped = gzipSync(`${LINES.join("\n")}\n`.repeat(50));
    let sent = false;
    const stream = new Readable({
      read() {
        if (sent) this.destroy(new Error("socket hang up"));
        else this.push(zipped.subarray(0, zipped.length / 2));
        sent = true;
      },
    });
    s3Mock.on(GetObjectCommand).resolves({ Body: stream as never });
    const error = await collect(s3Lines(s3, "s3://recordings/feed.jsonl.gz", NO_LONG_LINES)).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ problem: "read-failed", uri: "s3://recordings/feed.jsonl.gz" });
    expect(error.message).toMatch(/socket hang up/);
  });
});

describe("checkS3Object", () => {
  it("returns the object's size", async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    expect(await checkS3Object(s3, "s3://recordings/feed.jsonl")).toBe(1234);
  });

  it("tells a missing object (404, with s3:ListBucket) from a refusal (403)", async () => {
    s3Mock
      .on(HeadObjectCommand)
      .rejectsOnce(
        Object.assign(new Error("UnknownError"), {
          name: "NotFound",
          $metadata: { httpStatusCode: 404 },
        }),
      )
      .rejectsOnce(
        Object.assign(new Error("UnknownError"), {
          name: "Forbidden",
          $metadata: { httpStatusCode: 403 },
        }),
      );
    await expect(checkS3Object(s3, "s3://recordings/gone.jsonl")).rejects.toThrow(
      "s3://recordings/gone.jsonl: no such object",
    );
    await expect(checkS3Object(s3, "s3://recordings/gone.jsonl")).rejects.toThrow(
      /^s3:\/\/recordings\/gone\.jsonl: access denied \(or no such object/,
    );
  });
});
