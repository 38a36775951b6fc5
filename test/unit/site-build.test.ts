import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUDGET_GZIP_BYTES, buildSite, type SiteBuild } from "../../site/build.js";
import { el } from "../../site/src/dom.js";

let out: string;
let site: SiteBuild;
let html: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "site-build-"));
  site = await buildSite(out);
  html = await readFile(join(out, "index.html"), "utf8");
});

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    ),
  );
  return files.flat().sort();
}

describe("buildSite", () => {
  it("writes index.html, the script and stylesheet (with source maps) and the basemaps, nothing else", async () => {
    expect(await listFiles(out)).toEqual(site.files);
    expect(site.files).toEqual(
      [
        "index.html",
        site.script,
        `${site.script}.map`,
        site.stylesheet,
        `${site.stylesheet}.map`,
        "basemap/countries-110m.json",
        "basemap/countries-50m.json",
      ].sort(),
    );
    expect(site.script).toMatch(/^assets\/main-[A-Z0-9]+\.js$/);
    expect(site.stylesheet).toMatch(/^assets\/styles-[A-Z0-9]+\.css$/);
    expect(site.files).not.toContain("config.json");
  });

  it("keeps the page's own code and styles under 300 KB gzipped", async () => {
    let gzip = 0;
    for (const file of [site.script, site.stylesheet]) {
      gzip += gzipSync(await readFile(join(out, file)), { level: 9 }).byteLength;
    }
    expect(site.gzipBytes).toBe(gzip);
    expect(site.gzipBytes).toBeLessThan(BUDGET_GZIP_BYTES);
    expect(site.bytes).toBeGreaterThan(site.gzipBytes);
  });

  it("copies world-atlas basemaps the page can draw", async () => {
    for (const name of ["countries-110m.json", "countries-50m.json"]) {
      const topology = JSON.parse(await readFile(join(out, "basemap", name), "utf8"));
      expect(topology.type).toBe("Topology");
      expect(Object.keys(topology.objects).sort()).toEqual(["countries", "land"]);
    }
  });

  it("replaces the previous build's assets and leaves other files (the batch's) alone", async () => {
    await writeFile(join(out, "assets", "main-STALE.js"), "stale");
    await writeFile(join(out, "run.json"), "{}");
    const again = await buildSite(out);
    const files = await listFiles(out);
    expect(files).not.toContain("assets/main-STALE.js");
    expect(files).toContain("run.json");
    expect(again.script).toBe(site.script);
    await rm(join(out, "run.json"));
  });
});

describe("index.html", () => {
  it("has a Content-Security-Policy forbidding inline script and style and other sites' code", () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toBeDefined();
    const directives = new Map(
      (csp ?? "").split(";").map((part) => {
        const [name = "", ...values] = part.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get("default-src")).toEqual(["'self'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("style-src")).toEqual(["'self'"]);
    expect(directives.get("object-src")).toEqual(["'none'"]);
    expect(directives.get("base-uri")).toEqual(["'none'"]);
    expect(directives.get("connect-src")).toEqual(["'self'", "https:"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it("has no inline script, no inline style and no event handler attributes", () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toContain(`src="${site.script}"`);
      expect(attributes).toContain('type="module"');
      expect(content).toBe("");
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
    expect(html).toContain(`<link rel="stylesheet" href="${site.stylesheet}">`);
  });

  it("loads nothing from another site", () => {
    for (const [, url] of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) {
      expect(url).not.toMatch(/^(https?:)?\/\//);
    }
  });

  it("shows map.png without JavaScript, and has landmarks and headings", () => {
    expect(html).toMatch(/<noscript>\s*<img class="map-picture" src="map.png"[^>]* alt="[^"]+"/);
    for (const landmark of ["<header", "<main", "<footer", "<h1", "<h2", 'lang="en"']) {
      expect(html).toContain(landmark);
    }
  });
});

describe("rendering text from the feed", () => {
  it("the bundle and the page's code never parse strings as HTML", async () => {
    const bundle = await readFile(join(out, site.script), "utf8");
    const sources = await Promise.all(
      (await readdir(new URL("../../site/src/", import.meta.url)))
        .filter((name) => name.endsWith(".ts"))
        .map((name) => readFile(new URL(`../../site/src/${name}`, import.meta.url), "utf8")),
    );
    for (const code of [bundle, ...sources]) {
      expect(code).not.toMatch(
        /\.(innerHTML|outerHTML|insertAdjacentHTML|write|writeln)\b|\beval\(|new Function/,
      );
    }
  });

  it("el() puts hostile names in as text nodes and refuses event attributes", () => {
    // A stand-in document: enough to see what el() asks of the DOM.
    const created: {
      tag?: string;
      text?: string;
      children: unknown[];
      attrs: Record<string, string>;
    }[] = [];
    const fakeDocument = {
      createElement: (tag: string) => {
        const node = {
          tag,
          children: [] as unknown[],
          attrs: {} as Record<string, string>,
          className: "",
          setAttribute(name: string, value: string) {
            this.attrs[name] = value;
          },
          appendChild(child: unknown) {
            this.children.push(child);
            return child;
          },
        };
        created.push(node);
        return node;
      },
      createTextNode: (text: string) => ({ text, children: [], attrs: {} }),
    };
    const saved = (globalThis as { document?: unknown }).document;
    (globalThis as { document?: unknown }).document = fakeDocument;
    try {
      const hostile = "<img src=x onerror=alert(1)>";
      const cell = el("td", { attrs: { title: "</script>" } }, hostile) as unknown as {
        children: { text?: string }[];
        attrs: Record<string, string>;
      };
      expect(cell.children).toEqual([{ text: hostile, children: [], attrs: {} }]);
      expect(cell.attrs).toEqual({ title: "</script>" });
      expect(created).toHaveLength(1);
      expect(() => el("img", { attrs: { onerror: "alert(1)" } })).toThrow(/event attribute/);
    } finally {
      (globalThis as { document?: unknown }).document = saved;
    }
  });
});
