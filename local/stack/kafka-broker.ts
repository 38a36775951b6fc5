/**
 * A single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM) on
 * 127.0.0.1, run from the jars Maven fetched. Ports are chosen at start; data lives in the run
 * directory and is discarded with it.
 *
 * For fault tests (local/chaos), the broker can be killed and restarted in place: the same ports
 * and data directory, so clients that knew it reconnect to it, as to an MSK broker after a
 * failure. See {@link KafkaBroker.kill} and {@link KafkaBroker.restart}.
 *
 * On request it also listens the way MSK's IAM listener does (TLS and SASL/OAUTHBEARER), so the
 * clients' AWS path can run here: see {@link KafkaBrokerOptions.secureListener}.
 *
 * Here the start and the health check; what it starts with (server.properties, TLS identity) in
 * kafka-broker-config.ts, kill/restart/stop across its JVMs in kafka-broker-restart.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { Kafka, logLevel } from "kafkajs";
import type { KafkaInstall } from "../setup/kafka-jars.js";
import {
  clusterId,
  LOG4J2,
  makeKeystore,
  type SecureListener,
  serverProperties,
} from "./kafka-broker-config.js";
import { restartable } from "./kafka-broker-restart.js";
import { freePorts } from "./ports.js";
import { type ExitInfo, type SupervisedProcess, startSupervised } from "./supervised-process.js";
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
  /** Every port the broker listens on: PLAINTEXT, CONTROLLER, and SASL_SSL with
   * `secureListener`. The same after restart(). */
  ports: number[];
  /**
   * The broker as one supervised engine, whichever JVM currently runs it, for the code that
   * stops it and watches it for crashes (local/stack/stack.ts): a JVM replaced by restart() must
   * neither escape stop() nor make a deliberate kill look like a crash.
   * - `pid`, `logTail()`: the latest JVM's watchdog (and process group), so restart() changes
   *   `pid`; `logPath` is one log for every JVM;
   * - `exited` settles only when the broker is gone for good: after stop(), or when a JVM exits
   *   without kill() having asked for it (a crash, also of a restarted JVM). Not after kill();
   * - `stop()` is {@link KafkaBroker.stop}, `kill()` is {@link KafkaBroker.kill}.
   */
  readonly process: SupervisedProcess;
  /**
   * Kills the broker's JVM with `signal` (SIGKILL unless told), as an outside `kill <pid>` of the
   * JVM would: a fault for chaos tests. Resolves with the JVM's exit (code 137 after SIGKILL)
   * once it has exited, when its ports are closed; rejects when it is still running 60 s after
   * the signal. Kafka's data stays as the JVM left it, for restart(). Nothing happens when no
   * JVM is running (killed already, stopped, crashed).
   */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /**
   * Starts the killed broker again: the same JVM command and server.properties, so the same
   * ports, data directory and cluster id, without formatting the storage (Kafka recovers its
   * logs and KRaft metadata from what the kill left). Resolves when the broker is healthy as
   * after the start: our cluster id, a controller, a group coordinator (and TLS with
   * `secureListener`). When a port is still taken by another process, it waits up to 10 s for
   * it and then fails with an error naming the port (a JVM that still loses the race to bind is
   * retried, 3 JVMs at most); after a failed restart the broker stays down, and restart() may be
   * called again. Refused while the broker runs, after stop(), and after a crash.
   */
  restart(): Promise<void>;
  /** Stops the broker whichever JVM runs it (a restarting one too), for good. Resolves when the
   * JVM has exited, at once when none runs. */
  stop(): Promise<void>;
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
  // KRaft needs its storage formatted with a cluster id before the first start, and only then:
  // a restart runs on the data as the killed JVM left it.
  const format = spawnSync(
    "java",
    [...jvm, "-cp", classPath, "kafka.tools.StorageTool", "format", "-t", id, "-c", propertiesPath],
    { encoding: "utf8" },
  );
  if (format.status !== 0) {
    throw new Error(`formatting Kafka storage failed:\n${format.stdout}\n${format.stderr}`);
  }

  const bootstrapServer = `127.0.0.1:${brokerPort}`;
  const launch = (): SupervisedProcess =>
    startSupervised({
      name: "kafka",
      command: "java",
      args: [...jvm, "-cp", classPath, "kafka.Kafka", propertiesPath],
      // One log across restarts (appended to), so a crash message shows what led up to it.
      logPath: join(home, "broker.log"),
    });
  const healthy = (broker: SupervisedProcess, what: string): Promise<void> =>
    waitUntilHealthy(broker, what, { bootstrapServer, clusterId: id, brokerPort, secure });

  const first = launch();
  try {
    await healthy(first, `Kafka broker on ${bootstrapServer}`);
  } catch (error) {
    await first.stop();
    throw error;
  }
  const listeners = [
    { port: brokerPort, listener: "PLAINTEXT" },
    { port: controllerPort, listener: "CONTROLLER" },
    ...(secure ? [{ port: secure.port, listener: "SASL_SSL" }] : []),
  ];
  return {
    bootstrapServer,
    ...(secure
      ? { secureBootstrapServer: `127.0.0.1:${secure.port}`, caCertificatePath: secure.pemPath }
      : {}),
    ports,
    ...restartable(first, {
      launch,
      healthy: (broker) => healthy(broker, `Kafka broker on ${bootstrapServer} (restart)`),
      listeners,
    }),
  };
}

/** How long the JVM may take to be healthy, at start and at each restart attempt. */
const START_TIMEOUT_MS = 90_000;

/** What a health check needs to know that the broker answering is ours, and ready. */
interface HealthTarget {
  bootstrapServer: string;
  clusterId: string;
  brokerPort: number;
  secure: SecureListener | undefined;
}

/**
 * Waits until the broker is ready for the pipeline: it answers with our cluster id, has a
 * controller, and can coordinate consumer groups (and, with `secureListener`, does TLS). The
 * same check after a restart: the data directory the JVM came back on still has our cluster id.
 */
async function waitUntilHealthy(
  broker: SupervisedProcess,
  what: string,
  target: HealthTarget,
): Promise<void> {
  const { bootstrapServer, clusterId: id, brokerPort, secure } = target;
  const admin = new Kafka({
    clientId: "rsvp-atlas-health",
    brokers: [bootstrapServer],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    // A check must not hang on a listener that takes connections and never answers.
    requestTimeout: 10_000,
  }).admin();
  try {
    await waitUntil(what, broker, START_TIMEOUT_MS, async () => {
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        // Our own broker, not another stack's that took the port after it was picked.
        if (cluster.clusterId !== id)
          throw new Error(`port ${brokerPort} answers for another cluster`);
        if (cluster.brokers.length === 0 || cluster.controller === null) return false;
        // Ready means consumer groups work too: this asks for a group coordinator, which exists
        // only once the broker has created (or, after a restart, loaded) its offsets topic.
        await admin.describeGroups(["rsvp-atlas-health"]);
        // A listener that cannot do TLS (a keystore the broker could not use) fails here, at
        // start, and not in the first client that tries it.
        if (secure) return tlsHandshake(secure.port, readFileSync(secure.pemPath, "utf8"));
        return true;
      } catch (error) {
        // The next check starts from new connections: kafkajs keeps one that went to whatever
        // held the port before the broker bound it (after a restart, the broker's port binds
        // only once it is registered, ~10 s in), and every check on it fails.
        await admin.disconnect();
        throw error;
      }
    });
  } finally {
    await admin.disconnect();
  }
}
