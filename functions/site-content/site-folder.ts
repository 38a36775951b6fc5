/**
 * The built site as packaged with this Lambda: every file under a folder, keyed by its path
 * relative to the folder with forward slashes (the keys the site bucket gets).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { SiteFile } from "./site-content.js";

export async function readSiteFolder(dir: string): Promise<SiteFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return Promise.all(
    paths.map(async (path) => ({
      key: relative(dir, path).split(sep).join("/"),
      body: await readFile(path),
    })),
  );
}
