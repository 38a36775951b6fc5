/**
 * The city-counts Lambda behind the local MSK event source, as a process of its own, so the fault
 * suite can kill it mid-batch (SIGKILL) and start it again, as a Lambda poller or function can
 * die on AWS. The same handler and event source as `npm start`, with the environment and the
 * batching and error controls template.yaml gives the deployed function.
 *
 * Environment: KAFKA_BROKERS, the local AWS endpoint (AWS_ENDPOINT_URL and credentials), and
 * RSVP_ATLAS_RESOURCES (JSON: logical id -> local name of the tables and buckets).
 *
 * stdout: one JSON line per event, for the suite: {"event":"started"}, {"event":"invoke",
 * "records":N} when an invocation starts, {"event":"write","writes":N} after each call of the
 * store's single-item writes (states, day markers or counters) that applied N > 0 of them (also
 * when the call then throws),
 * {"event":"done","records":N} when it returns,
 * {"event":"failed","message":...} when it throws (the batch is then retried), and
 * {"event":"set-aside","where":...} when a batch's retries are spent. SIGTERM stops it cleanly.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { setAsideTo } from "../pipeline/failed-batches.js";
import { startMskEventSource } from "../pipeline/msk-event-source.js";
import {
  eventSourceControls,
  functionEnvironment,
  loadTemplateModel,
} from "../stack/template-model.js";

const brokers = process.env.KAFKA_BROKERS;
const resources = JSON.parse(process.env.RSVP_ATLAS_RESOURCES ?? "{}") as Record<string, string>;
if (!brokers || !process.env.AWS_ENDPOINT_URL) {
  throw new Error("counting-worker needs KAFKA_BROKERS and AWS_ENDPOINT_URL");
}
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const model = loadTemplateModel();
Object.assign(process.env, functionEnvironment("CityCountsFunction", resources));
const { countCityRsvps, defaultDependencies } = await import(
  "../../functions/city-counts/handler.js"
);
// The handler's own store, telling the suite when each call of single-item writes has applied
// some (a batch writes its states, then its day markers, then its counters, per partition), so
// it can kill this process after some of a batch's writes and before the batch is done. Counted
// as each write ends: a call that throws (a throttle past the SDK's retries) may have applied some.
const store = defaultDependencies.store;
const dependencies = {
  ...defaultDependencies,
  store: {
    ...store,
    applyWrites: async (...[actions, onOutcome, options]: Parameters<typeof store.applyWrites>) => {
      let writes = 0;
      try {
        return await store.applyWrites(
          actions,
          (index, outcome) => {
            if (outcome === "applied") writes += 1;
            onOutcome?.(index, outcome);
          },
          options,
        );
      } finally {
        if (writes > 0) emit({ event: "write", writes });
      }
    },
  },
};
const controls = eventSourceControls("CityCountsFunction", "RsvpTopic");
const topic = model.topics.find((t) => t.parameter === "RsvpTopicName")?.name ?? "meetup";

const kafka = new Kafka({
  clientId: "rsvp-atlas-chaos-counting",
  brokers: brokers.split(","),
  logLevel: logLevel.NOTHING,
  // Outlives a broker restart: the consumer reconnects instead of crashing.
  retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5000 },
});
const setAside = setAsideTo(controls.onFailure, {
  s3: new S3Client({ forcePathStyle: true }),
  buckets: resources,
  producer: async () => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return producer;
  },
});
const source = await startMskEventSource({
  kafka,
  topic,
  groupId: "rsvp-atlas-local-city-counts",
  batchSize: controls.batchSize,
  batchingWindowMs: controls.batchingWindowMs,
  maximumRetryAttempts: controls.maximumRetryAttempts,
  bisectOnError: controls.bisectOnError,
  functionTimeoutMs: controls.functionTimeoutMs,
  onError: (error) => emit({ event: "failed", message: error.message }),
  onFailure: async (event, error) => {
    emit({ event: "set-aside", where: await setAside(event, error), message: error.message });
  },
  handler: async (event, context) => {
    const records = Object.values(event.records).flat().length;
    emit({ event: "invoke", records });
    const result = await countCityRsvps(event, dependencies, context);
    emit({ event: "done", records });
    return result;
  },
});
emit({ event: "started" });
process.once("SIGTERM", () => {
  void source.stop().then(() => process.exit(0));
});
