/**
 * The terminal is for people: `npm start` prints progress and summaries on stderr, and the
 * structured JSON logs of every component it runs in-process (the ingest, the city-counts and
 * counts-API handlers, kafkajs through its log router) go to a log file of the run, which is
 * kept. Powertools' Logger writes them to stdout (and WARN and ERROR to stderr): this sends
 * stdout, and every JSON line on stderr, to the file. `--verbose` shows them on stderr instead;
 * with `--json`, stdout keeps only the result.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../setup/paths.js";

export interface RunLog {
  /** The file the structured logs go to; null with --verbose. */
  path: string | null;
  /** Writes the one JSON result of --json to the real stdout. */
  writeResult: (text: string) => void;
  close(): Promise<void>;
}

export function routeStructuredLogs(options: { verbose: boolean; name: string }): RunLog {
  const stdout = process.stdout.write.bind(process.stdout);
  const writeResult = (text: string) => void stdout(text);
  if (options.verbose) {
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    return { path: null, writeResult, close: async () => {} };
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = join(cacheDir, "logs", `${options.name}-${stamp}.log`);
  mkdirSync(join(cacheDir, "logs"), { recursive: true });
  // Synchronous appends: nothing is lost when the process exits right after a line.
  const fd = openSync(path, "a");
  const toFile = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    writeSync(fd, typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = toFile;
  const stderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return text.startsWith('{"level":')
      ? toFile(chunk, ...(rest as []))
      : stderr(chunk, ...(rest as []));
  }) as typeof process.stderr.write;
  return { path, writeResult, close: async () => closeSync(fd) };
}
