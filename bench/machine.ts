import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { kafkaVersionFromPom } from "../local/setup/kafka-jars.js";
import { repoRoot, venvBin } from "../local/setup/paths.js";

/** A command's first line of output (stdout or stderr: `java -version` writes to stderr). */
function firstLine(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { encoding: "utf8", cwd: repoRoot, timeout: 10_000 });
  if (result.error || result.status !== 0) return null;
  return `${result.stdout}\n${result.stderr}`.trim().split("\n")[0]?.trim() || null;
}

/** The distribution's name (/etc/os-release), else the platform. */
function operatingSystem(): string {
  try {
    const name = readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1];
    return `${name ?? process.platform}, kernel ${release()}`;
  } catch {
    return `${process.platform} ${release()}`;
  }
}

/**
 * The machine and the code a figure was measured with, printed with every benchmark: CPU,
 * cores, memory, operating system, the runtimes (Node; Java, which runs the broker, Kafka's
 * own tools and Spark; the venv's Python), the Kafka version and the commit (dirty when the
 * tree has changes).
 */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const java = firstLine("java", ["-version"])?.replace(/^openjdk version /, "OpenJDK ") ?? "none";
  const python = existsSync(venvBin("python"))
    ? (firstLine(venvBin("python"), ["--version"]) ?? "?")
    : "no venv yet";
  let kafka = "?";
  try {
    kafka = kafkaVersionFromPom();
  } catch {}
  const commit = firstLine("git", ["rev-parse", "--short", "HEAD"]) ?? "no git";
  const dirty = (
    spawnSync("git", ["status", "--porcelain"], { encoding: "utf8", cwd: repoRoot }).stdout ?? ""
  ).trim();
  return [
    `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.arch}`,
    operatingSystem(),
    `Node ${process.version}, Java ${java}, ${python}, Kafka ${kafka}`,
    `commit ${commit}${dirty ? " (with uncommitted changes)" : ""}`,
  ].join("; ");
}

/** Runs `work` until at least `minMs` have passed; returns operations per second. */
export function throughput(
  work: () => number,
  minMs = 2000,
): { perSecond: number; operations: number; ms: number } {
  work(); // warm-up
  let operations = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    operations += work();
    elapsed = performance.now() - started;
  }
  return { perSecond: (operations / elapsed) * 1000, operations, ms: elapsed };
}
