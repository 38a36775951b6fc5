import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

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
