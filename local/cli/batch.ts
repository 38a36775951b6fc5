/**
 * `npm run batch`: the daily batch on this machine, from statemachines/daily-batch.asl.json, on
 * real local Spark and the real clustering and render handlers.
 *
 *   npm run batch -- --all --input FILE.jsonl [--out DIR]   land a recording, curate all of it
 *   npm run batch -- --date 2018-05-20 --input FILE.jsonl   one day (UTC) of it
 *   npm run batch -- --all --endpoint http://127.0.0.1:PORT  the data of a running `npm start`
 *
 * Without --endpoint it starts its own moto (no Kafka) and lands --input through the ingest's
 * parser and Firehose writer first.
 */

import { resolveBatchRange } from "../../functions/shared/batch-range.js";
import { landRecording } from "../batch/land-recording.js";
import { describeBatch, runLocalBatch } from "../batch/run-batch.js";
import { LOCAL_REGION } from "../stack/aws-endpoint.js";
import { localResourceNames } from "../stack/provision.js";
import { startLocalStack } from "../stack/stack.js";
import { loadTemplateModel } from "../stack/template-model.js";
import { parseCliArgs } from "./args.js";

const usage = `  npm run batch -- (--date YYYY-MM-DD | --range A..B | --all | (yesterday by default))
                   (--input FILE.jsonl | --endpoint http://127.0.0.1:PORT) [--out DIR] [--json]`;
const args = parseCliArgs(
  {
    date: { type: "string" },
    range: { type: "string" },
    all: { type: "boolean", default: false },
    input: { type: "string" },
    endpoint: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
  },
  usage,
  ["input", "out"],
);
const say = (line: string) => process.stderr.write(`[batch] ${line}\n`);
const fail = (message: string): never => {
  process.stderr.write(`${message}\n\nusage:\n${usage}\n`);
  process.exit(2);
};

const chosen = [args.date, args.range, args.all ? "all" : undefined].filter((v) => v !== undefined);
if (chosen.length > 1) fail("give one of --date, --range and --all");
const range = chosen[0] ?? "yesterday";
try {
  resolveBatchRange(range, new Date());
} catch (error) {
  fail((error as Error).message);
}
if (!args.input === !args.endpoint) {
  fail(
    "give --input FILE.jsonl (curate a recording) or --endpoint URL (the moto of a running npm start)",
  );
}

const buckets = localResourceNames(loadTemplateModel()).buckets;
const stack = args.endpoint
  ? undefined
  : await startLocalStack({
      kafka: false,
      progress: (line) => process.stderr.write(`[stack] ${line}\n`),
    });
const aws = stack?.aws ?? { endpoint: args.endpoint as string, region: LOCAL_REGION };
let exitCode = 1;
try {
  if (args.input && stack) {
    const stream = stack.resources.deliveryStreams.RawDeliveryStream as string;
    const landed = await landRecording(args.input, aws, stream, say);
    say(
      `landed ${args.input}: ${landed.records} records via Firehose ${stream}, ${Object.values(landed.rejected).reduce((a, b) => a + b, 0)} rejected ${JSON.stringify(landed.rejected)}`,
    );
  }
  const result = await runLocalBatch({ aws, buckets, range, progress: say, out: args.out });
  for (const line of describeBatch(result)) say(line);
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  exitCode = result.status === "SUCCEEDED" ? 0 : 1;
} catch (error) {
  say(`failed: ${(error as Error).stack ?? error}`);
} finally {
  await stack?.stop();
}
process.exit(exitCode);
