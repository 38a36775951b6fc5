/** Where the local tooling keeps what it installs and what a run writes; all of it git-ignored. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const cacheDir = join(repoRoot, ".cache");
export const venvDir = join(cacheDir, "venv");
export const runsDir = join(cacheDir, "runs");
export const templatePath = join(repoRoot, "template.yaml");
export const kafkaPomPath = join(repoRoot, "local", "kafka", "pom.xml");
export const pythonRequirementsPath = join(repoRoot, "local", "python", "requirements.txt");

export function venvBin(name: string): string {
  return join(venvDir, "bin", name);
}
