/**
 * A single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM) on
 * 127.0.0.1, run from the jars Maven fetched. Ports are chosen at start; data lives in the run
 * directory and is discarded with it.
 *
 * On request it also listens the way MSK's IAM listener does (TLS and SASL/OAUTHBEARER), so the
 * clients' AWS path can run here: see {@link KafkaBrokerOptions.secureListener}.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { Kafka, logLevel } from "kafkajs";
import type { KafkaInstall } from "../setup/kafka-jars.js";
import { freePorts } from "./ports.js";
import { type SupervisedProcess, startSupervised } from "./supervised-process.js";
import { waitUntil } from "./wait.js";

export interface KafkaBrokerOptions {
  /**
   * Adds a third listener, `SASL_SSL://127.0.0.1:<port>`, shaped like MSK's IAM listener: TLS
   * with a self-signed certificate made at start, and SASL/OAUTHBEARER. The PLAINTEXT and
   * CONTROLLER listeners stay as they are (brokers and controller talk PLAINTEXT), so tests can
   * check through PLAINTEXT what a client did through this one.
   *
   * Without an explicit `sasl.server.callback.handler.class`, Kafka validates OAUTHBEARER
   * tokens with its unsecured validator. Sources: Kafka's security docs, "Configuring
   * OAUTHBEARER" ("The default OAUTHBEARER implementation in Apache Kafka creates and validates
   * Unsecured JSON Web Tokens and is only suitable for use in non-production Kafka
   * installations"); in apache/kafka, clients/.../network/SaslChannelBuilder.java
   * (createServerCallbackHandlers falls back to OAuthBearerUnsecuredValidatorCallbackHandler,
   * as the 4.0.2 jar does too) and that class's Javadoc ("the default when the SASL mechanism is
   * OAUTHBEARER"). It accepts an unsigned JWT (header alg "none", empty signature) with a string
   * `sub` and a numeric `exp` still in the future, and refuses anything else. That is the one
   * difference from MSK, which accepts only tokens signed for an IAM principal.
   */
  secureListener?: boolean;
}

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, for kafkajs `brokers`. */
  bootstrapServer: string;
  /** `127.0.0.1:<port>` of the SASL_SSL listener; only with `secureListener`. */
  secureBootstrapServer?: string;
  /** The SASL_SSL listener's self-signed certificate (PEM), the one certificate a client must
   * trust to reach it (NODE_EXTRA_CA_CERTS, or tls `ca`); only with `secureListener`. */
  caCertificatePath?: string;
  ports: number[];
  process: SupervisedProcess;
}

/** The SASL_SSL listener's port and TLS identity (see {@link makeKeystore}). */
interface SecureListener {
  port: number;
  keystorePath: string;
  keystorePassword: string;
  pemPath: string;
}

/** On one broker every internal topic must have replication factor 1 and min ISR 1, or
 * consumer groups fail with "group coordinator is not available". */
function serverProperties(
  dataDir: string,
  brokerPort: number,
  controllerPort: number,
  secure?: SecureListener,
): string {
  const secureListener = secure ? `,SASL_SSL://127.0.0.1:${secure.port}` : "";
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}${secureListener}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}${secureListener}`,
    "controller.listener.names=CONTROLLER",
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secure ? ",SASL_SSL:SASL_SSL" : ""}`,
    "inter.broker.listener.name=PLAINTEXT",
    ...(secure ? secureListenerProperties(secure) : []),
    `log.dirs=${dataDir}`,
    // Topics come from template.yaml only (local/stack/provision.ts); a typo must fail, not create.
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "min.insync.replicas=1",
    "default.replication.factor=1",
    "group.initial.rebalance.delay.ms=0",
  ].join("\n")}\n`;
}

/**
 * TLS from the keystore made at start, and SASL/OAUTHBEARER validated by Kafka's default (the
 * unsecured validator, see {@link KafkaBrokerOptions.secureListener}). The JAAS entry is what
 * every OAUTHBEARER listener needs; its `sub` claim is only the broker's own login token, which
 * nothing uses since brokers talk PLAINTEXT.
 */
function secureListenerProperties(secure: SecureListener): string[] {
  const prefix = "listener.name.sasl_ssl";
  return [
    "sasl.enabled.mechanisms=OAUTHBEARER",
    `${prefix}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="rsvp-atlas-broker";`,
    `${prefix}.ssl.keystore.type=PKCS12`,
    `${prefix}.ssl.keystore.location=${secure.keystorePath}`,
    `${prefix}.ssl.keystore.password=${secure.keystorePassword}`,
    `${prefix}.ssl.key.password=${secure.keystorePassword}`,
  ];
}

/**
 * A throwaway TLS identity for the SASL_SSL listener, made with the JDK's keytool: a self-signed
 * certificate for CN=localhost with the names clients dial (ip 127.0.0.1, dns localhost), valid
 * for one day, in a PKCS12 keystore; and the same certificate as PEM for clients to trust.
 */
function makeKeystore(home: string): Omit<SecureListener, "port"> {
  const keystorePath = join(home, "broker-keystore.p12");
  const pemPath = join(home, "broker-certificate.pem");
  const password = randomBytes(18).toString("base64url");
  // The password goes by environment, not argv, so it stays out of the process table.
  const env = { ...process.env, KEYSTORE_PASSWORD: password };
  const store = [
    "-keystore",
    keystorePath,
    "-storetype",
    "PKCS12",
    "-storepass:env",
    "KEYSTORE_PASSWORD",
  ];
  const steps = [
    [
      "-genkeypair",
      "-alias",
      "broker",
      "-keyalg",
      "RSA",
      "-keysize",
      "2048",
      "-dname",
      "CN=localhost",
      "-ext",
      "SAN=ip:127.0.0.1,dns:localhost",
      "-validity",
      "1",
      "-keypass:env",
      "KEYSTORE_PASSWORD",
      ...store,
    ],
    ["-exportcert", "-rfc", "-alias", "broker", "-file", pemPath, ...store],
  ];
  for (const args of steps) {
    const run = spawnSync("keytool", args, { encoding: "utf8", env });
    if (run.error || run.status !== 0) {
      throw new Error(
        `keytool ${args[0]} failed (keytool comes with the JDK):\n${run.error?.message ?? ""}${run.stdout}\n${run.stderr}`,
      );
    }
  }
  return { keystorePath, keystorePassword: password, pemPath };
}

/** One TLS handshake with the listener, trusting only its own certificate. */
function tlsHandshake(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca }, () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", reject);
    // A listener that takes the connection but never answers must not hold up the start.
    socket.setTimeout(5_000, () => socket.destroy(new Error("no TLS handshake within 5 s")));
  });
}

const LOG4J2 = `status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
`;

export async function startKafkaBroker(
  install: KafkaInstall,
  runDir: string,
  options: KafkaBrokerOptions = {},
): Promise<KafkaBroker> {
  const home = mkdtempSync(join(runDir, "kafka-"));
  const dataDir = join(home, "data");
  mkdirSync(dataDir, { recursive: true });
  const ports = await freePorts(options.secureListener ? 3 : 2);
  const [brokerPort, controllerPort] = ports as [number, number];
  const secure: SecureListener | undefined = options.secureListener
    ? { port: ports[2] as number, ...makeKeystore(home) }
    : undefined;
  const propertiesPath = join(home, "server.properties");
  const log4jPath = join(home, "log4j2.properties");
  writeFileSync(propertiesPath, serverProperties(dataDir, brokerPort, controllerPort, secure));
  writeFileSync(log4jPath, LOG4J2);
  const classPath = join(install.libDir, "*");
  const jvm = ["-Xms256m", "-Xmx768m", "-XX:+UseG1GC", `-Dlog4j2.configurationFile=${log4jPath}`];

  const id = clusterId();
  // KRaft needs its storage formatted with a cluster id before the first start.
  const format = spawnSync(
    "java",
    [...jvm, "-cp", classPath, "kafka.tools.StorageTool", "format", "-t", id, "-c", propertiesPath],
    { encoding: "utf8" },
  );
  if (format.status !== 0) {
    throw new Error(`formatting Kafka storage failed:\n${format.stdout}\n${format.stderr}`);
  }

  const supervised = startSupervised({
    name: "kafka",
    command: "java",
    args: [...jvm, "-cp", classPath, "kafka.Kafka", propertiesPath],
    logPath: join(home, "broker.log"),
  });
  const bootstrapServer = `127.0.0.1:${brokerPort}`;
  const admin = new Kafka({
    clientId: "rsvp-atlas-health",
    brokers: [bootstrapServer],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await waitUntil(`Kafka broker on ${bootstrapServer}`, supervised, 90_000, async () => {
      await admin.connect();
      const cluster = await admin.describeCluster();
      // Our own broker, not another stack's that took the port after it was picked.
      if (cluster.clusterId !== id)
        throw new Error(`port ${brokerPort} answers for another cluster`);
      if (cluster.brokers.length === 0 || cluster.controller === null) return false;
      // Ready means consumer groups work too: this asks for a group coordinator, which exists
      // only once the broker has created its offsets topic.
      await admin.describeGroups(["rsvp-atlas-health"]);
      // A listener that cannot do TLS (a keystore the broker could not use) fails here, at
      // start, and not in the first client that tries it.
      if (secure) return tlsHandshake(secure.port, readFileSync(secure.pemPath, "utf8"));
      return true;
    });
  } catch (error) {
    await supervised.stop();
    throw error;
  } finally {
    await admin.disconnect();
  }
  return {
    bootstrapServer,
    ...(secure
      ? { secureBootstrapServer: `127.0.0.1:${secure.port}`, caCertificatePath: secure.pemPath }
      : {}),
    ports,
    process: supervised,
  };
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints). */
function clusterId(): string {
  for (;;) {
    const id = crypto.getRandomValues(Buffer.alloc(16)).toString("base64url");
    // The storage tool's argument parser would read a leading "-" as an option.
    if (!id.startsWith("-")) return id;
  }
}
