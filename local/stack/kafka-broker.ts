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
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { Kafka, logLevel } from "kafkajs";
import type { KafkaInstall } from "../setup/kafka-jars.js";
import { freePorts, isPortFree } from "./ports.js";
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

/** How long the JVM may take to be healthy, at start and at each restart attempt. */
const START_TIMEOUT_MS = 90_000;
/** How long kill() waits for the JVM to exit: SIGKILL takes well under a second, a SIGTERM'd
 * broker shuts down in a few; longer means a signal it survives. */
const KILL_TIMEOUT_MS = 60_000;
/** restart(): how long a port of the killed broker may stay taken by another process, checked
 * before each JVM is started, and how many JVMs try in turn when one still fails to bind (the
 * port taken again between the check and the JVM's bind). */
const PORT_WAIT_MS = 10_000;
const RESTART_ATTEMPTS = 3;

interface Relaunch {
  /** Starts the broker's JVM: the same command, server.properties, ports and data directory. */
  launch: () => SupervisedProcess;
  /** Resolves once a launched JVM is healthy, rejects when it exits first or times out. */
  healthy: (broker: SupervisedProcess) => Promise<void>;
  listeners: { port: number; listener: string }[];
}

/**
 * kill(), restart() and stop() for a broker whose JVM `first` is up and healthy, and the stable
 * `process` view of it. See {@link KafkaBroker} for the semantics.
 *
 * State: `current` is the JVM serving (undefined between a kill and a healthy restart, and
 * after a crash); `unfinished` every JVM that stop() must end. kill() and restart() take turns,
 * so they never interleave; stop() does not wait its turn: it ends a restart in progress too.
 */
function restartable(
  first: SupervisedProcess,
  { launch, healthy, listeners }: Relaunch,
): Pick<KafkaBroker, "process" | "kill" | "restart" | "stop"> {
  let current: SupervisedProcess | undefined = first;
  let latest = first;
  // Every JVM whose process group may still have members: a crash that took only the watchdog
  // leaves its JVM running, and only stop() of that JVM's group ends it. kill() and a failed
  // restart attempt see theirs reaped.
  const unfinished = new Set<SupervisedProcess>([first]);
  let lastExit: ExitInfo = { code: null, signal: null };
  let stopped = false;
  let gone = false;
  const killed = new WeakSet<SupervisedProcess>();
  let settle: (info: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((resolve) => {
    settle = (info) => {
      gone = true;
      resolve(info);
    };
  });

  /** A serving JVM's exit ends the broker unless kill() asked for it. */
  const watch = (broker: SupervisedProcess) => {
    void broker.exited.then((info) => {
      lastExit = info;
      if (broker !== current) return;
      current = undefined;
      if (!killed.has(broker)) settle(info);
    });
  };
  watch(first);

  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = turn.then(operation);
    turn = run.catch(() => {});
    return run;
  };

  const kill = (signal: NodeJS.Signals = "SIGKILL"): Promise<ExitInfo> =>
    inTurn(async () => {
      const broker = current;
      if (!broker) return lastExit;
      const exit = broker.kill(signal);
      // Marked before the exit this causes can be seen, so that it is never taken for a crash.
      killed.add(broker);
      const timedOut = Symbol("timed out");
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        exit,
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), KILL_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      if (outcome === timedOut) {
        // Still serving: a later exit of it is a crash again, and stop() still ends it.
        killed.delete(broker);
        throw new Error(
          `the Kafka JVM (watchdog pid ${broker.pid}) did not exit within ${KILL_TIMEOUT_MS / 1000} s of ${signal}`,
        );
      }
      unfinished.delete(broker);
      return outcome;
    });

  /** Resolves once every listener's port can be bound again; rejects when one stays taken. */
  const portsFreed = async (): Promise<void> => {
    const deadline = Date.now() + PORT_WAIT_MS;
    for (;;) {
      const taken: string[] = [];
      for (const { port, listener } of listeners)
        if (!(await isPortFree(port))) taken.push(`${port} (${listener})`);
      if (taken.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(
          `cannot restart the Kafka broker: port ${taken.join(", ")} on 127.0.0.1 is still taken ${PORT_WAIT_MS / 1000} s after the kill; another process bound it, and the broker comes back only on its own ports (clients and the data directory's metadata know those)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const restart = (): Promise<void> =>
    inTurn(async () => {
      if (stopped) throw new Error("the Kafka broker was stopped; restart() follows only kill()");
      if (current) throw new Error("the Kafka broker is running; kill() it before restart()");
      if (gone)
        throw new Error(
          `the Kafka broker exited on its own (${lastExit.signal ?? `code ${lastExit.code}`}), and a crash is not restarted; log ${latest.logPath}`,
        );
      for (let attempt = 1; ; attempt++) {
        await portsFreed();
        if (stopped) throw new Error("the Kafka broker was stopped while restarting");
        const logFrom = logSize(latest.logPath);
        const broker = launch();
        unfinished.add(broker);
        latest = broker;
        try {
          await healthy(broker);
          if (stopped) throw new Error("the Kafka broker was stopped while restarting");
          current = broker;
          watch(broker);
          return;
        } catch (error) {
          // stop() ends this JVM itself (it was in `unfinished` when stop() began).
          if (stopped) throw new Error("the Kafka broker was stopped while restarting");
          await broker.stop();
          unfinished.delete(broker);
          lastExit = await broker.exited;
          // The port was free a moment ago: someone took it again before the JVM bound it.
          const bindFailed = logSince(broker.logPath, logFrom).includes("Address already in use");
          if (!bindFailed) throw error;
          if (attempt >= RESTART_ATTEMPTS) {
            throw new Error(
              `cannot restart the Kafka broker: ${RESTART_ATTEMPTS} JVMs in turn found one of ports ${listeners.map((l) => l.port).join(", ")} taken ("Address already in use"); log ${broker.logPath}`,
            );
          }
        }
      }
    });

  const stop = async (graceMs?: number): Promise<void> => {
    stopped = true;
    // The serving JVM, a restarting one, and the JVM of a crash that may have outlived its
    // watchdog (SupervisedProcess.stop() signals the whole group).
    const jvms = [...unfinished];
    unfinished.clear();
    await Promise.all(jvms.map((broker) => broker.stop(graceMs)));
    // A restart in progress ends now (its JVM is gone); wait for it, then for any kill().
    await turn;
    // Killed and not restarted: nothing was running, the broker is gone all the same.
    if (!gone) settle(lastExit);
    await exited;
  };

  const supervised: SupervisedProcess = {
    name: "kafka",
    get pid() {
      return latest.pid;
    },
    logPath: first.logPath,
    exited,
    get stopping() {
      return stopped;
    },
    stop,
    kill,
    logTail: (lines) => latest.logTail(lines),
  };
  return { process: supervised, kill, restart, stop: () => stop() };
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What the log got since it was `from` bytes long. */
function logSince(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints). */
function clusterId(): string {
  for (;;) {
    const id = crypto.getRandomValues(Buffer.alloc(16)).toString("base64url");
    // The storage tool's argument parser would read a leading "-" as an option.
    if (!id.startsWith("-")) return id;
  }
}
