/**
 * The ingest image's build context (`docker build -f tasks/Dockerfile .` from the repository
 * root): .dockerignore keeps the large local folders out of it (.cache is over a gigabyte after
 * `npm test`) and nothing the Dockerfile copies.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const repoRoot = new URL("../../", import.meta.url).pathname;
const ignored = readFileSync(`${repoRoot}.dockerignore`, "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

/** Whether a top-level path is left out by one of the patterns (the forms the file uses). */
function leftOut(path: string): boolean {
  return ignored.some(
    (pattern) =>
      pattern === path ||
      (pattern.startsWith("**/") && pattern.slice(3) === path) ||
      (pattern.startsWith("*.") && path.endsWith(pattern.slice(1))),
  );
}

describe("the ingest image's build context", () => {
  it("leaves out the local caches and dependencies, and nothing tasks/Dockerfile copies", () => {
    for (const path of [".cache", "node_modules", ".aws-sam", ".git"])
      expect(leftOut(path), path).toBe(true);
    const dockerfile = readFileSync(`${repoRoot}tasks/Dockerfile`, "utf8");
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(([, sources]) =>
      (sources as string).split(/\s+/),
    );
    expect(copied).toEqual(expect.arrayContaining(["package.json", "functions", "tasks"]));
    for (const source of copied) expect(leftOut(source), source).toBe(false);
    // No negations or path patterns this check would misread.
    for (const pattern of ignored) expect(pattern, pattern).toMatch(/^(\*\*\/)?[\w.*-]+$/);
  });
});
