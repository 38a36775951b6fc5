/**
 * The Spark job's wall time (`npm run bench:cluster`): 10^6 synthetic RSVPs, parsed by the
 * ingest's parser (functions/shared/rsvp/parse.ts) into the normalized records Firehose lands,
 * written as NDJSON under dt=YYYY-MM-DD/ folders by arrival day (the synthetic feed's mtime,
 * about one message a second from 2026-01-01, so 12 days), then `spark/curate_rsvps.py --all`
 * run with the venv's pyspark on a local Spark (all cores of this machine), timed from process
 * start to exit (JVM start included).
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { ProgressLine } from "../local/cli/progress-line.js";
import { syntheticMessages } from "../local/feed/synthetic/generator.js";
import { pythonRequirementsPath, repoRoot, venvBin } from "../local/setup/paths.js";
import { ensurePythonVenv } from "../local/setup/python-venv.js";

const RECORDS = 1_000_000;
/** Lines per NDJSON file, about what one Firehose delivery holds. */
const LINES_PER_FILE = 50_000;

export async function run(print: (line: string) => void): Promise<void> {
  if (spawnSync("java", ["-version"], { stdio: "ignore" }).status !== 0) {
    print("skipped: Spark needs Java 17+ (`java` was not found)");
    return;
  }
  await ensurePythonVenv();
  const dir = mkdtempSync(join(tmpdir(), "rsvp-atlas-spark-bench-"));
  try {
    const input = join(dir, "raw");
    const landed = land(input);
    print(
      `input: ${landed.records.toLocaleString("en-US")} RSVP records (from ${landed.messages.toLocaleString("en-US")} synthetic messages; ${landed.rejected.toLocaleString("en-US")} malformed ones rejected by the parser, as the ingest does), ${(landed.bytes / 2 ** 20).toFixed(0)} MiB of NDJSON in ${landed.files} files over ${landed.days} days; generated and parsed in ${landed.seconds.toFixed(0)} s`,
    );

    const output = join(dir, "curated");
    const loadAtStart = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    process.stderr.write("[bench:spark] running spark/curate_rsvps.py --all...\n");
    const job = await runSpark(input, output);
    const submitArgs = process.env.PYSPARK_SUBMIT_ARGS;
    print(
      `spark/curate_rsvps.py --all (pyspark ${pysparkVersion()}, local[*] = ${cpus().length} cores, ${submitArgs ? `PYSPARK_SUBMIT_ARGS="${submitArgs}"` : "Spark's default 1 GiB driver memory"}): wall time ${job.seconds.toFixed(1)} s, JVM start included; load average at start ${loadAtStart}`,
    );
    print(
      `rows written: ${Object.entries(job.counts)
        .map(([table, rows]) => `${table} ${rows.toLocaleString("en-US")}`)
        .join(", ")}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Landed {
  messages: number;
  records: number;
  rejected: number;
  bytes: number;
  files: number;
  days: number;
  seconds: number;
}

/** Generates and parses messages until RECORDS records are written under `root`/dt=.../. */
function land(root: string): Landed {
  const parse = createRsvpParser();
  const started = performance.now();
  const landed = { messages: 0, records: 0, rejected: 0, bytes: 0, files: 0, days: 0, seconds: 0 };
  const progress = new ProgressLine(() => ({
    counters: { records: landed.records },
    text: (rates) =>
      `[bench:spark] generating: ${landed.records.toLocaleString("en-US")} / ${RECORDS.toLocaleString("en-US")} RSVP records (${rates.records}/s)`,
  }));
  progress.start();
  let file: { day: string; fd: number; lines: number } | undefined;
  let buffer: string[] = [];
  const flush = () => {
    if (!file || buffer.length === 0) return;
    const text = `${buffer.join("\n")}\n`;
    writeSync(file.fd, text);
    landed.bytes += Buffer.byteLength(text);
    buffer = [];
  };
  const days = new Set<string>();
  try {
    for (const message of syntheticMessages({ seed: "spark-bench" })) {
      landed.messages += 1;
      const result = parse(message.text);
      if (!result.ok) {
        landed.rejected += 1;
        continue;
      }
      const day = new Date(result.record.mtime).toISOString().slice(0, 10);
      if (!file || file.day !== day || file.lines === LINES_PER_FILE) {
        flush();
        if (file) closeSync(file.fd);
        const folder = join(root, `dt=${day}`);
        mkdirSync(folder, { recursive: true });
        days.add(day);
        const name = `part-${String(landed.files).padStart(5, "0")}.json`;
        file = { day, fd: openSync(join(folder, name), "w"), lines: 0 };
        landed.files += 1;
      }
      buffer.push(JSON.stringify(result.record));
      file.lines += 1;
      if (buffer.length === 1000) flush();
      landed.records += 1;
      if (landed.records === RECORDS) break;
    }
    flush();
  } finally {
    if (file) closeSync(file.fd);
    progress.stop();
  }
  landed.days = days.size;
  landed.seconds = (performance.now() - started) / 1000;
  return landed;
}

/** Runs the job as spark-submit would on EMR, with the venv's python; returns its wall time. */
function runSpark(
  input: string,
  output: string,
): Promise<{ seconds: number; counts: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      venvBin("python"),
      [join(repoRoot, "spark", "curate_rsvps.py"), "--input", input, "--output", output, "--all"],
      {
        cwd: repoRoot,
        env: { ...process.env, SPARK_LOCAL_IP: "127.0.0.1", PYSPARK_PYTHON: venvBin("python") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    const stderr: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk.toString("utf8"));
      if (stderr.length > 200) stderr.shift();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        reject(
          new Error(`spark/curate_rsvps.py exited with ${code}:\n${stderr.join("").slice(-4000)}`),
        );
        return;
      }
      // The job ends by printing its counts, one object: {"range": "all", "rsvp": 123, ...}.
      const counts: Record<string, number> = {};
      for (const [, table, rows] of stdout.matchAll(/["'](\w+)["']: (\d+)/g)) {
        counts[table as string] = Number(rows);
      }
      resolve({ seconds, counts });
    });
  });
}

/** The pyspark the venv pins (local/python/requirements.txt), as the figure ran on. */
function pysparkVersion(): string {
  return readFileSync(pythonRequirementsPath, "utf8").match(/^pyspark==(\S+)/m)?.[1] ?? "?";
}
