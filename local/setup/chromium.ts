/**
 * Headless Chromium for the browser tests, driven by playwright-core (`npx playwright install`
 * cannot download a browser here). `CHROMIUM_PATH` names one; otherwise the first of Chromium's
 * usual names on PATH is taken (Debian's `chromium`, Ubuntu's `chromium-browser`, Google's
 * builds). When there is none, Debian's package is installed with apt-get on first use; that
 * needs root, and the message says so when it is not.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { runWithProgress, setupStep } from "./run.js";

/** The names Chromium goes by, in the order they are looked for on PATH. */
export const CHROMIUM_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome-stable",
  "google-chrome",
] as const;

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium to drive: `CHROMIUM_PATH` when set (an error when it is no executable file, so a
 * typo is not silently replaced by another browser), else the first usual name on PATH, else
 * null.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.CHROMIUM_PATH;
  if (given) {
    if (isExecutableFile(given)) return given;
    throw new Error(`CHROMIUM_PATH is ${given}, which is not an executable file`);
  }
  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (isExecutableFile(path)) return path;
    }
  }
  return null;
}

/** The Chromium the browser tests launch; `npm test` has made sure there is one. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = findChromium(env);
  if (path === null) throw new Error(missingMessage("npm test installs it"));
  return path;
}

function missingMessage(remedy: string): string {
  return `no Chromium found (looked for ${CHROMIUM_NAMES.join(", ")} on PATH): ${remedy}, or set CHROMIUM_PATH to one`;
}

export async function ensureChromium(): Promise<void> {
  if (findChromium() !== null) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      missingMessage("installing it needs root: run `sudo apt-get install -y chromium` once"),
    );
  }
  await setupStep(
    "installing Chromium for the browser tests (apt-get install chromium)",
    async () => {
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      await runWithProgress("apt-get", ["update"], { env, prefix: "[apt]", show: () => false });
      await runWithProgress("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], {
        env,
        prefix: "[apt]",
        show: (line) => /^(Get|Unpacking|Setting up chromium)/.test(line),
      });
    },
  );
}
