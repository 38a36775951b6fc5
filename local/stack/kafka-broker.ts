/**
 * A single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM) on
 * 127.0.0.1, run from the jars Maven fetched. Ports are chosen at start; data lives in the run
 * directory and is discarded with it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import type { KafkaInstall } from "../setup/kafka-jars.js";
import { freePorts } from "./ports.js";
import { type SupervisedProcess, startSupervised } from "./supervised-process.js";
import { waitUntil } from "./wait.js";

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, for kafkajs `brokers`. */
  bootstrapServer: string;
  ports: number[];
  process: SupervisedProcess;
}

/** On one broker every internal topic must have replication factor 1 and min ISR 1, or
 * consumer groups fail with "group coordinator is not available". */
function serverProperties(dataDir: string, brokerPort: number, controllerPort: number): string {
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
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
): Promise<KafkaBroker> {
  const home = mkdtempSync(join(runDir, "kafka-"));
  const dataDir = join(home, "data");
  mkdirSync(dataDir, { recursive: true });
  const [brokerPort, controllerPort] = (await freePorts(2)) as [number, number];
  const propertiesPath = join(home, "server.properties");
  const log4jPath = join(home, "log4j2.properties");
  writeFileSync(propertiesPath, serverProperties(dataDir, brokerPort, controllerPort));
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
      return true;
    });
  } catch (error) {
    await supervised.stop();
    throw error;
  } finally {
    await admin.disconnect();
  }
  return { bootstrapServer, ports: [brokerPort, controllerPort], process: supervised };
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints). */
function clusterId(): string {
  for (;;) {
    const id = crypto.getRandomValues(Buffer.alloc(16)).toString("base64url");
    // The storage tool's argument parser would read a leading "-" as an option.
    if (!id.startsWith("-")) return id;
  }
}
