import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * An install is current when the marker file it wrote last holds the fingerprint of what it was
 * installed from; the marker is written last, so an interrupted install is redone.
 */
export function fingerprint(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex");
}

export function isCurrent(markerPath: string, expected: string): boolean {
  return existsSync(markerPath) && readFileSync(markerPath, "utf8").trim() === expected;
}

export function markCurrent(markerPath: string, value: string): void {
  writeFileSync(markerPath, `${value}\n`);
}

/**
 * Runs `install` while holding `lockDir` (mkdir is atomic), so two commands started at once on
 * a fresh clone (a demo and a test run) do not install into the same folder together. A lock
 * whose owner process is gone is taken over. `install` should re-check whether it is still needed.
 */
export async function withInstallLock<T>(lockDir: string, install: () => Promise<T>): Promise<T> {
  const ownerFile = join(lockDir, "pid");
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir, { recursive: false });
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(existsSync(ownerFile) ? readFileSync(ownerFile, "utf8") : Number.NaN);
      // A dead owner, or none written a minute after the lock was made (a crash in between).
      const ownerless = !Number.isInteger(owner) && ageMs(lockDir) > 60_000;
      if ((Number.isInteger(owner) && !isAlive(owner)) || ownerless) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        process.stderr.write(`[setup] waiting for another install to finish (${lockDir})...\n`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await install();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
