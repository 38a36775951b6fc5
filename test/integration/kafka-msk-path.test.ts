/**
 * The Kafka clients' MSK path (KAFKA_AUTH=iam: TLS, SASL/OAUTHBEARER with a token from
 * `aws-msk-iam-sasl-signer-js`) against a broker listener that demands both, so that code has
 * run before it meets MSK. The broker (local/stack/kafka-broker.ts, `secureListener`) has a
 * SASL_SSL listener with a self-signed certificate made at start and Kafka's unsecured
 * OAUTHBEARER validator; its PLAINTEXT listener is how the test looks at what the clients did.
 *
 * The entry points run as on AWS, as processes of their own, unchanged: the ingest task
 * (tasks/ingest/main.ts) and the kafka-topics Lambda's handler. Two things differ, both
 * set at the process start: NODE_EXTRA_CA_CERTS makes Node trust the broker's certificate (on
 * AWS, MSK's certificate chains to a public CA), and test/support/unsecured-msk-token swaps the
 * IAM signer for one that returns an unsecured JWT. Everything but the IAM token itself is
 * exercised: kafkaClientConfig's `ssl` and `sasl`, kafkajs's TLS and OAUTHBEARER exchange with
 * a real broker, the producer and the admin over it.
 *
 * The negative checks show that the listener really refuses what it must: a client that does not
 * trust the certificate, and tokens the validator rejects.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceResponse,
} from "aws-lambda";
import { build, type Format, type Platform } from "esbuild";
import { ConfigResourceTypes, type Consumer, Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { kafkaClientConfig } from "../../functions/shared/kafka-client.js";
import { createLogger } from "../../functions/shared/logger.js";
import { TICK_HEADER } from "../../functions/shared/partition-tick.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { ensureKafkaJars } from "../../local/setup/kafka-jars.js";
import { repoRoot, runsDir } from "../../local/setup/paths.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { type KafkaBroker, startKafkaBroker } from "../../local/stack/kafka-broker.js";
import { readTemplate } from "../../local/stack/template-model.js";
import { type ReplayServer, startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { createTestTopics } from "../support/kafka-records.js";
import { type CollectedProcess, spawnNode } from "../support/processes.js";
import { generateAuthToken, unsecuredJwt } from "../support/unsecured-msk-token/signer.mjs";

const stack = inject("stack");

/** `node --import` of the hook that swaps the IAM signer for the unsecured-token one. */
const SIGNER_HOOK = [
  "--import",
  pathToFileURL(join(repoRoot, "test/support/unsecured-msk-token/register.mjs")).href,
];

let runDir = "";
let broker: KafkaBroker;
let secureServer = "";
let caCertificatePath = "";
/** The broker's own PLAINTEXT listener: how the test sees what the clients did. */
let plaintext: Kafka;
const children = new Set<CollectedProcess>();
let feed: ReplayServer | undefined;
let consumer: Consumer | undefined;

beforeAll(async () => {
  const install = await ensureKafkaJars();
  mkdirSync(runsDir, { recursive: true });
  runDir = mkdtempSync(join(runsDir, "kafka-msk-path-"));
  broker = await startKafkaBroker(install, runDir, { secureListener: true });
  if (!broker.secureBootstrapServer || !broker.caCertificatePath)
    throw new Error("the broker was started without its SASL_SSL listener");
  secureServer = broker.secureBootstrapServer;
  caCertificatePath = broker.caCertificatePath;
  plaintext = new Kafka({
    clientId: "kafka-msk-path-test",
    brokers: [broker.bootstrapServer],
    logLevel: logLevel.NOTHING,
  });
});

afterAll(async () => {
  for (const child of children) child.child.kill("SIGKILL");
  await Promise.all([...children].map((child) => child.exited));
  await consumer?.disconnect();
  await feed?.close();
  await broker?.process.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

/**
 * Starts `node <args>` with the MSK path's environment: KAFKA_AUTH=iam against the SASL_SSL
 * listener, the broker's certificate trusted, no AWS credentials unless `env` gives some. The
 * swapped signer needs none. Without the swap the test fails either way: the real signer finds
 * no credentials (the Lambda), or signs with moto's a token the broker refuses (the ingest).
 */
function runOnMskPath(args: string[], env: Record<string, string>): CollectedProcess {
  const child = spawnNode(args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      NODE_EXTRA_CA_CERTS: caCertificatePath,
      KAFKA_AUTH: "iam",
      KAFKA_BROKERS: secureServer,
      KAFKA_CLUSTER_ARN: "",
      POWERTOOLS_LOG_LEVEL: "INFO",
      ...env,
    },
  });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/**
 * The kafka-topics Lambda as `sam build` makes it: esbuild with KafkaTopicsFunction's
 * BuildProperties from template.yaml, entered through test/support/kafka-topics-lambda.ts
 * (which calls the handler as Lambda does), with one change: the IAM signer stays out of the
 * bundle, for the hook to swap. A bundle, not the source under tsx, because that is what Lambda
 * runs, and because kafkajs is CommonJS: Node's own ESM import of it finds only some of its
 * named exports (not ConfigResourceTypes, which topics.ts imports), esbuild's interop all.
 */
async function buildKafkaTopicsLambda(): Promise<string> {
  const resource = readTemplate().Resources.KafkaTopicsFunction as unknown as {
    Metadata: {
      BuildProperties: {
        Format: Format;
        Target: string;
        Platform: Platform;
        Minify?: boolean;
        Sourcemap?: boolean;
        EntryPoints: string[];
        Banner?: string[];
      };
    };
  };
  const props = resource.Metadata.BuildProperties;
  // The runner imports this entry point; a template that bundles another would need it too.
  expect(props.EntryPoints).toEqual(["functions/kafka-topics/handler.ts"]);
  const outfile = join(runDir, "kafka-topics-lambda.mjs");
  await build({
    entryPoints: [join(repoRoot, "test/support/kafka-topics-lambda.ts")],
    bundle: true,
    format: props.Format,
    target: props.Target,
    platform: props.Platform,
    minify: props.Minify ?? false,
    sourcemap: props.Sourcemap ?? false,
    banner: Object.fromEntries(
      (props.Banner ?? []).map((entry) => {
        const at = entry.indexOf("=");
        return [entry.slice(0, at), entry.slice(at + 1)];
      }),
    ),
    external: ["aws-msk-iam-sasl-signer-js"],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

function jsonLines(child: CollectedProcess): Record<string, unknown>[] {
  return child
    .stdout()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the kafka-topics custom resource on the MSK path", () => {
  let server: Server | undefined;
  afterAll(async () => {
    const closing = server;
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  });

  it("creates the template's topics through TLS and SASL/OAUTHBEARER", async () => {
    // CloudFormation's side: the presigned response URL, here a local server.
    const answers: CloudFormationCustomResourceResponse[] = [];
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        answers.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        response.writeHead(200).end();
      });
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    const { port } = listening.address() as AddressInfo;

    // The fixture as CloudFormation sends it, with the template's topic names; replication
    // factor 1, since this cluster has one broker.
    const fixture: CloudFormationCustomResourceCreateEvent = JSON.parse(
      readFileSync(join(repoRoot, "events/kafka-topics-create.json"), "utf8"),
    );
    const rsvpTopic = stack.resources.topics.RsvpTopicName as string;
    const deadLetterTopic = stack.resources.topics.DeadLetterTopicName as string;
    const event: CloudFormationCustomResourceCreateEvent = {
      ...fixture,
      ResponseURL: `http://127.0.0.1:${port}/cloudformation-response?X-Amz-Signature=local`,
      ResourceProperties: {
        ...fixture.ResourceProperties,
        Topics: [
          {
            Name: rsvpTopic,
            Partitions: "6",
            ReplicationFactor: "1",
            RetentionHours: "168",
            SegmentHours: "1",
          },
          { Name: deadLetterTopic, Partitions: "2", ReplicationFactor: "1" },
        ],
      },
    };

    const bundle = await buildKafkaTopicsLambda();
    const lambda = runOnMskPath([...SIGNER_HOOK, bundle, JSON.stringify(event)], {
      AWS_REGION: "us-east-1",
    });
    const output = () => lambda.stdout() + lambda.stderr();
    expect(await lambda.exited, output()).toBe(0);
    expect(answers, output()).toHaveLength(1);
    expect(answers[0], output()).toMatchObject({
      Status: "SUCCESS",
      Data: { TopicNames: `${rsvpTopic},${deadLetterTopic}` },
    });

    const admin = plaintext.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [rsvpTopic, deadLetterTopic] });
      expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual({
        [rsvpTopic]: 6,
        [deadLetterTopic]: 2,
      });
      const { resources } = await admin.describeConfigs({
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: rsvpTopic, configNames: ["retention.ms"] },
        ],
        includeSynonyms: false,
      });
      expect(resources[0]?.configEntries[0]?.configValue).toBe(String(168 * 3_600_000));
    } finally {
      await admin.disconnect();
    }
    // The handler logged its exchange as on Lambda: the request, then the answer it sent.
    expect(jsonLines(lambda).map((line) => line.message)).toEqual(
      expect.arrayContaining([
        "custom resource request",
        "topics ensured",
        "answered CloudFormation",
      ]),
    );
  });
});

describe("the ingest task on the MSK path", () => {
  const rsvpTopic = "msk-path-rsvps";
  const deadLetterTopic = "msk-path-dlq";
  const LINES = [...takeLines(300)];

  it("produces the feed's RSVPs, in order per city, and dead-letters the rest", async () => {
    await createTestTopics(plaintext, { [rsvpTopic]: 3, [deadLetterTopic]: 2 });

    // What the ingest must send: the same parser, in-process.
    const parse = createRsvpParser();
    const expectedByCity = new Map<string, string[]>();
    const expectedRejections: string[] = [];
    for (const line of LINES) {
      const result = parse(line);
      if (result.ok) {
        const values = expectedByCity.get(result.record.city.key) ?? [];
        values.push(JSON.stringify(result.record));
        expectedByCity.set(result.record.city.key, values);
      } else expectedRejections.push(result.rejection.reason);
    }
    const expectedRsvps = [...expectedByCity.values()].reduce((n, values) => n + values.length, 0);
    expect(expectedRejections.length).toBeGreaterThan(0);

    // The recording is played once: its end is the ingest's end (exit 0 after the drain).
    feed = await startReplayServer({ source: () => LINES, pacing: { kind: "asap" } });
    // Its source under tsx, as ingest-task.test.ts runs it (the image's bundle is tested in
    // test/unit/ingest-bundle.test.ts); the hook goes after tsx, so it resolves first.
    const ingest = runOnMskPath(["--import", "tsx", ...SIGNER_HOOK, "tasks/ingest/main.ts"], {
      // As ingest-task.test.ts runs it; Firehose is moto's (the global stack), Kafka ours.
      ...localAwsEnvironment({ endpoint: stack.awsEndpoint, region: stack.region }),
      FEED_URL: feed.url,
      RSVP_TOPIC: rsvpTopic,
      DEAD_LETTER_TOPIC: deadLetterTopic,
      DELIVERY_STREAM_NAME: stack.resources.deliveryStreams.RawDeliveryStream as string,
      METRICS_FORMAT: "json",
      RECONNECT_AFTER_NORMAL_CLOSE: "false",
    });
    const output = () => ingest.stdout() + ingest.stderr();
    expect(await ingest.exited, output()).toBe(0);
    const stopped = jsonLines(ingest).find((line) => line.message === "stopped") as
      | Record<string, number>
      | undefined;
    expect(stopped, output()).toMatchObject({
      received: LINES.length,
      produced: expectedRsvps,
      deadLettered: expectedRejections.length,
      sentToFirehose: expectedRsvps,
    });

    // Read both topics back through PLAINTEXT.
    const byCity = new Map<string, string[]>();
    const rejections: string[] = [];
    consumer = plaintext.consumer({ groupId: `kafka-msk-path-${process.pid}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [rsvpTopic, deadLetterTopic], fromBeginning: true });
    // The ingest's ticks too (one to each partition at start, unless the feed ended first),
    // which are no RSVPs.
    const wanted = expectedRsvps + expectedRejections.length + (stopped?.ticks ?? 0);
    let seen = 0;
    let ticks = 0;
    const allSeen = new Promise<void>((resolve) => {
      void consumer?.run({
        eachMessage: async ({ topic, message }) => {
          const value = message.value?.toString("utf8") ?? "";
          if (message.headers?.[TICK_HEADER] !== undefined) ticks += 1;
          else if (topic === rsvpTopic) {
            const key = message.key?.toString("utf8") ?? "(no key)";
            const values = byCity.get(key) ?? [];
            values.push(value);
            byCity.set(key, values);
          } else rejections.push((JSON.parse(value) as { reason: string }).reason);
          seen += 1;
          if (seen === wanted) resolve();
        },
      });
    });
    // Not a timed assertion: the comparison below names what is missing if this gives up.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([allSeen, new Promise((resolve) => (giveUp = setTimeout(resolve, 60_000)))]);
    clearTimeout(giveUp);
    await consumer.disconnect();
    consumer = undefined;

    // A city's RSVPs share a key, hence a partition, so their order is the feed's; each carries
    // the ingest's arrival stamp, rising with it (the rest is the record the parser made).
    const unstamped = new Map(
      [...byCity].map(([key, values]) => {
        const records = values.map((value) => JSON.parse(value) as { arrival?: number });
        const stamps = records.map((record) => record.arrival ?? 0);
        expect(stamps.every((stamp, i) => stamp > (i === 0 ? 0 : (stamps[i - 1] ?? 0)))).toBe(true);
        return [key, records.map(({ arrival: _, ...record }) => JSON.stringify(record))];
      }),
    );
    expect(Object.fromEntries(unstamped)).toEqual(Object.fromEntries(expectedByCity));
    expect(ticks).toBe(stopped?.ticks ?? 0);
    expect(rejections.sort()).toEqual(expectedRejections.sort());
  });
});

describe("the SASL_SSL listener refuses what MSK would", () => {
  const logger = createLogger("kafka-msk-path-test");

  /** The production client configuration for the SASL_SSL listener, failing on the first try. */
  async function productionConfig(): Promise<KafkaConfig> {
    const config = await kafkaClientConfig({
      brokers: secureServer,
      auth: "iam",
      region: "us-east-1",
      clientId: "kafka-msk-path-test",
      logger,
    });
    return { ...config, logLevel: logLevel.NOTHING, retry: { retries: 0 } };
  }

  it("a client that does not trust the broker's certificate: TLS is really on", async () => {
    // This process has no NODE_EXTRA_CA_CERTS: kafka-client.ts's `ssl: true` verifies the
    // certificate against Node's CAs, which do not include the self-signed one. The handshake
    // fails before SASL, so the IAM signer is never asked for a token.
    const admin = new Kafka(await productionConfig()).admin();
    await expect(admin.connect()).rejects.toThrow(/self[- ]signed certificate/);
    await admin.disconnect();
  });

  /**
   * The broker's answer to `token` (RFC 7628): empty when it accepts it, an error JSON when it
   * does not. kafkajs's own OAUTHBEARER authenticator takes any answer for success (the broker
   * then drops the connection at the next request), so this client sends the same initial
   * response kafkajs does (see kafkajs/src/protocol/sasl/oauthBearer/request.js) and reads the
   * answer. On a refusal it stops, so no other request follows.
   */
  async function brokerAnswer(token: string): Promise<{ answer: string; topics?: string[] }> {
    let answer = "";
    const admin = new Kafka({
      clientId: "kafka-msk-path-test",
      brokers: [secureServer],
      ssl: { ca: [readFileSync(caCertificatePath, "utf8")] },
      sasl: {
        mechanism: "oauthbearer",
        authenticationProvider: ({ saslAuthenticate }) => ({
          authenticate: async () => {
            const message = Buffer.from(`n,,\u0001auth=Bearer ${token}\u0001\u0001`);
            const framed = Buffer.alloc(4 + message.length);
            framed.writeInt32BE(message.length);
            message.copy(framed, 4);
            const reply = await saslAuthenticate<string>({
              request: { encode: () => framed },
              // The answer is Kafka BYTES: an int32 length (-1: none), then the bytes.
              response: {
                decode: (raw) => raw.subarray(4, 4 + Math.max(0, raw.readInt32BE(0))),
                parse: (data) => data.toString("utf8"),
              },
            });
            answer = reply ?? "";
            if (answer !== "") throw new Error(`refused: ${answer}`);
          },
        }),
      },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      return { answer, topics: await admin.listTopics() };
    } catch {
      return { answer };
    } finally {
      await admin.disconnect();
    }
  }

  it("a valid unsecured token is accepted (the control for the refusals below)", async () => {
    const { token } = await generateAuthToken({ region: "us-east-1" });
    const accepted = await brokerAnswer(token);
    expect(accepted.answer).toBe("");
    expect(accepted.topics).toContain("__consumer_offsets");
  });

  it("an expired token, or one with a signature algorithm, is refused: SASL is really checked", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = unsecuredJwt({ sub: "rsvp-atlas-test", iat: now - 120, exp: now - 60 });
    // Claims the validator accepts, but a header that says the token is signed (HMAC).
    const notUnsecured = unsecuredJwt(
      { sub: "rsvp-atlas-test", iat: now, exp: now + 600 },
      { alg: "HS256", typ: "JWT" },
    );
    for (const token of [expired, notUnsecured]) {
      const refused = await brokerAnswer(token);
      expect(JSON.parse(refused.answer)).toEqual({ status: "invalid_token" });
      expect(refused.topics).toBeUndefined();
    }
  });
});

/** The first `count` lines of the synthetic feed (5 % malformed, for the dead-letter topic). */
function* takeLines(count: number): Generator<string> {
  let taken = 0;
  for (const line of syntheticLines({ seed: "kafka-msk-path", malformedShare: 0.05 })) {
    if (taken === count) return;
    taken += 1;
    yield line;
  }
}
