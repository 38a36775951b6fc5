/** `npm run bench`: runs every bench/*.bench.ts and prints its figures with the machine they ran on. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describeMachine } from "../../bench/machine.js";
import { repoRoot } from "../setup/paths.js";

const benchDir = join(repoRoot, "bench");
process.stdout.write(`machine: ${describeMachine()}\ndate: ${new Date().toISOString()}\n`);
for (const file of readdirSync(benchDir)
  .filter((name) => name.endsWith(".bench.ts"))
  .sort()) {
  process.stdout.write(`\n${file}\n`);
  const module = (await import(pathToFileURL(join(benchDir, file)).href)) as {
    run: (print: (line: string) => void) => Promise<void>;
  };
  await module.run((line) => process.stdout.write(`  ${line}\n`));
}
