// @ts-check
/**
 * What the installed node_modules are made of: package-lock.json and the patches patch-package
 * applies to them (patches/, in the install's postinstall). One hash of both tells the bootstrap
 * when to run `npm ci` again and `npm test` when to drop `sam build --cached`'s cache (which
 * otherwise reinstalls only when a package.json changes). Plain JavaScript without dependencies:
 * the bootstrap imports it before node_modules exists.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** @param {string} repoRoot @returns {string} hex SHA-256 of the lock file and every patch file */
export function dependenciesHash(repoRoot) {
  const hash = createHash("sha256").update(readFileSync(join(repoRoot, "package-lock.json")));
  const patchesDir = join(repoRoot, "patches");
  const patches = existsSync(patchesDir) ? readdirSync(patchesDir, { recursive: true }).sort() : [];
  for (const patch of patches) {
    const path = join(patchesDir, String(patch));
    if (statSync(path).isFile()) hash.update(String(patch)).update(readFileSync(path));
  }
  return hash.digest("hex");
}
