/**
 * The workflow's EMR step, run locally: the same `spark-submit` arguments the state machine
 * gives EMR, with Spark in local mode (pyspark from the venv, pinned to EMR's Spark) and the
 * s3:// locations swapped for folders synchronised with moto. The job file is the repo's
 * spark/curate_rsvps.py itself.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { repoRoot, venvDir } from "../setup/paths.js";
import { deleteKeys, downloadFolder, listKeys, uploadFolder } from "./s3-folders.js";

export class SparkStepError extends Error {
  override readonly name = "SparkStepError";
}

export interface SparkStepOptions {
  s3: S3Client;
  /** A scratch folder of this run; the step's log stays there as spark.log. */
  workDir: string;
  progress: (line: string) => void;
  /** Extra environment for spark-submit (tests inject failures through it). */
  env?: Record<string, string>;
}

export interface SparkStepResult {
  counts: Record<string, unknown>;
  uploaded: number;
  log: string;
}

/** `s3://bucket/prefix` → bucket and prefix ending in "/" (or ""). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new SparkStepError(`not an s3:// location: ${uri}`);
  const rest = match[2] ?? "";
  return { bucket: match[1], prefix: rest === "" || rest.endsWith("/") ? rest : `${rest}/` };
}

/**
 * Where a raw object lands locally: under the raw folder, Firehose writes
 * `dt=YYYY-MM-DD/<name>` (moto too, through local/stack/moto_server.py, which evaluates the
 * prefix as Firehose does), the partition Spark reads. Anything else there is not Firehose's and
 * stays out, as on EMR, where the job reads only the `dt=` folders' records.
 */
export function rawObjectPath(relativeKey: string): string | null {
  return /^dt=\d{4}-\d{2}-\d{2}\/[^/]+$/.test(relativeKey) ? relativeKey : null;
}

/**
 * The arguments after the job file: `--input`, `--output` and the rest, as given to EMR, and
 * the step's time limit when the command starts with coreutils' `timeout <seconds>` (what the
 * workflow gives EMR so a hung step ends itself).
 */
export function splitSubmitArgs(commandLine: readonly string[]): {
  script: string;
  input: string;
  output: string;
  jobArgs: string[];
  timeoutSeconds: number | null;
} {
  const limited = commandLine[0] === "timeout";
  const timeoutSeconds = limited ? Number(commandLine[1]) : null;
  if (timeoutSeconds !== null && !(timeoutSeconds > 0)) {
    throw new SparkStepError(`timeout needs a number of seconds: ${JSON.stringify(commandLine)}`);
  }
  const args = limited ? commandLine.slice(2) : commandLine;
  const scriptIndex = args.findIndex((arg) => arg.endsWith(".py"));
  if (args[0] !== "spark-submit" || scriptIndex < 0) {
    throw new SparkStepError(`not a spark-submit of a .py job: ${JSON.stringify(args)}`);
  }
  const rest = args.slice(scriptIndex + 1);
  const take = (flag: string) => {
    const index = rest.indexOf(flag);
    const value = rest[index + 1];
    if (index < 0 || value === undefined) throw new SparkStepError(`the step has no ${flag}`);
    rest.splice(index, 2);
    return value;
  };
  return {
    script: args[scriptIndex] as string,
    input: take("--input"),
    output: take("--output"),
    jobArgs: rest,
    timeoutSeconds,
  };
}

export async function runSparkStepLocally(
  args: readonly string[],
  options: SparkStepOptions,
): Promise<SparkStepResult> {
  const { s3, workDir, progress } = options;
  const submit = splitSubmitArgs(args);
  const input = parseS3Uri(submit.input);
  const output = parseS3Uri(submit.output);
  const rawDir = join(workDir, "raw");
  const curatedDir = join(workDir, "curated");
  await rm(rawDir, { recursive: true, force: true });
  await rm(curatedDir, { recursive: true, force: true });
  await mkdir(rawDir, { recursive: true });

  const files = await downloadFolder(s3, input.bucket, input.prefix, rawDir, (key) =>
    rawObjectPath(key.slice(input.prefix.length)),
  );
  progress(`spark: ${files} raw objects from s3://${input.bucket}/${input.prefix} to ${rawDir}`);

  const log = join(workDir, "spark.log");
  const stdout = await sparkSubmit(
    [
      "--master",
      "local[2]",
      "--conf",
      "spark.ui.enabled=false",
      join(repoRoot, "spark", "curate_rsvps.py"),
      "--input",
      rawDir,
      "--output",
      curatedDir,
      ...submit.jobArgs,
    ],
    log,
    options,
    submit.timeoutSeconds,
  );
  const summaryLine = stdout
    .split("\n")
    .reverse()
    .find((line) => line.startsWith("{"));
  const counts = summaryLine ? (JSON.parse(summaryLine) as Record<string, unknown>) : {};

  // Dynamic partition overwrite, as on S3: the partitions this run wrote replace their old
  // objects; partitions it did not touch stay.
  let uploaded = 0;
  for (const table of await readdir(curatedDir).catch(() => [] as string[])) {
    const partitions = await readdir(join(curatedDir, table), { withFileTypes: true });
    for (const partition of partitions.filter((entry) => entry.isDirectory())) {
      const prefix = `${output.prefix}${table}/${partition.name}/`;
      await deleteKeys(s3, output.bucket, await listKeys(s3, output.bucket, prefix));
      const keys = await uploadFolder(
        s3,
        join(curatedDir, table, partition.name),
        output.bucket,
        prefix,
        (path) => path.endsWith(".crc") || path.startsWith("_") || path.startsWith("."),
      );
      uploaded += keys.length;
    }
  }
  progress(
    `spark: ${uploaded} curated files to s3://${output.bucket}/${output.prefix} (${describeCounts(counts)})`,
  );
  return { counts, uploaded, log };
}

async function sparkSubmit(
  args: string[],
  logPath: string,
  options: SparkStepOptions,
  timeoutSeconds: number | null,
): Promise<string> {
  const started = Date.now();
  const logFile = createWriteStream(logPath);
  const child = spawn(join(venvDir, "bin", "spark-submit"), args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      SPARK_LOCAL_IP: "127.0.0.1",
      PYSPARK_PYTHON: join(venvDir, "bin", "python"),
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    logFile.write(chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => logFile.write(chunk));
  const timer = setInterval(
    () => options.progress(`spark: curating... ${Math.round((Date.now() - started) / 1000)} s`),
    10_000,
  );
  // As coreutils' timeout on EMR: SIGTERM when the step's time is up.
  let timedOut = false;
  const limit =
    timeoutSeconds === null
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill("SIGTERM");
        }, timeoutSeconds * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  }).finally(() => {
    clearInterval(timer);
    clearTimeout(limit);
  });
  if (timedOut) {
    await new Promise((resolve) => logFile.end(resolve));
    throw new SparkStepError(`spark-submit ran past the step's timeout of ${timeoutSeconds} s`);
  }
  await new Promise((resolve) => logFile.end(resolve));
  if (code !== 0) {
    const tail = (await readFile(logPath, "utf8"))
      .split("\n")
      .filter(Boolean)
      .slice(-15)
      .join("\n");
    throw new SparkStepError(`spark-submit exited with ${code}; the end of ${logPath}:\n${tail}`);
  }
  options.progress(`spark: done in ${Math.round((Date.now() - started) / 1000)} s`);
  return stdout;
}

/**
 * The Spark job's summary for people: `2,397 RSVPs, 2,337 events, 2,247 groups, 1,814 venues
 * from 2,580 messages, 2 unusable lines` (its JSON line, `{"range", "rsvp", ...}`).
 */
export function describeCounts(counts: Record<string, unknown>): string {
  const n = (name: string) =>
    typeof counts[name] === "number" ? (counts[name] as number).toLocaleString("en-US") : "?";
  return `${n("rsvp")} RSVPs, ${n("event")} events, ${n("group")} groups, ${n("venue")} venues from ${n("messages")} messages, ${n("errors")} unusable lines`;
}
