/**
 * The streaming pipeline of `npm start`, assembled on the local stack from the deployed code:
 * a feed played by the replay server, the ingest task's code (Kafka + Firehose), the city-counts
 * handler behind the local MSK event source, the counts API's handler and the site behind one
 * local HTTP API. What runs, in the order data flows; stopFlow() stops it front to back.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { kafkaLogCreator } from "../../functions/shared/kafka-log.js";
import { messagesOf } from "../../functions/shared/msk-event.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { DEFAULT_PARTITION_TICK_SECONDS } from "../../tasks/ingest/config.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { type Ingest, startIngest } from "../../tasks/ingest/ingest.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { topicPartitions } from "../../tasks/ingest/topic-partitions.js";
import { oncePerLine, oversizedLineNotice } from "../../tasks/replay-feed/bounded-lines.js";
import { type ReplayServer, startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { siteBucketOf } from "../batch/run-batch.js";
import { bucketFiles } from "../batch/s3-folders.js";
import { describePacing, type FeedChoice, feedPacing, feedSource } from "../feed/feed-source.js";
import { publishSite } from "../site/publish-site.js";
import { type AwsEndpoint, awsClientConfig } from "../stack/aws-endpoint.js";
import { type LocalStack, startLocalStack, useFunctionEnvironment } from "../stack/stack.js";
import { eventSourceControls, siteResponseHeaders } from "../stack/template-model.js";
import { setAsideTo } from "./failed-batches.js";
import { type LocalHttpApi, startLocalHttpApi } from "./http-api.js";
import { lagMs, startMskEventSource } from "./msk-event-source.js";
import { waitFor } from "./shutdown.js";

export interface LocalPipelineOptions extends FeedChoice {
  apiPort: number;
  /** Lines for the person at the terminal. */
  say: (line: string) => void;
  /** The structured log of the local code (kafkajs logs through it). */
  logger: Parameters<typeof kafkaLogCreator>[0];
  /** The feed could not play its source (a file gone or unreadable mid-run): the run is over. */
  onFeedError?: (error: Error) => void;
}

/** What the city-counts handler reported: RSVPs counted for the first time, changed, and not. */
export interface Counted {
  rsvps: number;
  changed: number;
  unchanged: number;
  deadLettered: number;
}

/** What the city-counts event source did with the records it read. */
export interface EventSourceDone {
  /** RSVP records read (not the ingest's ticks): counted, dead-lettered by the handler, or set aside. */
  read: number;
  /** RSVP records of batches given up on after their retries (MskEventSourceStats.failedRecords, ticks left out). */
  setAside: number;
  /** Where each of those batches went: an object of the local CountsFailedBatchesBucket, or
   * the local failed-records topic (template.yaml's CityCountsFailureDestination). */
  setAsideIn: readonly string[];
}

export interface LocalPipeline {
  stack: LocalStack;
  aws: AwsEndpoint;
  ingest: Ingest;
  counted: Counted;
  api: LocalHttpApi;
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Whether city-counts has read every record the ingest produced, waiting up to `timeoutMs`. */
  drained(timeoutMs: number, everyMs: number): Promise<boolean>;
  /** The city-counts event source so far: read, and set aside after retries. */
  eventSource(): EventSourceDone;
  /** The progress line's counters and text. */
  progress(topUs: string): {
    counters: { sent: number; counted: number };
    text: (rates: { sent: string; counted: string }) => string;
  };
  /**
   * Stops the flow front to back: the feed, the ingest (false when it failed to stop cleanly),
   * city-counts once it has read what was produced last (10 s at most), the API. The stack and
   * `dynamodb` stay up for the last questions; then stopStack().
   */
  stopFlow(): Promise<boolean>;
  stopStack(): Promise<void>;
  /** The summary line of the run. */
  summary(): string;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { say } = options;
  const startedAt = Date.now();
  const stack = await startLocalStack({
    progress: (line) => process.stderr.write(`[stack] ${line}\n`),
  });
  const kafkaBootstrap = stack.kafkaBootstrapServer as string;
  const aws = stack.aws as AwsEndpoint;
  const topics = stack.resources.topics;
  const rsvpTopic = topics.RsvpTopicName as string;

  const feed = await startFeed(options);
  const kafka = new Kafka({
    clientId: "rsvp-atlas-local",
    brokers: [kafkaBootstrap],
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
  });
  const parse = createRsvpParser();
  // The ingest task's own code, as on Fargate: an idempotent producer, Firehose into the raw
  // bucket.
  const producer = ingestProducer(kafka, { logger: options.logger });
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
    reconnectAfterNormalClose: !options.input,
    // As the ingest task's default (PARTITION_TICK_SECONDS): every partition's counting runs
    // at least hourly, and at start.
    partitionTicks: {
      everyMs: DEFAULT_PARTITION_TICK_SECONDS * 1000,
      partitions: () => topicPartitions(kafka, rsvpTopic),
      onFailure: (error) =>
        say(`ingest: could not list the partitions for their ticks: ${error.message}`),
    },
    onSinkFailure: (sink, error, queued) =>
      say(`ingest: sending to ${sink} failed (${queued} queued, retrying): ${error.message}`),
  });
  say(
    `ingest: ${feed.url} -> ${rsvpTopic} (valid) + Firehose ${deliveryStreamName}, ${topics.DeadLetterTopicName} (rejected)`,
  );

  // The city-counts Lambda's own handler, with the environment template.yaml gives it.
  useFunctionEnvironment(stack, "CityCountsFunction");
  const { countCityRsvps } = await import("../../functions/city-counts/handler.js");
  const counted: Counted = { rsvps: 0, changed: 0, unchanged: 0, deadLettered: 0 };
  // The ingest's ticks among the records read (counted as nothing, or set aside with their
  // batch): no RSVP records, left out of what city-counts is said to have read.
  let ticksRead = 0;
  let ticksSetAside = 0;
  // Batching and error controls as the template gives the deployed event source.
  const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
  const failedBatches = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
  const setAsideIn: string[] = [];
  // Its own producer, made on first use (a kafka:// destination): the ingest's is closed first.
  let failedRecordsProducer: Producer | undefined;
  const setAside = setAsideTo(controls.onFailure, {
    s3: failedBatches,
    buckets: stack.resources.buckets,
    producer: async () => {
      failedRecordsProducer ??= kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await failedRecordsProducer.connect();
      return failedRecordsProducer;
    },
  });
  const cityCounts = await startMskEventSource({
    kafka,
    topic: rsvpTopic,
    groupId: "rsvp-atlas-local-city-counts",
    batchSize: controls.batchSize,
    batchingWindowMs: controls.batchingWindowMs,
    maximumRetryAttempts: controls.maximumRetryAttempts,
    bisectOnError: controls.bisectOnError,
    functionTimeoutMs: controls.functionTimeoutMs,
    onFailure: async (event, error) => {
      const ticks = messagesOf(event).filter((message) => message.tick).length;
      ticksRead += ticks;
      ticksSetAside += ticks;
      const where = await setAside(event, error);
      setAsideIn.push(where);
      say(`city-counts gave up on a batch after its retries (${error.message}): ${where}`);
    },
    handler: async (event, context) => {
      const result = await countCityRsvps(event, undefined, context);
      ticksRead += result.ticks;
      counted.rsvps += result.counted;
      counted.changed += result.changed;
      counted.unchanged += result.unchanged;
      counted.deadLettered += result.deadLettered;
    },
    onError: (error, attempt) =>
      say(
        `city-counts failed (attempt ${attempt}; the batch is retried, halved): ${error.message}`,
      ),
  });
  const destination =
    controls.onFailure.kind === "kafka"
      ? `topic ${controls.onFailure.topic}`
      : `bucket ${controls.onFailure.bucketLogicalId}`;
  say(
    `city-counts: ${rsvpTopic} -> local MSK event source (batches of up to ${controls.batchSize}, ${controls.batchingWindowMs} ms window, ${controls.maximumRetryAttempts} retries${controls.bisectOnError ? " halving" : ""}, then to the ${destination}) -> city-counts handler -> DynamoDB (moto).${options.asap ? "" : " Ctrl-C stops."}`,
  );

  // The counts API's own handler behind a local HTTP API, also with its template environment.
  useFunctionEnvironment(stack, "CountsApiFunction");
  const { getCounts } = await import("../../functions/counts-api/handler.js");
  // The site bucket behind the same port, as the site's CloudFront distribution serves both,
  // with the security headers it adds.
  const siteS3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
  const api = await startLocalHttpApi(
    { "/api/counts": (event) => getCounts(event) },
    options.apiPort,
    bucketFiles(siteS3, siteBucketOf(stack.resources.buckets)),
    siteResponseHeaders(),
  );
  if (api.preferredPortRefused)
    say(
      `port ${options.apiPort} could not be used (${api.preferredPortRefused}): serving on ${new URL(api.url).port} instead`,
    );
  say(`counts API: ${api.url}/api/counts?country=us&day=all&limit=10`);
  const site = await publishSite(siteS3, siteBucketOf(stack.resources.buckets), {
    countsApiUrl: "/api",
  });
  say(
    `site: ${api.url}/ (live counts now; the map once the first daily batch has run) - ${site.files} files, ${(site.gzipBytes / 1024).toFixed(0)} KB of code gzipped`,
  );

  const dynamodb = new DynamoDBClient(awsClientConfig(aws));
  // The topic holds the ingest's ticks beside its RSVPs (one to each partition at start): read
  // too, but not RSVP records.
  const onTopic = () => ingest.counters().produced + ingest.counters().ticks;
  const drained = (timeoutMs: number, everyMs: number) =>
    waitFor(() => cityCounts.stats.records >= onTopic(), {
      timeoutMs,
      everyMs,
    });
  return {
    stack,
    aws,
    ingest,
    counted,
    api,
    dynamodb,
    // The counts API's environment, the last one set: its table.
    tableName: process.env.TABLE_NAME as string,
    drained,
    eventSource: () => ({
      read: cityCounts.stats.records - ticksRead,
      setAside: cityCounts.stats.failedRecords - ticksSetAside,
      setAsideIn: [...setAsideIn],
    }),
    progress: (topUs) => {
      const stats = ingest.counters();
      return {
        counters: { sent: feed.stats.sent, counted: counted.rsvps },
        text: (rates) =>
          `feed ${feed.stats.sent} sent (${rates.sent}/s) | ingest ${stats.produced} to kafka, ${stats.sentToFirehose} to firehose, ${stats.deadLettered} dead-lettered | city-counts ${counted.rsvps} RSVPs (${rates.counted}/s), ${counted.changed} changed, ${counted.unchanged} unchanged, lag ${(lagMs(cityCounts.stats, onTopic(), Date.now(), startedAt) / 1000).toFixed(1)} s${topUs ? ` | top US: ${topUs}` : ""}`,
      };
    },
    async stopFlow() {
      await feed.close();
      let clean = true;
      try {
        await ingest.stop();
        await producer.disconnect();
        firehose.destroy();
      } catch (error) {
        say(`ingest: ${(error as Error).message}`);
        clean = false;
      }
      // Let city-counts read what was produced last, so the summary adds up.
      await drained(10_000, 100);
      await cityCounts.stop();
      await failedRecordsProducer?.disconnect();
      await api.close();
      siteS3.destroy();
      failedBatches.destroy();
      return clean;
    },
    async stopStack() {
      dynamodb.destroy();
      await stack.stop();
    },
    summary() {
      const final = ingest.counters();
      const rejected = Object.entries(final.rejected)
        .map(([why, n]) => `${why} ${n}`)
        .join(", ");
      const failedRecords = cityCounts.stats.failedRecords - ticksSetAside;
      return `summary: ${final.received} received, ${final.produced} produced to ${rsvpTopic}, ${final.sentToFirehose} sent to Firehose, ${final.deadLettered} dead-lettered${rejected ? ` (${rejected})` : ""}, ${cityCounts.stats.records - ticksRead} read by city-counts: ${counted.rsvps} RSVPs counted, ${counted.changed} changed by a later version, ${counted.unchanged} messages changed nothing (duplicates, stale versions)${counted.deadLettered > 0 ? `, ${counted.deadLettered} dead-lettered by city-counts` : ""}${failedRecords > 0 ? `, ${failedRecords} set aside uncounted after their retries` : ""}`;
    },
  };
}

/** The replay server with the feed asked for, said in one line. */
async function startFeed(options: LocalPipelineOptions): Promise<ReplayServer> {
  const pacing = feedPacing(options);
  const feed = await startReplayServer({
    source: feedSource(
      options,
      oncePerLine((oversized) =>
        options.say(`feed: ${oversizedLineNotice(options.input ?? "", oversized)}`),
      ),
    ),
    pacing,
    // The server only ends the connection; the ingest would reconnect to the same failure.
    onError: (error) =>
      options.onFeedError?.(error instanceof Error ? error : new Error(String(error))),
  });
  options.say(
    `feed: ${options.input ? `replaying ${options.input}` : `synthetic (seed ${options.seed})`} on ${feed.url}, ${describePacing(pacing)}`,
  );
  return feed;
}

/** What a `--once` run knows when the ingest has finished and city-counts has been waited for. */
export interface OnceRun extends EventSourceDone {
  /** Whether city-counts read every record the ingest produced in time. */
  drained: boolean;
  /** Records the ingest produced to the RSVP topic. */
  produced: number;
  /** Lines the ingest rejected, and those it dead-lettered (each rejected one must be). */
  rejected: number;
  ingestDeadLettered: number;
}

/**
 * Whether a `--once` replay was fully counted: every valid record (produced to the topic) read
 * by city-counts and none of them set aside uncounted after the event source's retries, every
 * rejected line dead-lettered by the ingest. Records city-counts itself dead-letters (not valid
 * RSVP records: no value, not JSON, not the record schema) are reported, not a failure.
 */
export function onceVerdict(run: OnceRun): { ok: true } | { ok: false; reason: string } {
  const problems: string[] = [];
  if (!run.drained)
    problems.push(`city-counts read ${run.read} of the ${run.produced} records produced`);
  if (run.ingestDeadLettered !== run.rejected)
    problems.push(
      `the ingest rejected ${run.rejected} lines but dead-lettered ${run.ingestDeadLettered}`,
    );
  if (run.setAside > 0) {
    const shown = run.setAsideIn.slice(0, 3).join(", ");
    const more = run.setAsideIn.length > 3 ? ` and ${run.setAsideIn.length - 3} more` : "";
    problems.push(
      `city-counts set ${run.setAside} record${run.setAside === 1 ? "" : "s"} aside uncounted after their retries, in the local on-failure destination (${shown || "nothing written"}${more}; it goes with the local stack, the error of each batch is in the line said when it was set aside)`,
    );
  }
  return problems.length === 0
    ? { ok: true }
    : { ok: false, reason: `the replay was not fully counted: ${problems.join("; ")}` };
}
