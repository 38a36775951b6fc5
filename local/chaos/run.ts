/**
 * The fault suite (issue 14): the pipeline on its real local engines, a known feed played
 * through it in phases, one fault injected in each phase at a seeded random moment, then all of
 * them in a last phase. Between phases the feed holds still until the pipeline has caught up,
 * and the books are taken (ledger.ts): what changed since the previous phase is that fault's.
 *
 * Processes as on AWS: the Kafka broker (the MSK stand-in, killed and restarted in place), moto
 * (S3, DynamoDB, Firehose; made to throttle or fail by the faults file), the ingest task
 * (tasks/ingest/main.ts, its own process: SIGTERM as ECS stops it, SIGKILL as a crash), the
 * city-counts handler behind the local event source (counting-worker.ts, its own process,
 * killed mid-batch), the counts API in this process (asked for garbage meanwhile).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticMessages } from "../feed/synthetic/generator.js";
import { Random } from "../feed/synthetic/random.js";
import { type LocalHttpApi, startLocalHttpApi } from "../pipeline/http-api.js";
import { ensureKafkaJars } from "../setup/kafka-jars.js";
import { runsDir } from "../setup/paths.js";
import { ensurePythonVenv } from "../setup/python-venv.js";
import { awsClientConfig, LOCAL_REGION, localAwsEnvironment } from "../stack/aws-endpoint.js";
import {
  type AwsFaults,
  clearAwsFaults,
  injectedAwsFaults,
  writeAwsFaults,
} from "../stack/aws-faults.js";
import { type KafkaBroker, startKafkaBroker } from "../stack/kafka-broker.js";
import { type MotoServer, startMotoServer } from "../stack/moto-server.js";
import {
  localResourceNames,
  provisionAwsResources,
  provisionKafkaTopics,
} from "../stack/provision.js";
import { functionEnvironment, loadTemplateModel } from "../stack/template-model.js";
import { type ApiProbeResult, probeCountsApi } from "./api-probe.js";
import { type CuratedCheck, curateAndCheck } from "./curated.js";
import { type ChaosFeed, type FeedMessage, startChaosFeed } from "./feed-server.js";
import { type Ledger, takeLedger, topicSize } from "./ledger.js";
import { type NodeProcess, startNodeProcess } from "./node-process.js";

export const FAULTS = [
  "broker-kill",
  "feed-drop",
  "ingest-sigterm",
  "ingest-sigkill",
  "counting-kill",
  "dynamodb-throttle",
  "dynamodb-500",
  "firehose-failures",
  "api-garbage",
] as const;
export type FaultName = (typeof FAULTS)[number];
/** The short form npm test runs: every kind of process and service fails once. */
export const SHORT_FAULTS: readonly FaultName[] = [
  "broker-kill",
  "feed-drop",
  "ingest-sigkill",
  "counting-kill",
  "dynamodb-throttle",
  "dynamodb-500",
  "firehose-failures",
  "api-garbage",
];

export interface ChaosOptions {
  seed: number;
  faults: readonly FaultName[];
  /** Also a last phase with every fault at once, at random moments. */
  allAtOnce: boolean;
  messagesPerPhase: number;
  ratePerSecond: number;
  /** Messages of a recording instead of the synthetic feed (one JSON message per line). */
  recording?: readonly string[];
  /**
   * A recording played first, in the baseline, before the synthetic feed (the recorded sample
   * of ../shared/data when it is there): real messages through every fault-free part.
   */
  prelude?: readonly string[];
  progress: (line: string) => void;
  keepRunDir?: boolean;
  /** At the end, run the daily batch over the raw landing and check its rsvp table. */
  curate?: boolean;
}

export interface PhaseResult {
  phase: string;
  /** Seconds from the phase's start to each injection. */
  injectedAt: number[];
  /** Seconds from the (last) injection until new records reached Kafka and counting caught up. */
  recoveredAfter: number | null;
  /** This phase's change in each column of the books. */
  delta: Omit<Ledger, "rsvps">;
  /** The feed's own loss in this phase: messages emitted while the ingest was not connected. */
  feedMissed: number;
  api: ApiProbeResult | undefined;
  notes: string[];
}

export interface ChaosReport {
  seed: number;
  phases: PhaseResult[];
  final: Ledger;
  curated?: CuratedCheck;
  delivered: number;
  runDir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The seeded feed: synthetic RSVPs with updates, malformed messages and exact duplicates. */
export function chaosFeedMessages(seed: number, count: number): FeedMessage[] {
  const random = new Random(`chaos-duplicates-${seed}`);
  const messages: FeedMessage[] = [];
  const generator = syntheticMessages({
    seed: `chaos-${seed}`,
    startTime: Date.UTC(2026, 0, 1, 23, 50),
    meanIntervalMs: 400,
    updateShare: 0.15,
    malformedShare: 0.03,
  });
  while (messages.length < count) {
    const next = generator.next();
    if (next.done) break;
    const { text, mtime } = next.value;
    messages.push({ text, mtime });
    // An exact duplicate of a recent message, as feeds re-send.
    if (random.next() < 0.03 && messages.length < count) {
      const earlier = messages[Math.max(0, messages.length - 1 - Math.floor(random.next() * 20))];
      if (earlier) messages.push({ ...earlier });
    }
  }
  return messages;
}

/** Lines of a recording as feed messages; a line without an mtime takes its predecessor's. */
function asFeedMessages(lines: readonly string[]): FeedMessage[] {
  let mtime = 0;
  return lines.map((text) => {
    mtime = Number(/"mtime"\s*:\s*(\d+)/.exec(text)?.[1] ?? mtime);
    return { text, mtime };
  });
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.progress;
  const random = new Random(`chaos-${options.seed}`);
  const model = loadTemplateModel();
  const resources = localResourceNames(model);
  mkdirSync(runsDir, { recursive: true });
  const runDir = mkdtempSync(join(runsDir, "chaos-"));
  const faultsFile = join(runDir, "aws-faults.json");
  // A first phase without faults: whatever it finds wrong is no fault's doing.
  const phases: (FaultName | "baseline" | "all")[] = [
    "baseline",
    ...options.faults,
    ...(options.allAtOnce ? ["all" as const] : []),
  ];
  const totalMessages = options.messagesPerPhase * phases.length;
  const prelude = asFeedMessages(options.prelude ?? []);
  const messages = [
    ...prelude,
    ...(options.recording
      ? asFeedMessages(options.recording.slice(0, totalMessages))
      : chaosFeedMessages(options.seed, totalMessages)),
  ];

  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    say(
      `chaos: seed ${options.seed}, ${phases.length} phases of ${options.messagesPerPhase} messages at ${options.ratePerSecond}/s; logs in ${runDir}`,
    );
    const [install] = await Promise.all([ensureKafkaJars(), ensurePythonVenv()]);
    const moto: MotoServer = await startMotoServer(runDir, { faultsFile });
    cleanups.push(() => moto.process.stop());
    const aws = { endpoint: moto.endpoint, region: LOCAL_REGION };
    await provisionAwsResources(model, aws);
    const broker: KafkaBroker = await startKafkaBroker(install, runDir);
    cleanups.push(() => broker.stop());
    await provisionKafkaTopics(model, broker.bootstrapServer);
    say(`chaos: Kafka on ${broker.bootstrapServer}, moto on ${moto.endpoint}`);

    const kafka = new Kafka({
      clientId: "rsvp-atlas-chaos",
      brokers: [broker.bootstrapServer],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    const dynamodb = new DynamoDBClient(awsClientConfig(aws));
    const s3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
    const tableName = resources.tables.CityCountsTable as string;
    const rsvpTopic = resources.topics.RsvpTopicName as string;
    const deadLetterTopic = resources.topics.DeadLetterTopicName as string;

    // The counts API's own handler, in this process, as `npm start` serves it.
    Object.assign(
      process.env,
      functionEnvironment("CountsApiFunction", { ...resources.tables, ...resources.buckets }),
      localAwsEnvironment(aws),
    );
    const { getCounts } = await import("../../functions/counts-api/handler.js");
    const api: LocalHttpApi = await startLocalHttpApi({
      "/api/counts": (event) => getCounts(event),
    });
    cleanups.push(() => api.close());
    const countsApi = async (query: string) => {
      const response = await fetch(`${api.url}/api/counts?${query}`);
      if (!response.ok) throw new Error(`counts API ${query}: ${response.status}`);
      return (await response.json()) as { cities: never[] };
    };

    const feed: ChaosFeed = await startChaosFeed(messages, {
      ratePerSecond: options.ratePerSecond,
    });
    cleanups.push(() => feed.close());
    const awsEnv = localAwsEnvironment(aws);
    const startIngestTask = (): NodeProcess =>
      startNodeProcess({
        name: "ingest",
        script: "tasks/ingest/main.ts",
        logPath: join(runDir, "ingest.log"),
        env: {
          ...awsEnv,
          FEED_URL: feed.url,
          KAFKA_BROKERS: broker.bootstrapServer,
          KAFKA_AUTH: "none",
          RSVP_TOPIC: rsvpTopic,
          DEAD_LETTER_TOPIC: deadLetterTopic,
          DELIVERY_STREAM_NAME: resources.deliveryStreams.RawDeliveryStream as string,
          MEMBER_PSEUDONYM_KEY: "chaos-suite-pseudonym-key-0123456789",
          METRICS_FORMAT: "json",
          COUNTERS_INTERVAL_SECONDS: "5",
        },
      });
    // As the ECS service does: an ingest task that exits on its own is replaced. The faults that
    // stop it on purpose start the next one themselves.
    const serviceNotes: string[] = [];
    let closing = false;
    const onPurpose = new WeakSet<NodeProcess>();
    const runIngest = (): NodeProcess => {
      const task = startIngestTask();
      void task.exited.then(async (exit) => {
        if (closing || onPurpose.has(task) || ingest !== task) return;
        serviceNotes.push(`ingest exited ${exit.signal ?? exit.code} on its own; replaced`);
        await sleep(1000);
        if (!closing && ingest === task) ingest = runIngest();
      });
      return task;
    };
    let ingest = runIngest();
    cleanups.push(async () => {
      closing = true;
      return ingest.signal("SIGKILL");
    });

    const worker = {
      current: undefined as NodeProcess | undefined,
      inBatch: 0,
      invocations: 0,
      setAside: 0,
      /** Transactions written so far (all invocations). */
      transactions: 0,
    };
    const startWorker = (): NodeProcess =>
      startNodeProcess({
        name: "counting",
        script: "local/chaos/counting-worker.ts",
        logPath: join(runDir, "counting.log"),
        env: {
          ...awsEnv,
          KAFKA_BROKERS: broker.bootstrapServer,
          RSVP_ATLAS_RESOURCES: JSON.stringify({ ...resources.tables, ...resources.buckets }),
        },
        onLine: (line) => {
          if (!line.startsWith("{")) return;
          const event = (JSON.parse(line) as { event?: string }).event;
          if (event === "invoke") {
            worker.inBatch += 1;
            worker.invocations += 1;
          }
          if (event === "transaction") worker.transactions += 1;
          if (event === "done" || event === "failed")
            worker.inBatch = Math.max(0, worker.inBatch - 1);
          if (event === "set-aside") worker.setAside += 1;
        },
      });
    worker.current = startWorker();
    cleanups.push(async () => worker.current?.signal("SIGKILL"));

    const rawSeen = new Map<string, string[]>();
    const parse = createRsvpParser({ pseudonymKey: "chaos-suite-pseudonym-key-0123456789" });
    const deliveredMessages = () =>
      [...feed.books.delivered].sort((a, b) => a - b).map((i) => messages[i] as FeedMessage);
    const ledger = () =>
      takeLedger(deliveredMessages(), {
        parse,
        dynamodb,
        tableName,
        s3,
        rawBucket: resources.buckets.RawBucket as string,
        kafka,
        deadLetterTopic,
        countsApi,
        rawSeen,
      });

    /** Committed offsets of the counting group behind the RSVP topic's end: records not yet counted. */
    const countingLag = async (): Promise<number> => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [end, committed] = await Promise.all([
          admin.fetchTopicOffsets(rsvpTopic),
          admin.fetchOffsets({ groupId: "rsvp-atlas-local-city-counts", topics: [rsvpTopic] }),
        ]);
        const done = new Map(
          (committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]),
        );
        return end.reduce((lag, p) => lag + Number(p.high) - (done.get(p.partition) ?? 0), 0);
      } finally {
        await admin.disconnect();
      }
    };
    /** Until counting has caught up and nothing moves for 3 s (at most `timeoutMs`). */
    const quiesce = async (timeoutMs: number): Promise<boolean> => {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      let stableSince = Date.now();
      while (Date.now() < deadline) {
        try {
          const signature = JSON.stringify([
            await topicSize(kafka, rsvpTopic),
            await topicSize(kafka, deadLetterTopic),
            await countingLag(),
          ]);
          if (signature !== last) {
            last = signature;
            stableSince = Date.now();
          } else if (Date.now() - stableSince > 3000 && JSON.parse(signature)[2] === 0) return true;
        } catch {
          stableSince = Date.now();
        }
        await sleep(500);
      }
      return false;
    };

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

    // One ingest task at a time, as ECS replaces a task: faults on it wait for each other.
    let ingestTurn: Promise<unknown> = Promise.resolve();
    const onIngest = (change: () => Promise<void>) => {
      const turn = ingestTurn.then(change);
      ingestTurn = turn.catch(() => {});
      return turn;
    };

    /** Injects one fault; resolves when it is lifted (the part the pipeline must ride out). */
    const inject = async (fault: FaultName, notes: string[]): Promise<void> => {
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
        case "ingest-sigterm":
          return onIngest(async () => {
            onPurpose.add(ingest);
            const exit = await ingest.signal("SIGTERM");
            notes.push(`ingest exited ${exit.code ?? exit.signal} after SIGTERM`);
            ingest = runIngest();
          });
        case "ingest-sigkill":
          return onIngest(async () => {
            onPurpose.add(ingest);
            const exit = await ingest.signal("SIGKILL");
            notes.push(`ingest killed (${exit.signal ?? exit.code})`);
            ingest = runIngest();
          });
        case "counting-kill": {
          // Mid-batch, after some of its transactions were written: right after a transaction
          // of an invocation that has not returned (its offsets are not committed yet).
          const deadline = Date.now() + 20_000;
          const seen = worker.transactions;
          while (!(worker.inBatch > 0 && worker.transactions > seen) && Date.now() < deadline)
            await sleep(1);
          const midBatch = worker.inBatch > 0 && worker.transactions > seen;
          await worker.current?.signal("SIGKILL");
          notes.push(
            midBatch
              ? "counting killed mid-batch, its transactions written, its offsets not committed"
              : "counting killed between batches",
          );
          worker.inBatch = 0;
          worker.current = startWorker();
          return;
        }
        case "dynamodb-throttle":
        case "dynamodb-500": {
          const mode = fault === "dynamodb-throttle" ? "throttle" : "error500";
          const before = injectedAwsFaults(faultsFile).dynamodb[mode];
          await awsFault("dynamodb", { mode, until: Date.now() / 1000 + 8 }, 8000);
          const answered = injectedAwsFaults(faultsFile).dynamodb[mode] - before;
          notes.push(
            `DynamoDB answered ${answered} requests with ${mode === "throttle" ? "ThrottlingException" : "500"}`,
          );
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
          return;
      }
    };

    // The stream starts once the ingest listens: what a feed sends before is no fault's loss.
    const listening = Date.now() + 60_000;
    while (feed.books.connections === 0 && Date.now() < listening) await sleep(50);
    if (feed.books.connections === 0)
      throw new Error("the ingest task never connected to the feed");

    const results: PhaseResult[] = [];
    let previous: Ledger | undefined;
    let missedBefore = 0;
    for (const [index, phase] of phases.entries()) {
      const phaseStart = Date.now();
      const target = prelude.length + options.messagesPerPhase * (index + 1);
      const playing = feed.playTo(target);
      const phaseSeconds = options.messagesPerPhase / options.ratePerSecond;
      const faults: FaultName[] =
        phase === "all" ? [...FAULTS] : phase === "baseline" ? [] : [phase];
      const notes: string[] = [];
      const injectedAt: number[] = [];
      const probe: Promise<ApiProbeResult> | undefined = faults.includes("api-garbage")
        ? probeCountsApi(api.url, phaseSeconds * 1000, random)
        : undefined;
      // Each fault at a random moment in the first 60 % of the phase.
      await Promise.all(
        faults
          .filter((fault) => fault !== "api-garbage")
          .map(async (fault) => {
            await sleep(Math.floor(random.next() * 0.6 * phaseSeconds * 1000));
            injectedAt.push((Date.now() - phaseStart) / 1000);
            say(
              `chaos: ${phase}: injecting ${fault} at ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`,
            );
            await inject(fault, notes);
          }),
      );
      // Recovered: after the fault was lifted, records reach Kafka again (if the feed still
      // played then) and counting has caught up with them.
      const feedStillPlaying = feed.books.emitted < target;
      const topicAtLift = await topicSize(kafka, rsvpTopic).catch(() => 0);
      await playing;
      let recoveredAfter: number | null = null;
      const recoverDeadline = injectedAt.length > 0 ? Date.now() + 120_000 : 0;
      while (Date.now() < recoverDeadline) {
        try {
          // And the ingest listens to the feed again (after a drop it reconnects with backoff).
          const produced = !feedStillPlaying || (await topicSize(kafka, rsvpTopic)) > topicAtLift;
          if (feed.books.connected() > 0 && produced && (await countingLag()) === 0) {
            recoveredAfter = (Date.now() - (phaseStart + (injectedAt.at(-1) ?? 0) * 1000)) / 1000;
            break;
          }
        } catch {
          // The broker may still be coming back.
        }
        await sleep(250);
      }
      if (!(await quiesce(120_000))) notes.push("did not settle within 120 s");
      const apiResult = await probe;
      const books = await ledger();
      const missed = feed.books.missed().length;
      notes.push(...serviceNotes.splice(0));
      results.push({
        phase,
        injectedAt,
        recoveredAfter,
        delta: diff(books, previous),
        feedMissed: missed - missedBefore,
        api: apiResult,
        notes,
      });
      missedBefore = missed;
      previous = books;
      say(
        `chaos: ${phase}: ${JSON.stringify(results.at(-1)?.delta)}${feed.books.connected() > 0 ? "" : " (ingest not connected)"}`,
      );
    }
    const final = previous ?? (await ledger());
    const curated = options.curate
      ? await curateAndCheck(aws, s3, resources.buckets, (line) => say(`chaos: batch: ${line}`))
      : undefined;
    return {
      seed: options.seed,
      phases: results,
      final,
      ...(curated ? { curated } : {}),
      delivered: feed.books.delivered.size,
      runDir,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    if (!options.keepRunDir) rmSync(runDir, { recursive: true, force: true });
  }
}

function diff(now: Ledger, before: Ledger | undefined): Omit<Ledger, "rsvps"> {
  const { rsvps: _, ...columns } = now;
  if (!before) return columns;
  return Object.fromEntries(
    Object.entries(columns).map(([key, value]) => [
      key,
      value - (before[key as keyof Ledger] ?? 0),
    ]),
  ) as Omit<Ledger, "rsvps">;
}
