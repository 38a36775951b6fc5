/**
 * The faults of the suite, and what injecting each one does: kill and restart the Kafka broker,
 * drop the feed's connections and refuse reconnects, stop the ingest task (SIGTERM as ECS does,
 * SIGKILL as a crash does), kill the counting process mid-batch, make moto throttle or fail
 * DynamoDB (every request, or its transactions as a hot key does) or fail Firehose entries, and
 * ask the counts API for garbage (api-probe.ts).
 */

import { sleep } from "../../functions/shared/backoff.js";
import {
  type AwsFaults,
  clearAwsFaults,
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
  "dynamodb-transaction-throttle",
  "dynamodb-500",
  "firehose-failures",
  "api-garbage",
] as const;
export type FaultName = (typeof FAULTS)[number];
/**
 * The short form npm test runs: every kind of process and service fails once (the ingest by
 * SIGKILL; SIGTERM is its gentler form; DynamoDB by throttling every request, of which a
 * throttled transaction is a narrower form, held in npm test by
 * test/integration/city-counts-throttle.test.ts).
 */
export const SHORT_FAULTS: readonly FaultName[] = FAULTS.filter(
  (fault) => fault !== "ingest-sigterm" && fault !== "dynamodb-transaction-throttle",
);

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
        // Mid-batch, after some of its transactions were written: right after a transaction
        // of an invocation that has not returned (its offsets are not committed yet).
        const deadline = Date.now() + 20_000;
        const seen = counting.transactions;
        const midBatch = () => counting.inBatch > 0 && counting.transactions > seen;
        while (!midBatch() && Date.now() < deadline) await sleep(1);
        const wasMidBatch = midBatch();
        await counting.restart();
        notes.push(
          wasMidBatch
            ? "counting killed mid-batch, its transactions written, its offsets not committed"
            : "counting killed between batches",
        );
        return;
      }
      case "dynamodb-throttle":
      case "dynamodb-transaction-throttle":
      case "dynamodb-500": {
        const mode = (
          {
            "dynamodb-throttle": "throttle",
            "dynamodb-transaction-throttle": "transaction-throttle",
            "dynamodb-500": "error500",
          } as const
        )[fault];
        let answered = 0;
        await inTurn(async () => {
          const before = injectedAwsFaults(faultsFile).dynamodb[mode];
          await awsFault("dynamodb", { mode, until: Date.now() / 1000 + 8 }, 8000);
          answered = injectedAwsFaults(faultsFile).dynamodb[mode] - before;
        });
        const answer = {
          throttle: "requests with ThrottlingException",
          "transaction-throttle":
            "transactions with TransactionCanceledException (ThrottlingError)",
          error500: "requests with 500",
        }[mode];
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
