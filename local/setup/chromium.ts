/**
 * Headless Chromium for the browser tests: Debian's `chromium` package, driven by
 * playwright-core (`npx playwright install` cannot download a browser here). Installed with
 * apt-get on first use when absent; that needs root, and the message says so when it is not.
 */
import { existsSync } from "node:fs";
import { runWithProgress, setupStep } from "./run.js";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM_PATH)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM_PATH} is missing and installing it needs root: run \`sudo apt-get install -y chromium\` once`,
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
