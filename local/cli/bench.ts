/**
 * `npm run bench`: runs every bench/*.bench.ts and prints its figures with the machine they ran
 * on. Names after the command choose some of them (`node local/bootstrap.mjs bench cluster
 * spark-curate`, which is `npm run bench:cluster`; `npm run bench -- feed`).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describeMachine } from "../../bench/machine.js";
import { repoRoot } from "../setup/paths.js";

const benchDir = join(repoRoot, "bench");
const available = readdirSync(benchDir)
  .filter((name) => name.endsWith(".bench.ts"))
  .map((name) => name.slice(0, -".bench.ts".length))
  .sort();
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown bench ${unknown.join(", ")}; the benches are: ${available.join(", ")}\n\nusage: npm run bench [-- <name>...]\n`,
  );
  process.exit(2);
}

process.stdout.write(`machine: ${describeMachine()}\ndate: ${new Date().toISOString()}\n`);
// One bench that cannot run (no Chromium, say) is said, and the others still run; the command
// then exits 1 naming it.
const failed: string[] = [];
for (const name of chosen.length > 0 ? chosen : available) {
  process.stdout.write(`\n${name}.bench.ts\n`);
  try {
    const module = (await import(pathToFileURL(join(benchDir, `${name}.bench.ts`)).href)) as {
      run: (print: (line: string) => void) => Promise<void>;
    };
    await module.run((line) => process.stdout.write(`  ${line}\n`));
  } catch (error) {
    failed.push(name);
    process.stdout.write(`  did not run to the end: ${(error as Error).message}\n`);
  }
}
if (failed.length > 0) {
  process.stderr.write(`\nbench: ${failed.join(", ")} did not run to the end (above)\n`);
  process.exit(1);
}
