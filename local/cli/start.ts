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
 *   npm start -- --parameter-overrides "CityCountsBatchingWindowSeconds=4 CityCountsFailureDestination=kafka"
 *                                              run with the template parameters a deploy would
 *                                              have (sam deploy's Name=Value form)
 *
 * The daily batch (statemachines/daily-batch.asl.json on local Spark) runs once a recording has
 * been replayed, or --batch-after seconds into a synthetic feed, then every --batch-every
 * minutes; its map is served on the same port as the counts API.
 *
 * The parts: local/pipeline/local-pipeline.ts (what runs), batch-scheduler.ts (when the daily
 * batch runs), top-cities-poller.ts (the progress line's top cities), shutdown.ts (how it ends).
 */
import { createLogger } from "../../functions/shared/logger.js";
import { describeBatch, type LocalBatchResult, runLocalBatch } from "../batch/run-batch.js";
import { feedChoiceProblem } from "../feed/feed-source.js";
import { BatchScheduler } from "../pipeline/batch-scheduler.js";
import { dayCounts } from "../pipeline/day-counts.js";
import { onceVerdict, startLocalPipeline } from "../pipeline/local-pipeline.js";
import { createShutdown, shutdownOnSignalsAndCrash } from "../pipeline/shutdown.js";
import { describeCities, TopCitiesPoller, topUsCities } from "../pipeline/top-cities-poller.js";
import {
  PARAMETER_OVERRIDES_VARIABLE,
  parseParameterOverrides,
  readTemplate,
} from "../stack/template-model.js";
import { exitOnSignalsWhileStarting, orExit, parseCliArgs } from "./args.js";
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
    "parameter-overrides": { type: "string" },
  },
  `  npm start [-- OPTIONS]                       a synthetic feed, until Ctrl-C
  npm start -- --input FILE.jsonl [OPTIONS]     replay a recording (Meetup stream lines)

  the synthetic feed:
    --rate N             messages per second (default 25)
    --seed S             another world of groups, venues and members (default 1)
    --malformed SHARE    share of broken messages, 0 to 1 (default 0.02)
  a recording:
    --speedup X          its own timing, X times faster (default 60), or --rate N
    --once               as fast as it reads; count, run the daily batch once, then exit
    --json               with --once: one JSON object of the counts on stdout
  either:
    --duration SECONDS   stop by itself after SECONDS
    --out DIR            copy the site (the map and its page) to DIR after each daily batch
    --api-port P         the counts API and site's port (default 3000; another if taken)
    --batch-after S      the first daily batch S seconds into a synthetic feed (default 120)
    --batch-every M      then every M minutes (default 15; 0: only once)
    --parameter-overrides "Name=Value ..."   template.yaml parameters, as sam deploy takes them
    --verbose            the components' structured logs here too (else .cache/logs/start-*.log)
    --help               this`,
  ["input", "out"],
);
if (args.once && !args.input) {
  process.stderr.write("--once replays a recording: it needs --input FILE.jsonl (see --help)\n");
  process.exit(2);
}
if (args.json && !args.once) {
  process.stderr.write("--json prints the result of a --once run: it needs --once (see --help)\n");
  process.exit(2);
}
// Every part of the run (child processes too) reads template.yaml with these values.
if (args["parameter-overrides"] !== undefined) {
  process.env[PARAMETER_OVERRIDES_VARIABLE] = args["parameter-overrides"];
}
let overridden: Record<string, string>;
try {
  overridden = parseParameterOverrides(process.env[PARAMETER_OVERRIDES_VARIABLE] ?? "");
  readTemplate();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
// The terminal gets progress and summaries (stderr); the components' JSON logs go to a file of
// the run (--verbose: to stderr too); with --json, stdout carries the one result object only.
const runLog = routeStructuredLogs({ verbose: args.verbose, name: "start" });
// On a terminal a line said while the progress line is drawn replaces it (it is redrawn).
const clearLine = process.stderr.isTTY ? "\r\x1b[2K" : "";
const say = (line: string) => process.stderr.write(`${clearLine}[start] ${line}\n`);
if (runLog.path) say(`structured logs: ${runLog.path} (--verbose shows them here)`);
if (Object.keys(overridden).length > 0) {
  const given = Object.entries(overridden).map(([name, value]) => `${name}=${value}`);
  say(`template parameters: ${given.join(" ")} (the others at their defaults)`);
}
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
const feedProblem = await feedChoiceProblem({ input: args.input, seed: args.seed, rate, speedup });
if (feedProblem) {
  say(feedProblem);
  process.exit(2);
}
// The local code's own structured log, made before the functions' environments are set.
const logger = createLogger("rsvp-atlas-local");

say(
  "rsvp-atlas local pipeline: replay feed -> ingest -> Kafka + Firehose -> city-counts -> DynamoDB",
);
// Until the shutdown exists, a feed failure waits for it (the stack is still coming up).
let feedError: Error | undefined;
let feedFailed = (error: Error) => {
  feedError ??= error;
};
const startingSignals = exitOnSignalsWhileStarting(say);
const pipeline = await orExit(
  startLocalPipeline({
    input: args.input,
    seed: args.seed,
    rate,
    speedup,
    malformedShare,
    asap: args.once,
    apiPort: apiPort ?? 3000,
    say,
    logger,
    onFeedError: (error) => feedFailed(error),
  }),
  say,
  "could not start the local pipeline",
  (error) => logger.error("could not start the local pipeline", { error }),
);
const { api, ingest, stack } = pipeline;

// The daily batch: one at a time, over everything landed so far (locally every run starts empty).
const batches = new BatchScheduler<LocalBatchResult>({
  everyMs: batchEveryMinutes * 60_000,
  job: async (why) => {
    progress.pause();
    say(
      `daily batch (${why}): statemachines/daily-batch.asl.json over all landed data, Spark in local mode`,
    );
    const result = await runLocalBatch({
      aws: pipeline.aws,
      buckets: stack.resources.buckets,
      range: "all",
      progress: (line) => say(`batch: ${line}`),
      out: args.out,
    }).catch(
      (error: Error): LocalBatchResult => ({
        status: "FAILED",
        error: { error: error.name, cause: error.message },
        trace: [],
        durationMs: 0,
      }),
    );
    for (const line of describeBatch(result)) say(`batch: ${line}`);
    if (result.status === "SUCCEEDED") {
      // A --once run stops right after: its server's map goes with it, a copy in --out stays.
      if (!args.once) say(`the map: ${api.url}/map.png (page: ${api.url}/)`);
      if (args.out) say(`the map: ${args.out}/map.png (page: ${args.out}/index.html)`);
      else if (args.once)
        say("the map is drawn; add --out DIR to keep it (the site stops with the run)");
    }
    progress.resume();
    return result;
  },
});
if (!args.input && !args.once) batches.schedule(batchAfterSeconds * 1000);

const topCities = new TopCitiesPoller({
  query: () => topUsCities(pipeline.dynamodb, pipeline.tableName, 3),
  everyMs: 2000,
  log: logger,
  notice: say,
  noticeAfter: 5,
});
topCities.start();
const progress = new ProgressLine(() => pipeline.progress(topCities.text));
progress.start();

const shutdown = createShutdown(
  async (reason, code) => {
    progress.stop();
    topCities.stop();
    if (batches.running) say("waiting for the running daily batch to end...");
    await batches.stop();
    say(`${reason}; stopping...`);
    const clean = await pipeline.stopFlow();
    const finalTop = await topUsCities(pipeline.dynamodb, pipeline.tableName, 5).catch(
      (error: Error) => {
        say(`top US cities: the counts table did not answer (${error.message})`);
        return [];
      },
    );
    const allCounts = args.json ? await dayCounts(pipeline.dynamodb, pipeline.tableName) : [];
    await pipeline.stopStack();
    say(pipeline.summary());
    if (finalTop.length > 0) say(`top US cities: ${describeCities(finalTop)}`);
    say("stopped; no process left running");
    if (args.json) {
      const last = batches.last;
      const { read, setAside } = pipeline.eventSource();
      const result = {
        received: ingest.counters().received,
        counted: pipeline.counted.rsvps,
        deadLettered: ingest.counters().rejected,
        // The city-counts event source: records read, records set aside uncounted after their
        // retries (which fails --once), and records the handler dead-lettered as not countable
        // RSVPs (reported only: --once answers for the valid records, and those are not).
        cityCounts: { read, setAside, deadLettered: pipeline.counted.deadLettered },
        counts: allCounts,
        batch: last ? { status: last.status, error: last.error, copied: last.copied } : undefined,
      };
      runLog.writeResult(`${JSON.stringify(result)}\n`);
    }
    await runLog.close();
    return clean ? code : 1;
  },
  { say },
);
startingSignals();
shutdownOnSignalsAndCrash(shutdown, { crashed: stack.crashed, say });
feedFailed = (error) => void shutdown(`the feed failed: ${error.message}`, 1);
if (feedError) feedFailed(feedError);

void ingest.finished.then(
  async () => {
    if (shutdown.begun) return;
    if (!args.once) {
      say("the feed ended; the daily batch runs over it, and the site stays up until Ctrl-C");
      batches.schedule(0, "the recording is replayed");
      return;
    }
    // --once: done when city-counts has read every record the ingest produced; counted only
    // if none of them was set aside after its retries (onceVerdict).
    const drained = await pipeline.drained(30 * 60_000, 200);
    const final = ingest.counters();
    const verdict = onceVerdict({
      drained,
      produced: final.produced,
      rejected: Object.values(final.rejected).reduce((sum, n) => sum + n, 0),
      ingestDeadLettered: final.deadLettered,
      ...pipeline.eventSource(),
    });
    if (pipeline.counted.deadLettered > 0)
      say(
        `city-counts dead-lettered ${pipeline.counted.deadLettered} records it could not count as RSVPs (no value, not JSON, or not an RSVP record): reported, not a failure of --once`,
      );
    if (!verdict.ok) {
      void shutdown(verdict.reason, 1);
      return;
    }
    // Firehose has landed every record by now (the ingest finished): curate and map them.
    const batch = await batches.run("the replay is counted");
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
