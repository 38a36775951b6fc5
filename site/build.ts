/**
 * Builds the website into a folder, ready to copy into the site bucket:
 *
 *   index.html                   site/index.html, pointing at the hashed files below
 *   assets/main-<hash>.js(.map)  site/src/main.ts bundled by esbuild (ESM, es2022, minified)
 *   assets/styles-<hash>.css     site/src/styles.css with the parts it imports (styles/), minified
 *   basemap/countries-110m.json  world-atlas basemaps (Natural Earth), served as static files
 *   basemap/countries-50m.json   (the detailed one is loaded when the reader zooms in)
 *
 * and nothing else: config.json (the counts API's URL) is written by whoever deploys, and the
 * batch publishes map.png, clusters.json, cities.json and run.json next to these. assets/ is
 * replaced on every build; other files in the folder are left alone.
 *
 *   npx tsx site/build.ts [OUT_DIR]     (default .cache/site-dist/)
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const requireFromHere = createRequire(import.meta.url);

export const DEFAULT_OUT_DIR = resolve(here, "..", ".cache", "site-dist");
export const BASEMAPS = ["countries-110m.json", "countries-50m.json"] as const;
/** The page's own code and styles, gzipped, must stay under this (basemap data aside). */
export const BUDGET_GZIP_BYTES = 300 * 1024;

export interface SiteBuild {
  /** Every file written, relative to the output folder, with forward slashes. */
  files: string[];
  /** The JavaScript and CSS the page loads, in bytes (source maps and basemaps not counted). */
  bytes: number;
  /** The same, gzipped at level 9. */
  gzipBytes: number;
  /** The files index.html loads, relative to the output folder. */
  script: string;
  stylesheet: string;
}

export async function buildSite(outDir: string = DEFAULT_OUT_DIR): Promise<SiteBuild> {
  const out = resolve(outDir);
  const assets = join(out, "assets");
  await rm(assets, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });

  const result = await build({
    entryPoints: {
      main: join(here, "src", "main.ts"),
      styles: join(here, "src", "styles.css"),
    },
    outdir: assets,
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: "linked",
    metafile: true,
    logLevel: "silent",
    charset: "utf8",
  });

  const written = Object.keys(result.metafile.outputs).map((path) =>
    relative(out, resolve(path)).split("\\").join("/"),
  );
  const script = written.find((file) => /^assets\/main-[^/]+\.js$/.test(file));
  const stylesheet = written.find((file) => /^assets\/styles-[^/]+\.css$/.test(file));
  if (!script || !stylesheet) {
    throw new Error(`esbuild wrote no main script or stylesheet: ${written.join(", ")}`);
  }

  const template = await readFile(join(here, "index.html"), "utf8");
  const html = replaceOnce(
    replaceOnce(template, 'src="./main.js"', `src="${script}"`),
    'href="./styles.css"',
    `href="${stylesheet}"`,
  );
  await writeFile(join(out, "index.html"), html);

  await mkdir(join(out, "basemap"), { recursive: true });
  for (const name of BASEMAPS) {
    await copyFile(requireFromHere.resolve(`world-atlas/${name}`), join(out, "basemap", name));
  }

  let bytes = 0;
  let gzipBytes = 0;
  for (const file of [script, stylesheet]) {
    const content = await readFile(join(out, file));
    bytes += content.byteLength;
    gzipBytes += gzipSync(content, { level: 9 }).byteLength;
  }
  const files = [
    "index.html",
    ...written.filter((file) => file !== "index.html"),
    ...BASEMAPS.map((name) => `basemap/${name}`),
  ].sort();
  return { files, bytes, gzipBytes, script, stylesheet };
}

function replaceOnce(text: string, search: string, replacement: string): string {
  const at = text.indexOf(search);
  if (at < 0 || text.indexOf(search, at + 1) >= 0) {
    throw new Error(`site/index.html must contain ${search} exactly once`);
  }
  return text.slice(0, at) + replacement + text.slice(at + search.length);
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? DEFAULT_OUT_DIR;
  const started = performance.now();
  const site = await buildSite(outDir);
  const lines = [
    `site built into ${resolve(outDir)} in ${Math.round(performance.now() - started)} ms`,
  ];
  for (const file of site.files) {
    const { size } = await stat(join(resolve(outDir), file));
    lines.push(`  ${file.padEnd(40)} ${(size / 1024).toFixed(1).padStart(8)} KB`);
  }
  lines.push(
    `page code and styles: ${(site.bytes / 1024).toFixed(1)} KB, ${(site.gzipBytes / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_GZIP_BYTES / 1024} KB)`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  if (site.gzipBytes > BUDGET_GZIP_BYTES) {
    process.stderr.write("over the size budget\n");
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    process.exitCode = 1;
  });
}
