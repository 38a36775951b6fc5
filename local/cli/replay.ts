/**
 * `npm run replay`: a WebSocket RSVP feed for any client (the ingest task, wscat, a browser).
 *
 *   npm run replay -- --input FILE.jsonl [--speedup 60 | --rate N | --asap] [--loop] [--port P]
 *   npm run replay -- --synthetic [--seed S] [--rate N] [--port P]
 */

import { oncePerLine, oversizedLineNotice } from "../../tasks/replay-feed/bounded-lines.js";
import { startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { type FeedChoice, feedChoiceProblem, feedPacing, feedSource } from "../feed/feed-source.js";
import { parseCliArgs } from "./args.js";

const usage =
  "  npm run replay -- --input FILE.jsonl [--speedup X | --rate N | --asap] [--loop] [--port P]\n  npm run replay -- --synthetic [--seed S] [--rate N] [--port P]";
const args = parseCliArgs(
  {
    input: { type: "string" },
    synthetic: { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    rate: { type: "string" },
    speedup: { type: "string" },
    asap: { type: "boolean", default: false },
    loop: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
  usage,
  ["input"],
);

if (!args.input === !args.synthetic) {
  process.stderr.write(
    `give exactly one of --input FILE.jsonl or --synthetic\n\nusage:\n${usage}\n`,
  );
  process.exit(2);
}
const input = args.input;
const choice: FeedChoice = {
  input,
  seed: args.seed,
  rate: args.rate === undefined ? undefined : Number(args.rate),
  speedup: args.speedup === undefined ? undefined : Number(args.speedup),
  asap: args.asap,
};
const problem = await feedChoiceProblem(choice);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
const pacing = feedPacing(choice);
const server = await startReplayServer({
  source: feedSource(
    choice,
    oncePerLine((oversized) =>
      process.stderr.write(`[replay] ${oversizedLineNotice(input ?? "", oversized)}\n`),
    ),
  ),
  pacing,
  // The server ends that connection and serves on; said here, or nobody would know why.
  onError: (error) =>
    process.stderr.write(
      `[replay] a connection ended: ${error instanceof Error ? error.message : String(error)}\n`,
    ),
  loop: args.loop || args.synthetic,
  host: args.host,
  port: Number(args.port),
}).catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
});
process.stderr.write(
  `[replay] serving ${input ?? "the synthetic feed"} on ${server.url} (${JSON.stringify(pacing)}); Ctrl-C stops\n`,
);
const timer = setInterval(() => {
  process.stderr.write(
    `[replay] ${server.stats.connections} connection(s), ${server.stats.sent} frames sent\n`,
  );
}, 10_000);
const stop = async () => {
  clearInterval(timer);
  await server.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
