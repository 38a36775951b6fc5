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
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FAULTS, type FaultName, SHORT_FAULTS } from "../chaos/faults.js";
import { runChaos } from "../chaos/run.js";
import { chaosTable } from "../chaos/table.js";
import { repoRoot } from "../setup/paths.js";
import { ignoreInheritedParameterOverrides } from "../stack/template-model.js";
import { parseCliArgs } from "./args.js";
import { routeStructuredLogs } from "./run-log.js";

const USAGE =
  "npm run chaos -- [--seed N] [--short] [--faults a,b] [--per-phase N] [--rate N] [--input FILE] [--keep] [--verbose]";
const args = parseCliArgs(
  {
    seed: { type: "string" },
    short: { type: "boolean", default: false },
    faults: { type: "string" },
    "per-phase": { type: "string" },
    rate: { type: "string" },
    input: { type: "string" },
    keep: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
  USAGE,
  ["input"],
);

// The suite runs the template's defaults (its counting worker does not see npm start's
// --parameter-overrides either).
ignoreInheritedParameterOverrides("chaos");
const faults = (args.faults?.split(",") ?? (args.short ? SHORT_FAULTS : FAULTS)) as FaultName[];
for (const fault of faults) {
  if (!FAULTS.includes(fault)) {
    process.stderr.write(`unknown fault ${fault}; known: ${FAULTS.join(", ")}\n`);
    process.exit(2);
  }
}
// The terminal is for people: progress and the table here, the in-process handlers' JSON logs
// in the run's log file (--verbose shows them).
const runLog = routeStructuredLogs({ verbose: args.verbose, name: "chaos" });
const say = (line: string) => process.stderr.write(`${line}\n`);
if (runLog.path) say(`structured logs: ${runLog.path} (--verbose shows them here)`);

// Ctrl-C or a SIGTERM: exit through the exit hooks, which stop the engines and kill the
// ingest and counting processes (a signal's default action would skip them).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
}
const seed = args.seed ? Number(args.seed) : Math.floor(Math.random() * 1_000_000);
// The recorded sample, when ../shared is beside the repository, plays in the baseline first.
const sample = join(repoRoot, "..", "shared", "data", "rsvps-sample.jsonl");
const prelude =
  !args.input && existsSync(sample)
    ? readFileSync(sample, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
    : undefined;
if (!args.input)
  say(
    prelude
      ? `chaos: the recorded sample (${prelude.length} messages) plays in the baseline`
      : "chaos: ../shared/data is absent: synthetic feed only (the recorded sample is skipped)",
  );
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
  ...(prelude ? { prelude } : {}),
  progress: say,
  keepRunDir: args.keep,
  // The full run ends with the daily batch over the raw landing, duplicates and all.
  curate: !args.short,
});

const table = chaosTable(report.phases);
runLog.writeResult(
  `\n${table}\n\nseed ${report.seed}: ${report.delivered} messages delivered, ${report.final.rsvps} RSVPs by the rule; again: npm run chaos -- --seed ${report.seed}${args.short ? " --short" : ""}\n`,
);
const missed = report.phases
  .filter(
    (phase) =>
      phase.delta.rsvpsLost !== 0 ||
      phase.delta.rsvpsCountedTwice !== 0 ||
      phase.delta.rowsWrong !== 0 ||
      phase.delta.rawLost !== 0 ||
      phase.delta.deadLettersLost !== 0 ||
      phase.delta.apiDisagreements !== 0 ||
      (phase.api?.serverErrors ?? 0) + (phase.api?.hangs ?? 0) !== 0,
  )
  .map((phase) => phase.phase);
if (report.curated) {
  const { status, rows, distinct } = report.curated;
  runLog.writeResult(
    `daily batch over the raw landing: ${status.toLowerCase()}; curated rsvp table: ${rows} rows, ${distinct} distinct RSVPs (the rule: ${report.final.rsvps})\n`,
  );
  if (status !== "SUCCEEDED" || rows !== distinct || distinct !== report.final.rsvps)
    missed.push("curated rsvp table");
}
await runLog.close();
if (missed.length > 0) {
  say(`targets missed in: ${missed.join(", ")}`);
  process.exit(1);
}
