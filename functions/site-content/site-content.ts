/**
 * The custom resource that deploys the website (SiteContent in template.yaml). The site is built
 * into this Lambda's package at `sam build` (functions/site-content/Makefile); CloudFormation
 * sends Create/Update/Delete and this module does the S3 side:
 *
 *   Create, Update  every packaged file (source maps skipped) into the site bucket with its
 *                   Content-Type and Cache-Control, then config.json, written from the
 *                   CountsApiUrl property, and index.html last: a reader who gets the new page
 *                   finds everything it loads already there. Then the hashed files of earlier
 *                   deploys (under assets/ and basemap/, the folders the deploy owns) go.
 *   Delete          the deploy's own files: index.html, config.json, assets/ and basemap/. The
 *                   daily batch's files (map.png, clusters.json, cities.json, run.json) stay.
 *
 * Any other key is refused before anything is written: the function may write only those, and
 * only those are public (the bucket policy). CloudFormation is answered exactly once on every
 * path (../shared/custom-resource.ts), as SparkJobScript's Lambda does.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type {
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceResponse,
} from "aws-lambda";
import {
  answerCustomResource,
  type CustomResourceAnswerDependencies,
  InvalidPropertiesError,
  type LambdaContextLike,
  TIMEOUT_MARGIN_MS,
} from "../shared/custom-resource.js";
import { contentTypeOf, deleteKeys, listKeys } from "../shared/s3-keys.js";

export { InvalidPropertiesError };

/** A file of the built site: its key in the bucket (forward slashes) and its bytes. */
export interface SiteFile {
  key: string;
  body: Uint8Array | string;
}

export interface SitePut {
  key: string;
  body: Uint8Array | string;
  contentType: string;
  cacheControl: string;
}

export const INDEX_KEY = "index.html";
export const CONFIG_KEY = "config.json";
/** Folders the deploy owns entirely: every object under them is the site's own. */
export const OWNED_PREFIXES = ["assets/", "basemap/"] as const;

/** Always revalidated: they name the hashed files and the API, and change with every deploy. */
export const NO_CACHE = "no-cache";
/** Content-hashed names: a changed file is a new name, so the old one may be kept forever. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** The basemaps keep their names (world-atlas data), and change only with the package. */
export const ONE_DAY = "public, max-age=86400";

/** The package holds a file the function may not (or must not) put into the bucket. */
export class SiteFileError extends Error {
  override readonly name = "SiteFileError";
}

/** esbuild's `[name]-[hash]`: a dash and eight or more letters and digits before the extension. */
const HASHED_NAME = /-[A-Za-z0-9]{8,}\.[A-Za-z0-9]+$/;

/** Cache-Control of a key of the site; a key the deploy does not own is a {@link SiteFileError}. */
export function cacheControlOf(key: string): string {
  if (key === INDEX_KEY || key === CONFIG_KEY) return NO_CACHE;
  if (key.startsWith("assets/")) {
    if (!HASHED_NAME.test(key)) {
      throw new SiteFileError(
        `${key} has no content hash in its name, so it cannot be cached as immutable`,
      );
    }
    return IMMUTABLE;
  }
  if (key.startsWith("basemap/")) return ONE_DAY;
  throw new SiteFileError(
    `${key} is not a file of the site (index.html, config.json, assets/, basemap/): the deploy may not write it`,
  );
}

export const isSourceMap = (key: string) => key.endsWith(".map");

/** config.json, the page's only setting: where the counts API is. */
export function configJson(countsApiUrl: string): string {
  return `${JSON.stringify({ countsApiUrl })}\n`;
}

/**
 * The puts of a deploy, in order: the packaged files (source maps skipped), then config.json,
 * then index.html. Throws {@link SiteFileError} before anything is written if the package is
 * not a site (no index.html, a key outside the site's, a config.json of its own).
 */
export function planPuts(files: readonly SiteFile[], countsApiUrl: string): SitePut[] {
  const put = (key: string, body: Uint8Array | string): SitePut => ({
    key,
    body,
    contentType: contentTypeOf(key),
    cacheControl: cacheControlOf(key),
  });
  let index: SiteFile | undefined;
  const rest: SitePut[] = [];
  for (const file of files) {
    if (file.key.startsWith("/") || file.key.split("/").includes("..")) {
      throw new SiteFileError(`${file.key} is not a relative key`);
    }
    if (isSourceMap(file.key)) continue;
    if (file.key === CONFIG_KEY) {
      throw new SiteFileError(
        "the package has a config.json of its own; the deploy writes it from CountsApiUrl",
      );
    }
    if (file.key === INDEX_KEY) index = file;
    else rest.push(put(file.key, file.body));
  }
  if (!index) throw new SiteFileError("the package has no index.html: was the site built?");
  rest.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return [...rest, put(CONFIG_KEY, configJson(countsApiUrl)), put(INDEX_KEY, index.body)];
}

export interface SiteProperties {
  bucket: string;
  /** Base URL of the counts API, without a trailing slash (the page appends /counts). */
  countsApiUrl: string;
}

/** `Bucket` and `CountsApiUrl` (both required) from the resource's properties. */
export function readProperties(properties: Record<string, unknown> | undefined): SiteProperties {
  const bucket = properties?.Bucket;
  const url = properties?.CountsApiUrl;
  if (typeof bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidPropertiesError(
      `property Bucket must be an S3 bucket name, got ${JSON.stringify(bucket)}`,
    );
  }
  // What the page accepts in config.json (site/src/validate.ts): http(s) or a same-site path.
  if (typeof url !== "string" || !/^(https?:\/\/[^\s/]+|\/(?!\/))\S*$/i.test(url.trim())) {
    throw new InvalidPropertiesError(
      `property CountsApiUrl must be the counts API's http(s) base URL, got ${JSON.stringify(url)}`,
    );
  }
  const countsApiUrl = url.trim().replace(/(.)\/+$/, "$1");
  return { bucket, countsApiUrl };
}

/** Puts in the order given: all but the last two together, then config.json, then index.html. */
export async function uploadSite(
  s3: S3Client,
  bucket: string,
  puts: readonly SitePut[],
): Promise<void> {
  const send = (p: SitePut) =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: p.key,
        Body: p.body,
        ContentType: p.contentType,
        CacheControl: p.cacheControl,
        ChecksumAlgorithm: "SHA256",
      }),
    );
  const last = puts.slice(-2);
  await Promise.all(puts.slice(0, -2).map(send));
  for (const p of last) await send(p);
}

/** Keys under the folders the deploy owns. */
export async function listOwnedKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of OWNED_PREFIXES) keys.push(...(await listKeys(s3, bucket, prefix)));
  return keys;
}

/** The deploy's files that are not in `keep`: hashed files of earlier deploys. */
export async function staleKeys(
  s3: S3Client,
  bucket: string,
  keep: ReadonlySet<string>,
): Promise<string[]> {
  return (await listOwnedKeys(s3, bucket)).filter((key) => !keep.has(key));
}

/** Everything the deploy put: index.html, config.json and the folders it owns. */
export async function siteKeysToRemove(s3: S3Client, bucket: string): Promise<string[]> {
  return [INDEX_KEY, CONFIG_KEY, ...(await listOwnedKeys(s3, bucket))];
}

/**
 * Puts the built site and its config.json (index.html last), then removes the hashed files of
 * earlier deploys: what a deploy does, and what `npm start` does to the local site bucket.
 */
export async function publishSiteFiles(
  s3: S3Client,
  bucket: string,
  countsApiUrl: string,
  files: readonly SiteFile[],
): Promise<{ puts: SitePut[]; stale: string[] }> {
  const puts = planPuts(files, countsApiUrl);
  await uploadSite(s3, bucket, puts);
  const stale = await staleKeys(s3, bucket, new Set(puts.map((p) => p.key)));
  await deleteKeys(s3, bucket, stale);
  return { puts, stale };
}

export interface SiteContentDependencies {
  s3: S3Client;
  /** The packaged site's files (read only for Create and Update). */
  files: () => Promise<readonly SiteFile[]>;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

const physicalId = (bucket: string) => `s3://${bucket}/`;

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/** Publishes the site (Create, Update) or removes it (Delete); the answer for CloudFormation. */
export async function applyEvent(
  event: CloudFormationCustomResourceEvent,
  deps: SiteContentDependencies,
): Promise<Pick<CloudFormationCustomResourceResponse, "PhysicalResourceId" | "Data">> {
  if (event.RequestType === "Delete") {
    let bucket: string;
    try {
      ({ bucket } = readProperties(event.ResourceProperties));
    } catch (error) {
      // A resource whose properties were never valid put nothing: never block the delete.
      deps.log?.("nothing to remove: the properties are not valid", { error: String(error) });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    try {
      const keys = await siteKeysToRemove(deps.s3, bucket);
      await deleteKeys(deps.s3, bucket, keys);
      deps.log?.("removed the site", { bucket, keys: keys.length });
    } catch (error) {
      if (errorName(error) !== "NoSuchBucket") throw error;
      deps.log?.("nothing to remove: the bucket is gone", { bucket });
    }
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const { bucket, countsApiUrl } = readProperties(event.ResourceProperties);
  const { puts, stale } = await publishSiteFiles(deps.s3, bucket, countsApiUrl, await deps.files());
  deps.log?.("published the site", {
    bucket,
    countsApiUrl,
    keys: puts.map((p) => p.key),
    removedStale: stale,
  });
  return {
    PhysicalResourceId: physicalId(bucket),
    Data: { Bucket: bucket, CountsApiUrl: countsApiUrl, Files: String(puts.length) },
  };
}

export type AnswerDependencies = CustomResourceAnswerDependencies;

/**
 * The whole exchange: apply the event, answer once on the presigned URL. A failure is answered
 * FAILED with its name and message; work that outlives the Lambda is answered FAILED
 * {@link TIMEOUT_MARGIN_MS} before the end, so the stack never waits for an answer that will
 * not come.
 */
export async function handleSiteContent(
  event: CloudFormationCustomResourceEvent,
  context: LambdaContextLike,
  deps: SiteContentDependencies & AnswerDependencies,
): Promise<CloudFormationCustomResourceResponse> {
  return answerCustomResource(event, context, () => applyEvent(event, deps), deps);
}
