/**
 * `npm run chaos`: the fault suite (local/chaos/run.ts). Prints progress, then one line per
 * phase: the fault, when it was injected, how long the pipeline took to recover, and what it
 * lost or doubled, set against the feed by the README's counting rule. Exits 1 when a column
 * the targets hold at zero is not zero.
 *
 *   npm run chaos                      every fault alone, then all at once (seed printed)
 *   npm run chaos -- --seed 7          the same run again
 *   npm run chaos -- --short           the short form npm test runs
 *   npm run chaos -- --input FILE      a recording instead of the synthetic feed
 */
import { readFileSync } from "node:fs";
import { FAULTS, type FaultName, runChaos, SHORT_FAULTS } from "../chaos/run.js";
import { chaosTable } from "../chaos/table.js";
import { parseCliArgs } from "./args.js";

const USAGE =
  "npm run chaos -- [--seed N] [--short] [--faults a,b] [--per-phase N] [--rate N] [--input FILE] [--keep]";
const args = parseCliArgs(
  {
    seed: { type: "string" },
    short: { type: "boolean", default: false },
    faults: { type: "string" },
    "per-phase": { type: "string" },
    rate: { type: "string" },
    input: { type: "string" },
    keep: { type: "boolean", default: false },
  },
  USAGE,
);

const faults = (args.faults?.split(",") ?? (args.short ? SHORT_FAULTS : FAULTS)) as FaultName[];
for (const fault of faults) {
  if (!FAULTS.includes(fault)) {
    process.stderr.write(`unknown fault ${fault}; known: ${FAULTS.join(", ")}\n`);
    process.exit(2);
  }
}
// Ctrl-C or a SIGTERM: exit through the exit hooks, which stop the engines and kill the
// ingest and counting processes (a signal's default action would skip them).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
}
const seed = args.seed ? Number(args.seed) : Math.floor(Math.random() * 1_000_000);
const recording = args.input
  ? readFileSync(args.input, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
  : undefined;

const report = await runChaos({
  seed,
  faults,
  allAtOnce: !args.short && !args.faults,
  messagesPerPhase: Number(args["per-phase"] ?? (args.short ? 400 : 1500)),
  ratePerSecond: Number(args.rate ?? (args.short ? 100 : 150)),
  ...(recording ? { recording } : {}),
  progress: (line) => process.stdout.write(`${line}\n`),
  keepRunDir: args.keep,
});

const table = chaosTable(report.phases);
process.stdout.write(
  `\n${table}\n\nseed ${report.seed}: ${report.delivered} messages delivered, ${report.final.rsvps} RSVPs by the rule; again: npm run chaos -- --seed ${report.seed}${args.short ? " --short" : ""}\n`,
);
const failed = report.phases.filter(
  (phase) =>
    phase.delta.rsvpsLost !== 0 ||
    phase.delta.rsvpsCountedTwice !== 0 ||
    phase.delta.rowsWrong !== 0 ||
    phase.delta.rawLost !== 0 ||
    phase.delta.apiDisagreements !== 0 ||
    (phase.api?.serverErrors ?? 0) + (phase.api?.hangs ?? 0) !== 0,
);
if (failed.length > 0) {
  process.stdout.write(`targets missed in: ${failed.map((phase) => phase.phase).join(", ")}\n`);
  process.exit(1);
}
