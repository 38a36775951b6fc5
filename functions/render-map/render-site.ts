/**
 * The render step of the daily batch: reads the clustering step's clusters.json and cities.json
 * from the batch bucket, draws the map, and publishes to the site bucket map.png, clusters.json,
 * cities.json, a first index.html if the site has none, and last run.json, so that a reader who
 * sees the new run.json finds the files of that run beside it. A failure before the end leaves
 * run.json, and nothing of the run if the inputs were bad, unpublished. That order holds for
 * readers of the bucket; a cache in front of it (CloudFront) keeps each file on its own timer and
 * may hand a reader one run's run.json beside another run's clusters.json, so clusters.json
 * names its run too (`runStartedAt`, run.json's `startedAt`) and the page tells the two apart.
 */

import {
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { z } from "zod";
import type { ClustersDocument } from "../clustering/build-clusters.js";
import type { Basemap } from "../shared/atlas-data.js";
import { backoffPause } from "../shared/backoff.js";
import {
  clustersDocumentSchema,
  type RenderEvent,
  type RenderResult,
} from "../shared/batch-contract.js";
import type { BatchStepDependencies } from "../shared/batch-step.js";
import { drawMap } from "./draw-map.js";
import { DEFAULT_SIZE, type MapSize } from "./layout.js";
import { indexHtml, runDocument, runStartedAt } from "./site-files.js";
import type { MapFonts } from "./text.js";

export interface RenderConfig {
  siteBucket: string;
  size?: MapSize;
}

export interface RenderDependencies extends BatchStepDependencies {
  basemap: () => Basemap;
  fonts: () => MapFonts;
}

/** The render event is not what the workflow sends: a wiring bug, not worth a retry. */
export class InvalidRenderEventError extends Error {
  override readonly name = "InvalidRenderEventError";
}

/** clusters.json or cities.json of the run is missing or not what the clustering step writes. */
export class ClusteringOutputError extends Error {
  override readonly name = "ClusteringOutputError";
}

const CACHE_CONTROL = "public, max-age=300";
const JSON_TYPE = "application/json; charset=utf-8";

export async function renderSite(
  event: RenderEvent,
  config: RenderConfig,
  deps: RenderDependencies,
): Promise<RenderResult> {
  const { clustering } = event;
  const clustersBytes = await readObject(deps.s3, clustering.bucket, clustering.clustersKey);
  const { document: clusters, json: clustersJson } = parseClusters(
    clustersBytes,
    `s3://${clustering.bucket}/${clustering.clustersKey}`,
  );
  const citiesBytes = await readObject(deps.s3, clustering.bucket, clustering.citiesKey);
  parseJsonObject(citiesBytes, `s3://${clustering.bucket}/${clustering.citiesKey}`);

  const size = config.size ?? DEFAULT_SIZE;
  const started = performance.now();
  const map = drawMap(clusters, deps.basemap(), {
    ...size,
    fonts: deps.fonts(),
    dates: clustering.dates,
  });
  deps.log?.("map drawn", {
    clusters: clusters.clusters.length,
    mapBytes: map.byteLength,
    renderMs: Math.round(performance.now() - started),
  });

  const bucket = config.siteBucket;
  const keys: string[] = [];
  const object = (key: string, body: Uint8Array | string, contentType: string) => ({
    Bucket: bucket,
    Key: key,
    Body: body,
    ContentType: contentType,
    CacheControl: CACHE_CONTROL,
  });
  const put = async (key: string, body: Uint8Array | string, contentType: string) => {
    await deps.s3.send(new PutObjectCommand(object(key, body, contentType)));
    keys.push(key);
  };
  await put("map.png", map, "image/png");
  // The clustering step's own JSON, not the parsed document: the schema's strict parts (a
  // centroid, a kScores entry) would drop keys it does not know, and the published file should
  // hold all the clustering step wrote.
  await put(
    "clusters.json",
    JSON.stringify({ ...clustersJson, runStartedAt: runStartedAt(event.startedAt) }),
    JSON_TYPE,
  );
  await put("cities.json", citiesBytes, JSON_TYPE);
  const fallbackPage = indexHtml({ range: event.range, dates: clustering.dates, ...size });
  if (await putIfAbsent(deps.s3, object("index.html", fallbackPage, "text/html; charset=utf-8"))) {
    keys.push("index.html");
  }
  const run = runDocument(event, deps.now());
  await put("run.json", `${JSON.stringify(run, null, 2)}\n`, JSON_TYPE);
  deps.log?.("site published", { siteBucket: bucket, keys, durationSeconds: run.durationSeconds });
  return { siteBucket: bucket, keys, mapBytes: map.byteLength };
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw new ClusteringOutputError(`s3://${bucket}/${key} has no body`);
    return bytes;
  } catch (error) {
    if (isNotFound(error)) {
      throw new ClusteringOutputError(
        `s3://${bucket}/${key} does not exist: the clustering step of this run did not write it`,
      );
    }
    throw error;
  }
}

/** Conditional writes tried while S3 answers 409 ConditionalRequestConflict. */
export const CONDITIONAL_PUT_ATTEMPTS = 3;

/**
 * Writes the object only where the key has none, in one request (true when it wrote it). A
 * HeadObject then a PutObject would overwrite the real page a deploy wrote between the two.
 * S3 User Guide, "How to prevent object overwrites with conditional writes", and the PutObject
 * API Reference: `If-None-Match: *` needs s3:PutObject only; 412 Precondition Failed when the
 * key exists; 409 ConditionalRequestConflict when a conflicting operation (a delete, say) ran
 * during the upload, "retry the upload": tried again, it ends in a write or a 412.
 */
export async function putIfAbsent(
  s3: S3Client,
  input: PutObjectCommandInput,
  pause: (attempt: number) => Promise<void> = conflictPause,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(new PutObjectCommand({ ...input, IfNoneMatch: "*" }));
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
        ?.httpStatusCode;
      if (status === 412) return false;
      if (status !== 409 || attempt >= CONDITIONAL_PUT_ATTEMPTS) throw error;
      await pause(attempt);
    }
  }
}

const conflictPause = (attempt: number) => backoffPause(attempt, { baseMs: 200, capMs: 2000 });

function isNotFound(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return (
    candidate?.name === "NoSuchKey" ||
    candidate?.name === "NotFound" ||
    candidate?.$metadata?.httpStatusCode === 404
  );
}

function parseJsonObject(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ClusteringOutputError(`${where} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClusteringOutputError(`${where} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseClusters(
  bytes: Uint8Array,
  where: string,
): { document: ClustersDocument; json: Record<string, unknown> } {
  const json = parseJsonObject(bytes, where);
  const parsed = clustersDocumentSchema.safeParse(json);
  if (!parsed.success) {
    // The first few problems: a document wrong throughout would make an error as long as itself.
    const { issues } = parsed.error;
    const more = issues.length > 3 ? `\n(and ${issues.length - 3} more problems)` : "";
    const problems = z.prettifyError({ issues: issues.slice(0, 3) });
    throw new ClusteringOutputError(`${where} is not a clusters document:\n${problems}${more}`);
  }
  return { document: parsed.data, json };
}
