/**
 * local/setup/dependencies-hash.mjs: what decides when the bootstrap runs `npm ci` again and when
 * `npm test` drops sam build's cache: the lock file and every patch file, at any depth.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dependenciesHash } from "../../local/setup/dependencies-hash.mjs";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function repository(): string {
  const root = mkdtempSync(join(tmpdir(), "dependencies-hash-"));
  roots.push(root);
  writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}');
  return root;
}

describe("dependenciesHash", () => {
  it("changes with the lock file, a patch, a patch in a folder; not without a change", () => {
    const root = repository();
    const seen = [dependenciesHash(root)];
    mkdirSync(join(root, "patches", "scoped"), { recursive: true });
    // An empty patches folder (with an empty subfolder) is no change.
    expect(dependenciesHash(root)).toBe(seen[0]);
    writeFileSync(join(root, "patches", "kafkajs+2.2.4.patch"), "a");
    seen.push(dependenciesHash(root));
    writeFileSync(join(root, "patches", "kafkajs+2.2.4.patch"), "b");
    seen.push(dependenciesHash(root));
    writeFileSync(join(root, "patches", "scoped", "x+1.0.0.patch"), "c");
    seen.push(dependenciesHash(root));
    writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3,"x":1}');
    seen.push(dependenciesHash(root));
    expect(new Set(seen).size).toBe(seen.length);
    expect(dependenciesHash(root)).toBe(seen.at(-1));
  });
});
