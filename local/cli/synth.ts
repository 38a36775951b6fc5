/**
 * `npm run synth -- --count N [--seed S] [--start ISO-TIME] [--rate PER_SECOND] [--malformed SHARE]
 * [--out FILE.jsonl]`: writes N synthetic RSVP messages as JSONL (stdout without --out),
 * deterministic for a seed. `--rate` sets the mean message rate of the recorded timing.
 */
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { syntheticLines } from "../feed/synthetic/generator.js";
import { parseCliArgs } from "./args.js";

const args = parseCliArgs(
  {
    count: { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    start: { type: "string", default: "2026-01-01T00:00:00Z" },
    rate: { type: "string", default: "1" },
    malformed: { type: "string", default: "0.02" },
    out: { type: "string" },
  },
  "  npm run synth -- --count N [--seed S] [--start ISO-TIME] [--rate PER_SECOND] [--malformed SHARE] [--out FILE.jsonl]",
  ["out"],
);

const count = Number(args.count);
const startTime = Date.parse(args.start);
const rate = Number(args.rate);
const malformedShare = Number(args.malformed);
const problems = [
  !Number.isInteger(count) || count < 1 ? "--count needs a positive integer" : "",
  Number.isNaN(startTime) ? "--start needs an ISO date-time, e.g. 2018-05-20T00:00:00Z" : "",
  !(rate > 0) ? "--rate needs a number above 0" : "",
  !(malformedShare >= 0 && malformedShare <= 1) ? "--malformed needs a share between 0 and 1" : "",
].filter(Boolean);
if (problems.length > 0) {
  process.stderr.write(`${problems.join("\n")}\n`);
  process.exit(2);
}

const out: NodeJS.WritableStream = args.out ? createWriteStream(args.out) : process.stdout;
let written = 0;
for (const line of syntheticLines({
  seed: args.seed,
  startTime,
  meanIntervalMs: 1000 / rate,
  malformedShare,
})) {
  if (!out.write(`${line}\n`))
    await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  if (++written === count) break;
  if (args.out && written % 50_000 === 0) process.stderr.write(`[synth] ${written} of ${count}\n`);
}
if (args.out) {
  out.end();
  await finished(out);
  process.stderr.write(`[synth] wrote ${written} messages to ${args.out}\n`);
}
