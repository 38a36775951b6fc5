/**
 * The documentation's links: README.md links into docs/, the docs link to each other and to
 * the code. Every relative link must reach a file, and every #anchor a heading of its target,
 * with GitHub's slugs (lowercase, spaces to '-', punctuation but '-' and '_' dropped, '-1',
 * '-2', ... for repeated headings). A heading renamed or a section moved without its links
 * fails here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { SKIPPED_SUFFIX } from "../support/shared-data.js";

const SKIP_DIRS = new Set(["node_modules", ".cache", ".git", ".aws-sam"]);

/** Every markdown file of the repository (README.md, docs/, the folders' READMEs). */
function markdownFiles(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : markdownFiles(path);
    return entry.name.endsWith(".md") ? [path] : [];
  });
}

/** The lines outside fenced code blocks (a `# comment` in a sh block is no heading). */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split("\n").filter((line) => {
    const marker = line.trimStart().match(/^(`{3,}|~{3,})/)?.[1];
    if (marker !== undefined) {
      if (fence === undefined) fence = marker[0];
      else if (marker[0] === fence) fence = undefined;
      return false;
    }
    return fence === undefined;
  });
}

/** GitHub's anchor of a heading's text. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images: their text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(readFileSync(file, "utf8"))) {
    const heading = line.match(/^#{1,6} +(.*?)(?: +#+)? *$/)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The targets of the file's inline links and images, code spans left out. */
function links(file: string): string[] {
  const prose = proseLines(readFileSync(file, "utf8"))
    .join("\n")
    .replace(/`[^`]*`/g, "");
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] ?? "",
  );
}

const files = markdownFiles();
const docs = readdirSync(join(repoRoot, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => join(repoRoot, "docs", name));
const readme = join(repoRoot, "README.md");

describe("the documentation's links", () => {
  it("finds the README and the docs", () => {
    expect(files).toContain(readme);
    expect(docs.length).toBeGreaterThan(5);
    for (const doc of docs) expect(files).toContain(doc);
  });

  it("computes GitHub's anchors", () => {
    expect(slug("Reliability: faults survived")).toBe("reliability-faults-survived");
    expect(slug("The streaming path at full speed (`npm run bench:stream`)")).toBe(
      "the-streaming-path-at-full-speed-npm-run-benchstream",
    );
    expect(slug("Choices, and why")).toBe("choices-and-why");
    expect(slug("daily-batch.asl.json")).toBe("daily-batchasljson");
    expect(slug("snake_case and Ünïcode")).toBe("snake_case-and-ünïcode");
  });

  it.each(files.map((file) => [relative(repoRoot, file), file]))(
    "%s: every relative link reaches a file, every #anchor a heading",
    (_name, file) => {
      const broken: string[] = [];
      for (const target of links(file)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path = "", anchor] = target.split("#", 2);
        const resolved = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(resolved)) {
          broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md") || statSync(resolved).isDirectory()) {
          broken.push(`${target}: an anchor into a file that is not markdown`);
        } else if (!anchors(resolved).has(decodeURIComponent(anchor))) {
          broken.push(`${target}: no heading with that anchor`);
        }
      }
      expect(broken).toEqual([]);
    },
  );

  it("links every doc from the README", () => {
    const linked = new Set(
      links(readme)
        .filter((target) => !/^[a-z]+:/i.test(target))
        .map((target) => resolve(repoRoot, target.split("#")[0] ?? "")),
    );
    for (const doc of docs) expect(linked, relative(repoRoot, doc)).toContain(doc);
  });
});

describe("the README and the docs", () => {
  it("start with the two commands", () => {
    const text = readFileSync(readme, "utf8");
    const first = text.split("\n\n")[1] ?? "";
    expect(first).toContain(
      "**`npm start` runs the whole pipeline locally; `npm test` runs every test.** Each installs what",
    );
    expect(text.indexOf("npm start      #")).toBeLessThan(text.indexOf("\n## "));
  });

  it.each(files.map((file) => [relative(repoRoot, file), file]))(
    "%s: keeps prose within 100 columns (tables and unbreakable spans aside)",
    (_name, file) => {
      // A line longer than 100 columns is fine only when it cannot be broken: a table row, one
      // code span (a command to copy whole), one link or image (biome keeps them whole), or one token
      // without spaces (a URL).
      const unbreakable = /^(?:[-*+] |\d+\. )?\(?(?:`[^`]*`|!?\[[^\]]*\]\([^)]*\)|\S+)[.,;:)]*$/;
      const long = proseLines(readFileSync(file, "utf8")).filter(
        (line) =>
          line.length > 100 && !line.trimStart().startsWith("|") && !unbreakable.test(line.trim()),
      );
      expect(long).toEqual([]);
    },
  );

  it("quote the name a test on recorded data gets when ../shared/data is absent", () => {
    const testing = readFileSync(join(repoRoot, "docs", "testing.md"), "utf8");
    expect(testing).toContain(`\`${SKIPPED_SUFFIX.trim()}\``);
  });
});
