/**
 * The daily batch run locally end to end: statemachines/daily-batch.asl.json in the local ASL
 * interpreter, the Spark step on real local Spark, the clustering and render handlers on moto.
 * The happy path publishes the site; a failing Spark step and a failing clustering step each
 * still reach the terminate state, fail the execution with their cause, and leave the site as
 * it was; a day nothing landed for fails before any cluster.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { checkRange } from "../../functions/batch-range/check-range.js";
import type { ClustersDocument } from "../../functions/clustering/build-clusters.js";
import type { CitiesDocument } from "../../functions/clustering/city-topics.js";
import { landRecording } from "../../local/batch/land-recording.js";
import { runLocalBatch } from "../../local/batch/run-batch.js";
import { stackAws, stackS3 } from "../support/stack-clients.js";
import { syntheticLinesFrom } from "../support/synthetic-days.js";

const stack = inject("stack");
const aws = stackAws();
const buckets = stack.resources.buckets;
const s3 = stackS3();
const progress = (line: string) => process.stderr.write(`[batch test] ${line}\n`);

async function siteObject(key: string): Promise<{ type: string | undefined; bytes: Uint8Array }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: buckets.SiteBucket, Key: key }));
  return {
    type: object.ContentType,
    bytes: (await object.Body?.transformToByteArray()) ?? new Uint8Array(),
  };
}
const siteJson = async <T>(key: string): Promise<T> =>
  JSON.parse(Buffer.from((await siteObject(key)).bytes).toString("utf8")) as T;

/**
 * The raw bucket of the shared test stack also holds other tests' records, and this run lands
 * today: the batch curates the two days before today, which only this file's feed covers.
 */
const day = (offset: number) =>
  new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const FIRST_DAY = day(-2);
const LAST_DAY = day(-1);
const RANGE = `${FIRST_DAY}..${LAST_DAY}`;

/** Two days of the synthetic feed (a tenth malformed), landed as the ingest lands it. */
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "batch-feed-"));
  const file = join(dir, "feed.jsonl");
  const lines = syntheticLinesFrom(FIRST_DAY, 3000, {
    seed: 11,
    meanIntervalMs: 60_000,
    malformedShare: 0.1,
  });
  writeFileSync(file, `${lines.join("\n")}\n`);
  const landed = await landRecording(
    file,
    aws,
    stack.resources.deliveryStreams.RawDeliveryStream as string,
    progress,
  );
  expect(landed.records).toBeGreaterThan(2500);
}, 120_000);

describe("the daily batch, locally", () => {
  it("curates, terminates the cluster, then clusters, renders and publishes the site", async () => {
    const out = mkdtempSync(join(tmpdir(), "batch-site-"));
    const result = await runLocalBatch({ aws, buckets, range: RANGE, progress, out });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("SUCCEEDED");
    expect(result.trace.map((step) => step.state)).toEqual([
      "CheckRange",
      "CreateCluster",
      "CurateWithSpark",
      "TerminateCluster",
      "ClusterVenues",
      "RenderMap",
    ]);

    const map = await siteObject("map.png");
    expect(map.type).toBe("image/png");
    expect(Buffer.from(map.bytes.subarray(1, 4)).toString("latin1")).toBe("PNG");
    const clusters = await siteJson<ClustersDocument & { dates: { first: string; last: string } }>(
      "clusters.json",
    );
    expect(clusters.k).toBeGreaterThanOrEqual(8);
    expect(clusters.clusters.length).toBe(clusters.k);
    expect(clusters.dates).toEqual({ first: FIRST_DAY, last: LAST_DAY });
    for (const cluster of clusters.clusters) {
      expect(cluster.label).toMatch(/^.+: .+$/);
      expect(cluster.hull.length).toBeGreaterThan(0);
    }
    // The synthetic feed is 65 % US: its largest cluster is in the US (lon -125..-65).
    const largest = clusters.clusters[0];
    expect(largest?.centroid.lon).toBeGreaterThan(-125);
    expect(largest?.centroid.lon).toBeLessThan(-65);
    const cities = await siteJson<CitiesDocument>("cities.json");
    expect(cities.cities.length).toBeGreaterThan(5);
    expect(cities.cities[0]?.categories[0]?.share).toBeGreaterThan(0);
    const run = await siteJson<{
      range: string;
      counts: { clusters: number; rsvps: number; venuesClustered: number };
    }>("run.json");
    expect(run.range).toBe(RANGE);
    expect(run.counts.clusters).toBe(clusters.clusters.length);
    expect(run.counts.venuesClustered).toBe(
      clusters.clusters.reduce((sum, c) => sum + c.venues, 0),
    );
    // Every RSVP at a mapped venue is in a cluster; venues without a position are counted apart.
    expect(run.counts.rsvps).toBeGreaterThanOrEqual(
      clusters.clusters.reduce((sum, c) => sum + c.rsvps, 0),
    );
    expect((await siteObject("index.html")).type).toMatch(/^text\/html/);

    // --out: the site's files, byte for byte.
    expect(result.copied?.files).toBeGreaterThanOrEqual(5);
    expect(readFileSync(join(out, "map.png")).equals(Buffer.from(map.bytes))).toBe(true);
  }, 600_000);

  it("terminates the cluster and fails with the cause when the Spark step fails", async () => {
    const before = await siteObject("run.json");
    const result = await runLocalBatch({
      aws,
      buckets,
      range: RANGE,
      progress,
      // The driver's Python does not exist: spark-submit itself fails, as a broken job would.
      sparkEnv: {
        PYSPARK_PYTHON: "/nonexistent/python3",
        PYSPARK_DRIVER_PYTHON: "/nonexistent/python3",
      },
    });
    expect(result.status).toBe("FAILED");
    expect(result.error?.error).toBe("SparkStepError");
    expect(result.error?.cause).toMatch(/spark-submit exited/);
    // Beside the step's error, the cluster's status (on AWS, why a cluster never started).
    expect(result.error?.cause).toMatch(
      /The cluster: \{"StateChangeReason":\{"Message":"no EMR cluster locally/,
    );
    expect(result.trace.map((step) => step.state).slice(-2)).toEqual([
      "ReadClusterStatus",
      "TerminateAfterFailure",
    ]);
    expect(result.workDir).toBeDefined();
    expect(
      Buffer.from((await siteObject("run.json")).bytes).equals(Buffer.from(before.bytes)),
    ).toBe(true);
  }, 600_000);

  it("refuses a range that is none before any cluster or Spark, with the reason", async () => {
    const result = await runLocalBatch({ aws, buckets, range: "2018-05-26..2018-05-20", progress });
    expect(result.status).toBe("FAILED");
    expect(result.error?.error).toBe("InvalidBatchRangeError");
    expect(result.error?.cause).toMatch(/range ends before it starts: 2018-05-26\.\.2018-05-20/);
    expect(result.trace.map((step) => step.state)).toEqual(["CheckRange"]);
  });

  it("creates no cluster for a day nothing landed for: it fails at CheckRange, saying where it looked", async () => {
    const before = await siteObject("run.json");
    const result = await runLocalBatch({ aws, buckets, range: "2001-01-01", progress });
    expect(result.status).toBe("FAILED");
    expect(result.error?.error).toBe("NoRawDataInRangeError");
    expect(result.error?.cause).toContain(
      `no raw RSVPs landed in s3://${buckets.RawBucket}/rsvps/ on 2001-01-01..2001-01-03`,
    );
    expect(result.trace.map((step) => step.state)).toEqual(["CheckRange"]);
    expect(
      Buffer.from((await siteObject("run.json")).bytes).equals(Buffer.from(before.bytes)),
    ).toBe(true);
  });

  it("fails with the cause when the clustering step fails, its cluster terminated before", async () => {
    const before = await siteObject("run.json");
    // A day whose raw data holds no usable record, in a raw bucket of its own (the shared one
    // holds other tests' days): Spark curates nothing, the clustering step has nothing to cluster.
    const raw = `raw-no-venues-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: raw }));
    await s3.send(
      new PutObjectCommand({
        Bucket: raw,
        // Gzipped as Firehose delivers it, and named so: Spark picks the codec by extension.
        Key: "rsvps/dt=2001-01-01/raw-1-2001-01-01-12-00-00-unusable.gz",
        Body: gzipSync('{"v":1,"rsvpId":\nnot a record\n'),
      }),
    );
    const result = await runLocalBatch({
      aws,
      buckets: { ...buckets, RawBucket: raw },
      range: "2001-01-01",
      progress,
      // The handler module keeps the raw bucket it was first imported with: the same check,
      // pointed at this run's bucket.
      functions: {
        BatchRangeFunction: (payload) =>
          checkRange(payload, { s3, raw: { bucket: raw, prefix: "rsvps/" } }),
      },
    });
    expect(result.status).toBe("FAILED");
    expect(result.error?.error).toBe("NoVenuesInRangeError");
    expect(result.error?.cause).toMatch(/2001-01-01/);
    expect(result.trace.map((step) => step.state)).toEqual([
      "CheckRange",
      "CreateCluster",
      "CurateWithSpark",
      "TerminateCluster",
      "ClusterVenues",
    ]);
    expect(
      Buffer.from((await siteObject("run.json")).bytes).equals(Buffer.from(before.bytes)),
    ).toBe(true);
  }, 600_000);
});
