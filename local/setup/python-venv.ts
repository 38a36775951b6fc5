/**
 * The git-ignored Python venv (.cache/venv) with the pinned tools of local/python/requirements.txt:
 * moto (the AWS emulator), cfn-lint and the SAM CLI. Created on first use, redone when the
 * requirements or the interpreter change.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fingerprint, isCurrent, markCurrent, withInstallLock } from "./fingerprint.js";
import { cacheDir, pythonRequirementsPath, venvBin, venvDir } from "./paths.js";
import { runWithProgress, setupStep } from "./run.js";

const marker = join(venvDir, ".rsvp-atlas-requirements.sha256");

export async function ensurePythonVenv(): Promise<void> {
  const python = process.env.RSVP_ATLAS_PYTHON ?? "python3";
  // The interpreter's full version, not its path: python3 and python3.11 may be the same one.
  const version = spawnSync(python, ["-c", "import sys; print(sys.version)"], {
    encoding: "utf8",
  }).stdout.trim();
  const expected = fingerprint(readFileSync(pythonRequirementsPath, "utf8"), version);
  if (isCurrent(marker, expected)) return;
  mkdirSync(cacheDir, { recursive: true });
  await withInstallLock(join(cacheDir, "venv.lock"), async () => {
    if (isCurrent(marker, expected)) return; // another command installed it meanwhile
    await install(python, version, expected);
  });
}

async function install(python: string, version: string, expected: string): Promise<void> {
  await setupStep(
    `Python venv: creating .cache/venv with Python ${version.split(" ")[0]} and pinned tools (first use; about a minute)`,
    async () => {
      rmSync(venvDir, { recursive: true, force: true });
      await runWithProgress(python, ["-m", "venv", venvDir], { prefix: "[setup] venv |" });
      await runWithProgress(
        venvBin("pip"),
        [
          "install",
          "--disable-pip-version-check",
          "--no-input",
          "--progress-bar",
          "off",
          "-r",
          pythonRequirementsPath,
        ],
        {
          prefix: "[setup] pip  |",
          show: (line) =>
            /^(Collecting \S+$|Collecting \S+ \(from -r|Installing collected)/.test(line),
        },
      );
      markCurrent(marker, expected);
    },
  );
}
