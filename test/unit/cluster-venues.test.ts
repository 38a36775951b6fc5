/**
 * The clustering step's error paths, with S3 mocked (the happy path runs on moto and real
 * Spark output in test/integration/daily-batch.test.ts).
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  type ClusteringConfig,
  CuratedDataError,
  clusterVenues,
  InvalidClusteringEventError,
  NoVenuesInRangeError,
  newestFilePerDay,
  runFolder,
} from "../../functions/clustering/cluster-venues.js";
import { InvalidBatchRangeError } from "../../functions/shared/batch-range.js";

const s3Mock = mockClient(S3Client);
const config: ClusteringConfig = {
  curatedBucket: "curated",
  curatedPrefix: "",
  batchBucket: "batch",
  kMin: 2,
  kMax: 4,
  seed: 1,
};
const deps = {
  s3: new S3Client({ region: "us-east-1" }),
  cities: () => [],
  now: () => new Date("2026-11-27T02:00:00Z"),
};
/** The part of an SDK stream body that the step uses. */
const body = (text: string) =>
  ({ transformToByteArray: async () => new TextEncoder().encode(text) }) as never;

beforeEach(() => s3Mock.reset());

describe("clusterVenues", () => {
  it("fails with NoVenuesInRangeError when no venue file lies in the range, and writes nothing", async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: "venue/date=2026-11-25/part-0.snappy.parquet" },
        { Key: "venue/_SUCCESS" },
        { Key: "rsvp/date=2026-11-26/part-0.snappy.parquet" },
      ],
    });
    await expect(clusterVenues({ range: "yesterday" }, config, deps)).rejects.toThrow(
      NoVenuesInRangeError,
    );
    await expect(clusterVenues({ range: "yesterday" }, config, deps)).rejects.toThrow(
      /2026-11-26\.\.2026-11-26/,
    );
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("resolves yesterday from the execution start it is given", async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: "venue/date=2026-11-25/part-0.snappy.parquet" }],
    });
    s3Mock.on(GetObjectCommand).resolves({ Body: body("not parquet") });
    // Started on the 26th: yesterday is the 25th, whose file is read (and found broken).
    await expect(
      clusterVenues({ range: "yesterday", startedAt: "2026-11-26T23:59:59Z" }, config, deps),
    ).rejects.toThrow(CuratedDataError);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input.Key).toBe(
      "venue/date=2026-11-25/part-0.snappy.parquet",
    );
  });

  it("names the file that is not the venue table", async () => {
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: "venue/date=2018-05-20/part-7.snappy.parquet" }],
    });
    s3Mock.on(GetObjectCommand).resolves({ Body: body("PAR1 but not really") });
    await expect(clusterVenues({ range: "all" }, config, deps)).rejects.toThrow(
      /venue\/date=2018-05-20\/part-7\.snappy\.parquet/,
    );
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("reads one file of a day two runs left theirs in, the newest, whole", async () => {
    // Two executions over the 20th at once: each run's file under its own name. Reading both
    // would count the day twice; a mix of rows would count an RSVP that moved venue twice.
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 27, 2, minute));
    const files = [
      { Key: "venue/date=2018-05-20/part-00000-bbbb.c000.snappy.parquet", LastModified: at(9) },
      { Key: "venue/date=2018-05-20/part-00000-aaaa.c000.snappy.parquet", LastModified: at(14) },
      { Key: "venue/date=2018-05-21/part-00000-cccc.c000.snappy.parquet", LastModified: at(3) },
    ];
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: files });
    s3Mock.on(GetObjectCommand).resolves({ Body: body("not parquet") });
    const logged: unknown[] = [];
    await expect(
      clusterVenues({ range: "all" }, config, {
        ...deps,
        log: (_m, fields) => logged.push(fields),
      }),
    ).rejects.toThrow(/part-00000-aaaa/);
    expect(logged).toContainEqual({ setAside: [files[0]?.Key] });
    expect(
      newestFilePerDay(
        files.map((file) => ({
          key: file.Key,
          date: file.Key.slice(11, 21),
          lastModified: file.LastModified,
        })),
      ).read.map((file) => file.key),
    ).toEqual([files[1]?.Key, files[2]?.Key]);
    // Equal times (or none): the key decides, the same file every time.
    expect(
      newestFilePerDay([
        { key: "b", date: "d" },
        { key: "a", date: "d" },
      ]).read.map((file) => file.key),
    ).toEqual(["b"]);
  });

  it("refuses a malformed range before touching S3", async () => {
    await expect(clusterVenues({ range: "2018-02-30" }, config, deps)).rejects.toThrow(
      InvalidBatchRangeError,
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("propagates S3 failures (the workflow's Retry and Catch decide)", async () => {
    s3Mock
      .on(ListObjectsV2Command)
      .rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));
    await expect(clusterVenues({ range: "all" }, config, deps)).rejects.toThrow("Access Denied");
  });
});

describe("clusterVenuesHandler", () => {
  it("fails with InvalidClusteringEventError, naming the field, before touching S3", async () => {
    vi.stubEnv("CURATED_BUCKET", "curated");
    vi.stubEnv("BATCH_BUCKET", "batch");
    try {
      const { clusterVenuesHandler } = await import("../../functions/clustering/handler.js");
      const run = clusterVenuesHandler({ range: 7 }, deps);
      await expect(run).rejects.toThrow(InvalidClusteringEventError);
      await expect(run).rejects.toThrow(/^not a clustering event:\n✖ .*\n {2}→ at range$/);
      await expect(
        clusterVenuesHandler({ range: "all", startedAt: "today" }, deps),
      ).rejects.toThrow(/→ at startedAt/);
      expect(s3Mock.calls()).toHaveLength(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("runFolder", () => {
  it("gives every execution its own folder with a key-safe name", () => {
    expect(runFolder(new Date("2026-11-27T02:00:00.123Z"), "2018-05-20..2018-05-21")).toBe(
      "2026-11-27T02-00-00-123Z_2018-05-20..2018-05-21",
    );
    expect(runFolder(new Date(0), "../x y")).toBe("1970-01-01T00-00-00-000Z_.._x_y");
  });
});
