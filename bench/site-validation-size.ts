/**
 * What checking the page's JSON costs in its bundle, by library: the page's own checks
 * (site/src/validate.ts, zod/mini) against the batch's contract for clusters.json in full zod
 * (functions/shared/batch-contract.ts), each bundled alone as site/build.ts bundles the page
 * (esbuild, ESM, es2022, minified) and gzipped at level 9 as the page budget is counted.
 * docs/website.md and docs/choices.md quote these two figures.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface BundleSize {
  bytes: number;
  gzipBytes: number;
}

/** The minified, gzipped size of a module that re-exports what `contents` names. */
export async function bundleSize(contents: string): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir: repo, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { bytes: code.byteLength, gzipBytes: gzipSync(code, { level: 9 }).byteLength };
}

export async function validationSizes(): Promise<{ zodMini: BundleSize; fullZod: BundleSize }> {
  return {
    zodMini: await bundleSize(
      'export { parseClusters, parseTopCities, parseRun, parseConfig } from "./site/src/validate.ts";',
    ),
    fullZod: await bundleSize(
      'export { clustersDocumentSchema } from "./functions/shared/batch-contract.ts";',
    ),
  };
}
