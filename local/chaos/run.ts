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
 *
 * Here the phases and the books; the faults and what injecting each does in faults.ts, the
 * processes they stop in services.ts, when the pipeline has recovered in settle.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { sleep } from "../../functions/shared/backoff.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { Random } from "../feed/synthetic/random.js";
import { type LocalHttpApi, startLocalHttpApi } from "../pipeline/http-api.js";
import { ensureKafkaJars } from "../setup/kafka-jars.js";
import { runsDir } from "../setup/paths.js";
import { ensurePythonVenv } from "../setup/python-venv.js";
import { awsClientConfig, LOCAL_REGION, localAwsEnvironment } from "../stack/aws-endpoint.js";
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
import { FAULTS, type FaultName, faultInjector } from "./faults.js";
import { asFeedMessages, chaosFeedMessages } from "./feed-messages.js";
import { type ChaosFeed, type FeedMessage, startChaosFeed } from "./feed-server.js";
import { type Ledger, takeLedger, topicSize } from "./ledger.js";
import { startCountingWorker, startIngestService } from "./services.js";
import { quiesce, recovery, type SettleTarget } from "./settle.js";

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
    const ingest = startIngestService({
      logPath: join(runDir, "ingest.log"),
      env: {
        ...awsEnv,
        FEED_URL: feed.url,
        KAFKA_BROKERS: broker.bootstrapServer,
        KAFKA_AUTH: "none",
        RSVP_TOPIC: rsvpTopic,
        DEAD_LETTER_TOPIC: deadLetterTopic,
        DELIVERY_STREAM_NAME: resources.deliveryStreams.RawDeliveryStream as string,
        METRICS_FORMAT: "json",
        COUNTERS_INTERVAL_SECONDS: "5",
      },
    });
    cleanups.push(() => ingest.stop());
    const counting = startCountingWorker({
      logPath: join(runDir, "counting.log"),
      env: {
        ...awsEnv,
        KAFKA_BROKERS: broker.bootstrapServer,
        RSVP_ATLAS_RESOURCES: JSON.stringify({ ...resources.tables, ...resources.buckets }),
      },
    });
    cleanups.push(() => counting.stop());

    const rawSeen = new Map<string, string[]>();
    const parse = createRsvpParser();
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

    const settle: SettleTarget = {
      kafka,
      rsvpTopic,
      deadLetterTopic,
      groupId: "rsvp-atlas-local-city-counts",
    };
    const inject = faultInjector({ broker, feed, ingest, counting, faultsFile });

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
      const recovered =
        injectedAt.length > 0
          ? await recovery({ ...settle, feed }, { feedStillPlaying, topicAtLift }, 120_000)
          : null;
      const recoveredAfter =
        recovered === null
          ? null
          : (recovered - (phaseStart + (injectedAt.at(-1) ?? 0) * 1000)) / 1000;
      if (!(await quiesce(settle, 120_000))) notes.push("did not settle within 120 s");
      const apiResult = await probe;
      const books = await ledger();
      const missed = feed.books.missed().length;
      notes.push(...ingest.takeNotes());
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
