/**
 * The faults of the suite, and what injecting each one does: kill and restart the Kafka broker,
 * drop the feed's connections and refuse reconnects, stop the ingest task (SIGTERM as ECS does,
 * SIGKILL as a crash does), kill the counting process mid-batch, make moto throttle or fail
 * DynamoDB (every request, or the counters' UpdateItem writes as a hot key does) or fail Firehose
 * entries, and ask the counts API for garbage (api-probe.ts).
 */

import { sleep } from "../../functions/shared/backoff.js";
import {
  type AwsFaults,
  clearAwsFaults,
  type DynamoDbFaultMode,
  injectedAwsFaults,
  writeAwsFaults,
} from "../stack/aws-faults.js";
import type { KafkaBroker } from "../stack/kafka-broker.js";
import type { ChaosFeed } from "./feed-server.js";
import type { CountingWorker, IngestService } from "./services.js";

export const FAULTS = [
  "broker-kill",
  "feed-drop",
  "ingest-sigterm",
  "ingest-sigkill",
  "counting-kill",
  "dynamodb-throttle",
  "dynamodb-counter-throttle",
  "dynamodb-500",
  "firehose-failures",
  "api-garbage",
] as const;
export type FaultName = (typeof FAULTS)[number];
/**
 * The short form npm test runs: every kind of process and service fails once (the ingest by
 * SIGKILL; SIGTERM is its gentler form; DynamoDB by throttling every request, of which throttled
 * counter writes are a narrower form, held in npm test by
 * test/integration/city-counts-throttle.test.ts).
 */
export const SHORT_FAULTS: readonly FaultName[] = FAULTS.filter(
  (fault) => fault !== "ingest-sigterm" && fault !== "dynamodb-counter-throttle",
);

/**
 * The DynamoDB faults: what moto answers, to which operations (all when absent), and how a
 * phase's note names it. dynamodb-counter-throttle is a hot key: DynamoDB throttles a single-item
 * write to a key past its partition's throughput (1,000 WRU/s, on-demand tables too) with HTTP
 * 400 ThrottlingException or ProvisionedThroughputExceededException, its ThrottlingReasons
 * naming TableWriteKeyRangeThroughputExceeded (Developer Guide, "Key range throughput exceeded
 * (hot partitions)"; API Reference, UpdateItem, Errors), both of which the SDK retries as
 * throttling. The counting's hot keys are its counters, the only items it writes with UpdateItem;
 * its states and day markers (PutItem) go through, so the window falls between a batch's state
 * writes and its counter writes, which the counters' fences make safe to run again.
 */
const DYNAMODB_FAULTS = {
  "dynamodb-throttle": {
    mode: "throttle",
    operations: undefined,
    answer: "requests with ThrottlingException",
  },
  "dynamodb-counter-throttle": {
    mode: "throttle",
    operations: ["UpdateItem"],
    answer: "UpdateItem requests (counter writes) with ThrottlingException",
  },
  "dynamodb-500": { mode: "error500", operations: undefined, answer: "requests with 500" },
} as const satisfies Partial<
  Record<
    FaultName,
    { mode: DynamoDbFaultMode; operations: readonly string[] | undefined; answer: string }
  >
>;

export interface FaultTargets {
  broker: KafkaBroker;
  feed: ChaosFeed;
  ingest: IngestService;
  counting: CountingWorker;
  /** The faults file moto reads (aws-faults.ts). */
  faultsFile: string;
}

/** Injects one fault; resolves when it is lifted (the part the pipeline must ride out). */
export type InjectFault = (fault: FaultName, notes: string[]) => Promise<void>;

export function faultInjector({
  broker,
  feed,
  ingest,
  counting,
  faultsFile,
}: FaultTargets): InjectFault {
  // The faults moto plays: one file for all services, so faults at once must not overwrite
  // each other's.
  const activeAws: AwsFaults = {};
  const awsFault = async (
    service: keyof AwsFaults,
    fault: NonNullable<AwsFaults[typeof service]>,
    ms: number,
  ) => {
    Object.assign(activeAws, { [service]: fault });
    writeAwsFaults(faultsFile, activeAws);
    await sleep(ms);
    delete activeAws[service];
    if (Object.keys(activeAws).length === 0) clearAwsFaults(faultsFile);
    else writeAwsFaults(faultsFile, activeAws);
  };
  // moto plays one DynamoDB fault at a time: faults injected at once (the all-at-once phase)
  // take turns, each its whole window, instead of one ending the other's early.
  let dynamoDbTurn: Promise<unknown> = Promise.resolve();
  const inTurn = (inject: () => Promise<void>): Promise<void> => {
    const turn = dynamoDbTurn.then(inject);
    dynamoDbTurn = turn.catch(() => undefined);
    return turn;
  };

  return async (fault, notes) => {
    switch (fault) {
      case "broker-kill": {
        const killed = Date.now();
        await broker.kill("SIGKILL");
        await sleep(2000);
        await broker.restart();
        notes.push(`broker down ${((Date.now() - killed) / 1000).toFixed(1)} s`);
        return;
      }
      case "feed-drop": {
        const refusedBefore = feed.books.refusedConnections;
        await feed.drop();
        feed.refuse(10_000);
        await sleep(10_000);
        notes.push(`feed refused ${feed.books.refusedConnections - refusedBefore} reconnects`);
        return;
      }
      case "ingest-sigterm": {
        const exit = await ingest.replace("SIGTERM");
        notes.push(`ingest exited ${exit.code ?? exit.signal} after SIGTERM`);
        return;
      }
      case "ingest-sigkill": {
        const exit = await ingest.replace("SIGKILL");
        notes.push(`ingest killed (${exit.signal ?? exit.code})`);
        return;
      }
      case "counting-kill": {
        // Mid-batch, after some of its writes were applied: right after a call of single-item
        // writes (a batch's first is its state writes) of an invocation that has not returned
        // (its offsets are not committed yet).
        const deadline = Date.now() + 20_000;
        const seen = counting.writes;
        const midBatch = () => counting.inBatch > 0 && counting.writes > seen;
        while (!midBatch() && Date.now() < deadline) await sleep(1);
        const wasMidBatch = midBatch();
        await counting.restart();
        notes.push(
          wasMidBatch
            ? "counting killed mid-batch, its state writes done, its counters maybe not, its offsets not committed"
            : "counting killed between batches",
        );
        return;
      }
      case "dynamodb-throttle":
      case "dynamodb-counter-throttle":
      case "dynamodb-500": {
        const { mode, operations, answer } = DYNAMODB_FAULTS[fault];
        let answered = 0;
        await inTurn(async () => {
          const before = injectedAwsFaults(faultsFile).dynamodb[mode];
          const until = Date.now() / 1000 + 8;
          await awsFault(
            "dynamodb",
            { mode, until, ...(operations ? { operations: [...operations] } : {}) },
            8000,
          );
          answered = injectedAwsFaults(faultsFile).dynamodb[mode] - before;
        });
        notes.push(`DynamoDB answered ${answered} ${answer}`);
        return;
      }
      case "firehose-failures": {
        const before = injectedAwsFaults(faultsFile).firehose.failedEntries;
        await awsFault(
          "firehose",
          { mode: "failed-entries", until: Date.now() / 1000 + 8, every: 2 },
          8000,
        );
        const failed = injectedAwsFaults(faultsFile).firehose.failedEntries - before;
        notes.push(`Firehose failed ${failed} entries`);
        return;
      }
      case "api-garbage":
        // The probe runs for the whole phase (api-probe.ts), started by the phase itself.
        return;
    }
  };
}
