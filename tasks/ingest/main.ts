/**
 * Entry point of the ingest task (ECS Fargate; the same file runs locally). Configuration
 * comes from the environment, checked at start. SIGTERM (ECS stopping the task) and SIGINT
 * close the feed, send everything received, then exit 0; if something could not be sent,
 * exit 1 naming it.
 */
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { Kafka } from "kafkajs";
import { backoffPause } from "../../functions/shared/backoff.js";
import { readConfig } from "../../functions/shared/config.js";
import { kafkaClientConfig } from "../../functions/shared/kafka-client.js";
import { createLogger } from "../../functions/shared/logger.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { manageTask } from "../task-lifecycle.js";
import { isLastingFailure } from "./buffered-sender.js";
import { ingestConfigSchema } from "./config.js";
import { createEmfReporter, flatten } from "./counters.js";
import { createFirehoseWriter, FIREHOSE_HTTP_LIMITS } from "./firehose-writer.js";
import { startIngest } from "./ingest.js";
import { ingestProducer } from "./renewable-producer.js";
import { readResumePoint } from "./resume-point.js";
import { topicPartitions } from "./topic-partitions.js";

const config = readConfig(ingestConfigSchema);

const logger = createLogger("ingest");
/**
 * Until the ingest starts, a stop (ECS stopping a task that still asks MSK for its brokers or
 * waits for Kafka) has nothing to drain: nothing has been read from the feed. It ends the task
 * at once, with exit 0, where the default would end it by the signal. manageTask takes the
 * signals over once it runs.
 */
const stopBeforeStart = (signal: NodeJS.Signals) => {
  logger.info("stopped before the ingest started: nothing read from the feed yet", {
    why: signal,
  });
  process.exit(0);
};
process.once("SIGTERM", stopBeforeStart);
process.once("SIGINT", stopBeforeStart);

// Without KAFKA_BROKERS, the brokers are asked of MSK (../shared/kafka-client.ts).
const kafkaConfig = await kafkaClientConfig({
  brokers: config.KAFKA_BROKERS,
  clusterArn: config.KAFKA_CLUSTER_ARN,
  auth: config.KAFKA_AUTH,
  region: config.AWS_REGION,
  clientId: "rsvp-atlas-ingest",
  logger,
});
const kafka = new Kafka(kafkaConfig);

const KAFKA_WAIT_MS = 5 * 60_000;
/**
 * A task that starts while Kafka is down (a broker restarting, MSK patching) waits for it, for
 * five minutes, rather than exiting at once into ECS's restart loop: it can do nothing
 * without Kafka, and what the feed sends meanwhile is asked for again from the resume point.
 */
async function whenKafkaAnswers<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + KAFKA_WAIT_MS;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= giveUpAt) throw error;
      logger.warn(`${what}: Kafka does not answer yet; trying again`, {
        tries,
        error: (error as Error).message,
      });
      await backoffPause(tries, { baseMs: 250, capMs: 10_000 });
    }
  }
}

const resumeFromMtime =
  config.FEED_RESUME === "since_mtime"
    ? await whenKafkaAnswers("reading the resume point", () =>
        readResumePoint(kafka, config.RSVP_TOPIC),
      )
    : undefined;
const producer = ingestProducer(kafka, { logger });
const firehose = new FirehoseClient({ requestHandler: FIREHOSE_HTTP_LIMITS });
await whenKafkaAnswers("connecting the producer", () => producer.connect());
process.off("SIGTERM", stopBeforeStart);
process.off("SIGINT", stopBeforeStart);

const ingest = startIngest({
  feedUrl: config.FEED_URL,
  parse: createRsvpParser(),
  producer,
  rsvpTopic: config.RSVP_TOPIC,
  deadLetterTopic: config.DEAD_LETTER_TOPIC,
  writeFirehose: createFirehoseWriter({
    client: firehose,
    deliveryStreamName: config.DELIVERY_STREAM_NAME,
  }),
  reconnectAfterNormalClose: config.RECONNECT_AFTER_NORMAL_CLOSE === "true",
  ...(config.PARTITION_TICK_SECONDS > 0
    ? {
        partitionTicks: {
          everyMs: config.PARTITION_TICK_SECONDS * 1000,
          partitions: () => topicPartitions(kafka, config.RSVP_TOPIC),
          // The next round asks again; a day of failed rounds is far inside the horizon.
          onFailure: (error: Error) =>
            logger.warn(
              "could not list the RSVP topic's partitions for their ticks; trying at the next round",
              {
                error,
              },
            ),
        },
      }
    : {}),
  ...(resumeFromMtime ? { resumeFromMtime } : {}),
  // A frame over the limit is data the feed sent that is read once more to be set aside, or
  // (over the set-aside limit too) not at all: said as a warning.
  onFeedEvent: (event) =>
    event.type === "frame-too-large"
      ? logger.warn(
          event.next === "set-aside"
            ? "feed sent a frame over the limit; the connection closes, and the next one reads it to set it aside as a dead letter"
            : "feed sent a frame over the set-aside limit too; the connection closes unread",
          { ...event },
        )
      : logger.info("feed", { ...event }),
  onSinkFailure: (sink, error, queued, streak) => {
    const details = {
      sink,
      queued,
      failuresInARow: streak.failures,
      failingSince: new Date(streak.since).toISOString(),
      error,
    };
    // Retried either way; an error only once it has lasted past what a restart or a throttle
    // takes (buffered-sender.ts, EXPECTED_FAILURE_MS).
    if (isLastingFailure(streak, Date.now()))
      logger.error("sending has failed for over a minute; still retrying", details);
    else logger.warn("sending failed; retrying", details);
  },
});
logger.info("ingest started", {
  feed: config.FEED_URL,
  resumeFrom: resumeFromMtime ? new Date(resumeFromMtime).toISOString() : "live",
  topic: config.RSVP_TOPIC,
  deliveryStream: config.DELIVERY_STREAM_NAME,
  partitionTicksEverySeconds: config.PARTITION_TICK_SECONDS,
});

// EMF: the increase since the previous report (Sum per period = events); JSON: totals since start.
const toEmf = createEmfReporter("ingest", config.METRICS_NAMESPACE);
const report = () => {
  const counters = ingest.counters();
  if (config.METRICS_FORMAT === "emf") process.stdout.write(`${JSON.stringify(toEmf(counters))}\n`);
  else
    logger.info("ingest counters", { ...flatten(counters), durableMtime: ingest.durableMtime() });
};
const shutdown = manageTask({
  logger,
  report,
  reportEverySeconds: config.COUNTERS_INTERVAL_SECONDS,
  stopping: "draining the feed's messages to Kafka and Firehose",
  stop: async (stopReports) => {
    let code = 0;
    let deadline: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ingest.stop().then(
        () => "drained" as const,
        (error: unknown) => error as Error,
      ),
      new Promise<"late">((resolve) => {
        deadline = setTimeout(() => resolve("late"), config.DRAIN_TIMEOUT_SECONDS * 1000);
      }),
    ]);
    clearTimeout(deadline);
    if (outcome === "late") {
      logger.error(
        `not drained within ${config.DRAIN_TIMEOUT_SECONDS} s: exiting with messages unsent, before ECS's stop timeout; the next task asks the feed for them again from the durable point`,
        {
          unsent: ingest.unsent(),
          durableMtime: ingest.durableMtime(),
          ...flatten(ingest.counters()),
        },
      );
      code = 1;
    } else if (outcome instanceof Error) {
      logger.error("ingest stopped with messages it could not send", { error: outcome });
      code = 1;
    }
    stopReports();
    report(); // the last increase: the EMF increases add up to the totals of "stopped"
    // A producer still sending would hold its disconnect up: not waited for when late.
    if (outcome !== "late") await producer.disconnect();
    firehose.destroy();
    logger.info("stopped", { ...flatten(ingest.counters()) });
    return code;
  },
});
ingest.finished.then(
  () => shutdown("the feed ended"),
  () => shutdown("the feed failed"),
);
