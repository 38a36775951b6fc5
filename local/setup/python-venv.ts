/**
 * The git-ignored Python venv (.cache/venv) with the pinned tools of local/python/requirements.txt:
 * moto (the AWS emulator), cfn-lint and the SAM CLI. Created on first use, redone when the
 * requirements or the interpreter change. checkov (npm test's scan of template.yaml) has a venv of
 * its own, .cache/venv-checkov from local/python/requirements-checkov.txt: it pins a boto3 that
 * aws-sam-cli's conflicts with.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fingerprint, isCurrent, markCurrent, withInstallLock } from "./fingerprint.js";
import { cacheDir, pythonRequirementsPath, venvDir } from "./paths.js";
import { runWithProgress, setupStep } from "./run.js";

const checkovVenvDir = join(cacheDir, "venv-checkov");
const checkovRequirementsPath = join(dirname(pythonRequirementsPath), "requirements-checkov.txt");

/** The checkov CLI of .cache/venv-checkov (ensureCheckovVenv first). */
export const checkovBin = join(checkovVenvDir, "bin", "checkov");

export function ensurePythonVenv(): Promise<void> {
  return ensureVenv(venvDir, pythonRequirementsPath, "pinned tools");
}

export function ensureCheckovVenv(): Promise<void> {
  return ensureVenv(checkovVenvDir, checkovRequirementsPath, "checkov");
}

async function ensureVenv(dir: string, requirements: string, what: string): Promise<void> {
  const marker = join(dir, ".rsvp-atlas-requirements.sha256");
  const python = process.env.RSVP_ATLAS_PYTHON ?? "python3";
  // The interpreter's full version, not its path: python3 and python3.11 may be the same one.
  const version = spawnSync(python, ["-c", "import sys; print(sys.version)"], {
    encoding: "utf8",
  }).stdout.trim();
  const expected = fingerprint(readFileSync(requirements, "utf8"), version);
  if (isCurrent(marker, expected)) return;
  mkdirSync(cacheDir, { recursive: true });
  await withInstallLock(join(cacheDir, `${basename(dir)}.lock`), async () => {
    if (isCurrent(marker, expected)) return; // another command installed it meanwhile
    await setupStep(
      `Python venv: creating .cache/${basename(dir)} with Python ${version.split(" ")[0]} and ${what} (first use; about a minute)`,
      () => install(python, dir, requirements, marker, expected),
    );
  });
}

async function install(
  python: string,
  dir: string,
  requirements: string,
  marker: string,
  expected: string,
): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  await runWithProgress(python, ["-m", "venv", dir], { prefix: "[setup] venv |" });
  await runWithProgress(
    join(dir, "bin", "pip"),
    [
      "install",
      "--disable-pip-version-check",
      "--no-input",
      "--progress-bar",
      "off",
      "-r",
      requirements,
    ],
    {
      prefix: "[setup] pip  |",
      show: (line) => /^(Collecting \S+$|Collecting \S+ \(from -r|Installing collected)/.test(line),
    },
  );
  markCurrent(marker, expected);
}
