/**
 * A Kafka cluster of two brokers, as MSK's smallest (one per Availability Zone): node 1 is broker
 * and KRaft controller, node 2 a broker only, so node 2 can be killed without losing the
 * controller quorum and its partitions' leadership moves to node 1. For the one test that needs
 * leadership to move (test/integration/kafka-two-brokers.test.ts); the pipeline's local stack
 * keeps its single broker (local/stack/kafka-broker.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import type { KafkaInstall } from "../../local/setup/kafka-jars.js";
import { clusterId, LOG4J2 } from "../../local/stack/kafka-broker-config.js";
import { freePorts } from "../../local/stack/ports.js";
import { type SupervisedProcess, startSupervised } from "../../local/stack/supervised-process.js";

export interface TwoBrokerCluster {
  bootstrapServers: string[];
  /** SIGKILLs node 2's JVM; resolves when it has exited. */
  killNodeTwo(): Promise<void>;
  stop(): Promise<void>;
}

function properties(options: {
  nodeId: 1 | 2;
  dataDir: string;
  brokerPort: number;
  controllerPort: number;
}): string {
  const controller = options.nodeId === 1;
  return `${[
    `process.roles=${controller ? "broker,controller" : "broker"}`,
    `node.id=${options.nodeId}`,
    `controller.quorum.voters=1@127.0.0.1:${options.controllerPort}`,
    controller
      ? `listeners=PLAINTEXT://127.0.0.1:${options.brokerPort},CONTROLLER://127.0.0.1:${options.controllerPort}`
      : `listeners=PLAINTEXT://127.0.0.1:${options.brokerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${options.brokerPort}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${options.dataDir}`,
    "auto.create.topics.enable=false",
    // MSK's settings on two Availability Zones (Developer Guide, "Default Amazon MSK
    // configuration"): replication factor 2, min.insync.replicas 1.
    "offsets.topic.replication.factor=2",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=2",
    "transaction.state.log.min.isr=1",
    "min.insync.replicas=1",
    "default.replication.factor=2",
    "group.initial.rebalance.delay.ms=0",
    // A killed broker is fenced, and its partitions led elsewhere, after 3 s instead of 9.
    "broker.session.timeout.ms=3000",
    "broker.heartbeat.interval.ms=500",
  ].join("\n")}\n`;
}

export async function startTwoBrokerCluster(
  install: KafkaInstall,
  runDir: string,
): Promise<TwoBrokerCluster> {
  const home = mkdtempSync(join(runDir, "kafka-two-"));
  const [port1, controllerPort, port2] = (await freePorts(3)) as [number, number, number];
  const id = clusterId();
  const classPath = join(install.libDir, "*");
  const log4j = join(home, "log4j2.properties");
  writeFileSync(log4j, LOG4J2);
  const jvm = ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", `-Dlog4j2.configurationFile=${log4j}`];
  const nodes: SupervisedProcess[] = [];
  const start = (nodeId: 1 | 2, brokerPort: number) => {
    const dataDir = join(home, `data-${nodeId}`);
    mkdirSync(dataDir, { recursive: true });
    const propertiesPath = join(home, `server-${nodeId}.properties`);
    writeFileSync(propertiesPath, properties({ nodeId, dataDir, brokerPort, controllerPort }));
    const format = spawnSync(
      "java",
      [
        ...jvm,
        "-cp",
        classPath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        id,
        "-c",
        propertiesPath,
      ],
      { encoding: "utf8" },
    );
    if (format.status !== 0) throw new Error(`formatting node ${nodeId}: ${format.stderr}`);
    nodes.push(
      startSupervised({
        name: `kafka-${nodeId}`,
        command: "java",
        args: [...jvm, "-cp", classPath, "kafka.Kafka", propertiesPath],
        logPath: join(home, `broker-${nodeId}.log`),
      }),
    );
  };
  const bootstrapServers = [`127.0.0.1:${port1}`, `127.0.0.1:${port2}`];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    start(1, port1);
    start(2, port2);
    const admin = new Kafka({
      clientId: "two-broker-health",
      brokers: bootstrapServers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.clusterId === id && cluster.brokers.length === 2) break;
      } catch {
        await admin.disconnect();
      }
      if (Date.now() > deadline) throw new Error("the two-broker cluster did not come up in 120 s");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await admin.disconnect();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    bootstrapServers,
    killNodeTwo: async () => {
      await nodes[1]?.kill("SIGKILL");
    },
    stop,
  };
}
