/**
 * One local run of the daily batch, as `npm run batch` and `npm start` do it: the workflow on
 * the local engines in a scratch folder (kept when the run fails, for its spark.log), then the
 * site bucket's content copied to `out` when asked.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { runsDir } from "../setup/paths.js";
import { type AwsEndpoint, awsClientConfig } from "../stack/aws-endpoint.js";
import {
  type LocalWorkflowOptions,
  type LocalWorkflowResult,
  runWorkflowLocally,
} from "./local-workflow.js";
import { downloadFolder } from "./s3-folders.js";

export interface LocalBatchOptions {
  aws: AwsEndpoint;
  buckets: Record<string, string>;
  range: string;
  progress: (line: string) => void;
  /** Copy the published site (map.png, clusters.json, ...) into this folder. */
  out?: string | undefined;
  functions?: LocalWorkflowOptions["functions"];
  sparkEnv?: Record<string, string>;
}

export interface LocalBatchResult extends LocalWorkflowResult {
  /** The scratch folder, kept only when the run failed. */
  workDir?: string;
  copied?: { dir: string; files: number };
}

export async function runLocalBatch(options: LocalBatchOptions): Promise<LocalBatchResult> {
  mkdirSync(runsDir, { recursive: true });
  const workDir = mkdtempSync(join(runsDir, "batch-"));
  const result: LocalBatchResult = await runWorkflowLocally({
    aws: options.aws,
    buckets: options.buckets,
    input: { range: options.range },
    workDir,
    progress: options.progress,
    ...(options.functions ? { functions: options.functions } : {}),
    ...(options.sparkEnv ? { sparkEnv: options.sparkEnv } : {}),
  });
  if (result.status === "SUCCEEDED") rmSync(workDir, { recursive: true, force: true });
  else result.workDir = workDir;
  if (options.out && result.status === "SUCCEEDED") {
    result.copied = await copySite(options.aws, siteBucketOf(options.buckets), options.out);
  }
  return result;
}

export function siteBucketOf(buckets: Record<string, string>): string {
  const bucket = buckets.SiteBucket;
  if (!bucket) throw new Error("template.yaml has no SiteBucket");
  return bucket;
}

export async function copySite(
  aws: AwsEndpoint,
  bucket: string,
  out: string,
): Promise<{ dir: string; files: number }> {
  const s3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
  try {
    const dir = resolve(out);
    mkdirSync(dir, { recursive: true });
    return { dir, files: await downloadFolder(s3, bucket, "", dir) };
  } finally {
    s3.destroy();
  }
}

/** One line per state, for people: what ran, and how it ended. */
export function describeBatch(result: LocalBatchResult): string[] {
  const lines = [
    `daily batch ${result.status.toLowerCase()} in ${(result.durationMs / 1000).toFixed(1)} s: ${result.trace.map((step) => step.state).join(" -> ")}`,
  ];
  if (result.error) lines.push(`${result.error.error}: ${result.error.cause}`);
  if (result.workDir) lines.push(`its scratch folder (spark.log) is kept: ${result.workDir}`);
  if (result.copied)
    lines.push(`site copied to ${result.copied.dir} (${result.copied.files} files)`);
  return lines;
}
