/**
 * `npm start`: the pipeline on this machine, on real engines. Brings up the local stack (Kafka,
 * moto), plays a feed through the replay server into the ingest and the Kafka topics; the
 * city-counts handler, fed by the local MSK event source, keeps the counts in DynamoDB. Shows
 * live progress until Ctrl-C (or --duration), then stops everything cleanly.
 *
 *   npm start                                  synthetic feed, 25 messages/s, until Ctrl-C
 *   npm start -- --rate 200 --seed 7           faster, another world
 *   npm start -- --input FILE.jsonl            replay a recording at its own timing x 60
 *   npm start -- --duration 30                 stop by itself after 30 s
 *   npm start -- --input FILE.jsonl --once --out DIR
 *                                              replay as fast as possible, count, run the daily
 *                                              batch over what landed, copy the site to DIR, exit
 *
 * The daily batch (statemachines/daily-batch.asl.json on local Spark) runs once a recording has
 * been replayed, or --batch-after seconds into a synthetic feed, then every --batch-every
 * minutes; its map is served on the same port as the counts API.
 */
import { randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { queryTopCities } from "../../functions/counts-api/top-cities.js";
import { kafkaLogCreator } from "../../functions/shared/kafka-log.js";
import { createLogger } from "../../functions/shared/logger.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { startIngest } from "../../tasks/ingest/ingest.js";
import {
  type LineSource,
  type Pacing,
  startReplayServer,
} from "../../tasks/replay-feed/replay-server.js";
import {
  describeBatch,
  type LocalBatchResult,
  runLocalBatch,
  siteBucketOf,
} from "../batch/run-batch.js";
import { bucketFiles } from "../batch/s3-folders.js";
import { jsonlLines } from "../feed/jsonl.js";
import { syntheticLines } from "../feed/synthetic/generator.js";
import { dayCounts } from "../pipeline/day-counts.js";
import { failedBatchesBucket } from "../pipeline/failed-batches.js";
import { startLocalHttpApi } from "../pipeline/http-api.js";
import { lagMs, startMskEventSource } from "../pipeline/msk-event-source.js";
import { publishSite } from "../site/publish-site.js";
import { type AwsEndpoint, awsClientConfig } from "../stack/aws-endpoint.js";
import { startLocalStack, useFunctionEnvironment } from "../stack/stack.js";
import { eventSourceControls, siteResponseHeaders } from "../stack/template-model.js";
import { parseCliArgs } from "./args.js";
import { ProgressLine } from "./progress-line.js";
import { routeStructuredLogs } from "./run-log.js";

const args = parseCliArgs(
  {
    input: { type: "string" },
    rate: { type: "string" },
    speedup: { type: "string", default: "60" },
    seed: { type: "string", default: "1" },
    malformed: { type: "string", default: "0.02" },
    duration: { type: "string" },
    "api-port": { type: "string" },
    once: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    out: { type: "string" },
    "batch-after": { type: "string", default: "120" },
    "batch-every": { type: "string", default: "15" },
  },
  `  npm start [-- --rate N] [--seed S] [--malformed SHARE] [--duration SECONDS] [--api-port P]
  npm start -- --input FILE.jsonl [--speedup X | --rate N] [--once [--json]] [--out DIR]
  --verbose: the components' structured logs here too (else in .cache/logs/start-*.log)
  batch: [--batch-after SECONDS (synthetic feed)] [--batch-every MINUTES, 0 = only once]`,
);
if ((args.once && !args.input) || (args.json && !args.once)) {
  process.stderr.write("--once needs --input FILE.jsonl, and --json needs --once\n");
  process.exit(2);
}
// The terminal gets progress and summaries (stderr); the components' JSON logs go to a file of
// the run (--verbose: to stderr too); with --json, stdout carries the one result object only.
const runLog = routeStructuredLogs({ verbose: args.verbose, name: "start" });
const writeResult = runLog.writeResult;

const say = (line: string) => process.stderr.write(`[start] ${line}\n`);
const startedAt = Date.now();
if (runLog.path) say(`structured logs: ${runLog.path} (--verbose shows them here)`);
const number = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    say(`--${name} needs a non-negative number, got "${value}"`);
    process.exit(2);
  }
  return parsed;
};
const rate = number("rate", args.rate);
const speedup = number("speedup", args.speedup) ?? 60;
const malformedShare = number("malformed", args.malformed) ?? 0.02;
const durationSeconds = number("duration", args.duration);
const apiPort = number("api-port", args["api-port"]);
const batchAfterSeconds = number("batch-after", args["batch-after"]) ?? 120;
const batchEveryMinutes = number("batch-every", args["batch-every"]) ?? 15;

say(
  "rsvp-atlas local pipeline: replay feed -> ingest -> Kafka + Firehose -> city-counts -> DynamoDB",
);
const stack = await startLocalStack({
  progress: (line) => process.stderr.write(`[stack] ${line}\n`),
});
const kafkaBootstrap = stack.kafkaBootstrapServer as string;

const source: LineSource = args.input
  ? () => jsonlLines(args.input as string)
  : () =>
      syntheticLines({
        seed: args.seed,
        startTime: Date.now(),
        meanIntervalMs: 1000 / (rate ?? 25),
        malformedShare,
      });
const pacing: Pacing = args.once
  ? { kind: "asap" }
  : rate !== undefined || !args.input
    ? { kind: "rate", perSecond: rate ?? 25 }
    : { kind: "recorded", speedup };
const feed = await startReplayServer({ source, pacing });
say(
  `feed: ${args.input ? `replaying ${args.input}` : `synthetic (seed ${args.seed})`} on ${feed.url}, ${
    pacing.kind === "rate"
      ? `${pacing.perSecond} messages/s`
      : pacing.kind === "asap"
        ? "as fast as the ingest reads"
        : `recorded timing x ${speedup}`
  }`,
);

const kafka = new Kafka({
  clientId: "rsvp-atlas-local",
  brokers: [kafkaBootstrap],
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator(createLogger("rsvp-atlas-local")),
});
// A local, per-run key: pseudonyms are consistent within the run and unlinkable across runs.
const parse = createRsvpParser({
  pseudonymKey: process.env.MEMBER_PSEUDONYM_KEY ?? randomBytes(32).toString("hex"),
});
const topics = stack.resources.topics;
const rsvpTopic = topics.RsvpTopicName as string;
const aws = stack.aws as AwsEndpoint;
// The ingest task's own code, as on Fargate: an idempotent producer, Firehose into the raw bucket.
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();
const firehose = new FirehoseClient(awsClientConfig(aws));
const deliveryStreamName = stack.resources.deliveryStreams.RawDeliveryStream as string;
const ingest = startIngest({
  feedUrl: feed.url,
  parse,
  producer,
  rsvpTopic,
  deadLetterTopic: topics.DeadLetterTopicName as string,
  writeFirehose: createFirehoseWriter({ client: firehose, deliveryStreamName }),
  // A recording is played once; the synthetic feed never ends.
  reconnectAfterNormalClose: !args.input,
  onSinkFailure: (sink, error, queued) =>
    say(`ingest: sending to ${sink} failed (${queued} queued, retrying): ${error.message}`),
});
say(
  `ingest: ${feed.url} -> ${rsvpTopic} (valid) + Firehose ${deliveryStreamName}, ${topics.DeadLetterTopicName} (rejected)`,
);

// The city-counts Lambda's own handler, with the environment template.yaml gives it.
useFunctionEnvironment(stack, "CityCountsFunction");
const { countCityRsvps } = await import("../../functions/city-counts/handler.js");
/** RSVPs counted for the first time, RSVPs whose count changed, and messages that changed nothing. */
const counted = { rsvps: 0, changed: 0, unchanged: 0, deadLettered: 0 };
// Batching and error controls as the template gives the deployed event source.
const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
const failedBatches = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
const setAside = failedBatchesBucket(
  failedBatches,
  stack.resources.buckets[controls.onFailureBucket ?? ""] as string,
);
const cityCounts = await startMskEventSource({
  kafka,
  topic: rsvpTopic,
  groupId: "rsvp-atlas-local-city-counts",
  batchSize: controls.batchSize,
  batchingWindowMs: controls.batchingWindowMs,
  maximumRetryAttempts: controls.maximumRetryAttempts,
  bisectOnError: controls.bisectOnError,
  onFailure: async (event, error) => {
    const where = await setAside(event, error);
    say(`city-counts gave up on a batch after its retries (${error.message}): ${where}`);
  },
  handler: async (event) => {
    const result = await countCityRsvps(event);
    counted.rsvps += result.counted;
    counted.changed += result.changed;
    counted.unchanged += result.unchanged;
    counted.deadLettered += result.deadLettered;
  },
  onError: (error, attempt) =>
    say(`city-counts failed (attempt ${attempt}; the batch is retried, halved): ${error.message}`),
});
say(
  `city-counts: ${rsvpTopic} -> local MSK event source -> city-counts handler -> DynamoDB (moto). Ctrl-C stops.`,
);

// The counts API's own handler behind a local HTTP API, also with its template environment.
useFunctionEnvironment(stack, "CountsApiFunction");
const { getCounts } = await import("../../functions/counts-api/handler.js");
// The site bucket behind the same port, as the site's CloudFront distribution serves both, with
// the security headers it adds.
const siteS3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
const api = await startLocalHttpApi(
  { "/api/counts": (event) => getCounts(event) },
  apiPort ?? 3000,
  bucketFiles(siteS3, siteBucketOf(stack.resources.buckets)),
  siteResponseHeaders(),
);
say(`counts API: ${api.url}/api/counts?country=us&day=all&limit=10`);
const site = await publishSite(siteS3, siteBucketOf(stack.resources.buckets), {
  countsApiUrl: "/api",
});
say(
  `site: ${api.url}/ (live counts now; the map once the first daily batch has run) - ${site.files} files, ${(site.gzipBytes / 1024).toFixed(0)} KB of code gzipped`,
);

// The daily batch: one at a time, over everything landed so far (locally every run starts empty).
let batchRunning: Promise<LocalBatchResult> | undefined;
let lastBatch: LocalBatchResult | undefined;
let batchTimer: NodeJS.Timeout | undefined;
function runBatch(why: string): Promise<LocalBatchResult> {
  if (batchRunning) return batchRunning;
  progress.pause();
  say(
    `daily batch (${why}): statemachines/daily-batch.asl.json over all landed data, Spark in local mode`,
  );
  batchRunning = runLocalBatch({
    aws,
    buckets: stack.resources.buckets,
    range: "all",
    progress: (line) => say(`batch: ${line}`),
    out: args.out,
  })
    .catch(
      (error: Error): LocalBatchResult => ({
        status: "FAILED",
        error: { error: error.name, cause: error.message },
        trace: [],
        durationMs: 0,
      }),
    )
    .then((result) => {
      for (const line of describeBatch(result)) say(`batch: ${line}`);
      if (result.status === "SUCCEEDED") say(`the map: ${api.url}/map.png (page: ${api.url}/)`);
      lastBatch = result;
      batchRunning = undefined;
      progress.resume();
      return result;
    });
  return batchRunning;
}
function scheduleBatches(firstInMs: number): void {
  batchTimer = setTimeout(() => {
    void runBatch("scheduled").then(() => {
      if (batchEveryMinutes > 0 && !stopping) scheduleBatches(batchEveryMinutes * 60_000);
    });
  }, firstInMs);
}
if (!args.input && !args.once) scheduleBatches(batchAfterSeconds * 1000);

const dynamodb = new DynamoDBClient(awsClientConfig(aws));
const tableName = process.env.TABLE_NAME as string;
let top = "";
/** The all-time top US cities (the website's default view), labelled for the terminal. */
const topCities = async (limit: number) =>
  (await queryTopCities(dynamodb, tableName, { country: "us", day: "all", limit })).cities.map(
    (city) => ({
      label: `${city.city}, ${city.state ?? city.country}`,
      rsvps: city.rsvps,
    }),
  );
const topTimer = setInterval(() => {
  topCities(3)
    .then((cities) => {
      top = cities.map((city) => `${city.label} ${city.rsvps}`).join(", ");
    })
    .catch(() => {});
}, 2000);

const progress = new ProgressLine(() => {
  const stats = ingest.counters();
  return {
    counters: { sent: feed.stats.sent, counted: counted.rsvps },
    text: (rates) =>
      `feed ${feed.stats.sent} sent (${rates.sent}/s) | ingest ${stats.produced} to kafka, ${stats.sentToFirehose} to firehose, ${stats.deadLettered} dead-lettered | city-counts ${counted.rsvps} RSVPs (${rates.counted}/s), ${counted.changed} changed, ${counted.unchanged} unchanged, lag ${(lagMs(cityCounts.stats, stats.produced, Date.now(), startedAt) / 1000).toFixed(1)} s${top ? ` | top US: ${top}` : ""}`,
  };
});
progress.start();

let stopping = false;
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  progress.stop();
  clearInterval(topTimer);
  clearTimeout(batchTimer);
  if (batchRunning) {
    say("waiting for the running daily batch to end...");
    await batchRunning;
  }
  say(`${reason}; stopping...`);
  await feed.close();
  let exitCode = code;
  try {
    await ingest.stop();
    await producer.disconnect();
    firehose.destroy();
  } catch (error) {
    say(`ingest: ${(error as Error).message}`);
    exitCode = 1;
  }
  // Let city-counts read what was produced last, so the summary adds up.
  const deadline = Date.now() + 10_000;
  while (cityCounts.stats.records < ingest.counters().produced && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await cityCounts.stop();
  await api.close();
  siteS3.destroy();
  failedBatches.destroy();
  const finalTop = await topCities(5).catch(() => []);
  const allCounts = args.json ? await dayCounts(dynamodb, tableName) : [];
  dynamodb.destroy();
  await stack.stop();
  const final = ingest.counters();
  const rejected = Object.entries(final.rejected)
    .map(([why, n]) => `${why} ${n}`)
    .join(", ");
  say(
    `summary: ${final.received} received, ${final.produced} produced to ${rsvpTopic}, ${final.sentToFirehose} sent to Firehose, ${final.deadLettered} dead-lettered${rejected ? ` (${rejected})` : ""}, ${cityCounts.stats.records} read by city-counts: ${counted.rsvps} RSVPs counted, ${counted.changed} changed by a later version, ${counted.unchanged} messages changed nothing (duplicates, stale versions)`,
  );
  if (finalTop.length > 0)
    say(`top US cities: ${finalTop.map((city) => `${city.label} ${city.rsvps}`).join(", ")}`);
  say("stopped; no process left running");
  if (args.json) {
    const result = {
      received: final.received,
      counted: counted.rsvps,
      deadLettered: final.rejected,
      counts: allCounts,
      batch: lastBatch
        ? { status: lastBatch.status, error: lastBatch.error, copied: lastBatch.copied }
        : undefined,
    };
    writeResult(`${JSON.stringify(result)}\n`);
  }
  await runLog.close();
  process.exit(exitCode);
}

process.on("SIGINT", () => void shutdown("Ctrl-C", 0));
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
void stack.crashed.then((error) => {
  say(error.message);
  void shutdown("an engine crashed", 1);
});
void ingest.finished.then(
  async () => {
    if (stopping) return;
    if (!args.once) {
      say("the feed ended; the daily batch runs over it, and the site stays up until Ctrl-C");
      void runBatch("the recording is replayed").then(() => {
        if (batchEveryMinutes > 0 && !stopping) scheduleBatches(batchEveryMinutes * 60_000);
      });
      return;
    }
    // --once: done when city-counts has read every record the ingest produced.
    const produced = ingest.counters().produced;
    const deadline = Date.now() + 30 * 60_000;
    while (cityCounts.stats.records < produced && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const final = ingest.counters();
    const rejected = Object.values(final.rejected).reduce((sum, n) => sum + n, 0);
    const complete = cityCounts.stats.records >= produced && final.deadLettered === rejected;
    if (!complete) {
      void shutdown("the replay was not fully counted", 1);
      return;
    }
    // Firehose has landed every record by now (the ingest finished): curate and map them.
    const batch = await runBatch("the replay is counted");
    void shutdown(
      batch.status === "SUCCEEDED"
        ? "the replay is counted and mapped"
        : "the replay is counted, but the daily batch failed",
      batch.status === "SUCCEEDED" ? 0 : 1,
    );
  },
  (error: Error) => void shutdown(`ingest failed: ${error.message}`, 1),
);
if (durationSeconds !== undefined) {
  setTimeout(
    () => void shutdown(`--duration ${durationSeconds} s reached`, 0),
    durationSeconds * 1000,
  );
}
