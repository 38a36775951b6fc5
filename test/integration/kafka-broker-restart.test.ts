/**
 * The local Kafka broker killed with SIGKILL and restarted in place (local/stack/kafka-broker.ts,
 * kill() and restart()), the first fault of the chaos suite (issue 14), with the clients the
 * pipeline uses: a kafkajs idempotent producer (acks all) and a kafkajs consumer group.
 *
 * What must hold, so that the suite's findings are about the pipeline and not about the stand-in:
 * - the broker comes back on the same bootstrap server, ports, data and cluster id, and a kill
 *   is not reported as its exit (the local stack would take that for a crash);
 * - the same producer instance, connected before the kill, gets a send made while the broker is
 *   down through after the restart, and goes on sending;
 * - nothing is lost or doubled: a consumer group reads every record exactly once;
 * - the group's committed offsets survive a second kill, and a new consumer of the group resumes
 *   at them; a port taken while the broker is down fails restart() with an error naming it.
 *
 * The broker is a private one (not the shared test stack's, which other files use). Timings are
 * printed, never asserted.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Admin, type Consumer, Kafka, type LogEntry, logLevel, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureKafkaJars } from "../../local/setup/kafka-jars.js";
import { runsDir } from "../../local/setup/paths.js";
import { type KafkaBroker, startKafkaBroker } from "../../local/stack/kafka-broker.js";
import { isPortFree } from "../../local/stack/ports.js";
import { INGEST_PRODUCER_CONFIG } from "../../tasks/ingest/renewable-producer.js";

const TOPIC = "broker-restart-it";
const PARTITIONS = 6;
const GROUP = "broker-restart-it-group";

/**
 * The clients' retry budget while the broker is down. A send whose connections all closed goes
 * through kafkajs's reconnect to a seed broker, retried with this client-level `retry`; when
 * those retries run out the send fails for good (KafkaJSNumberOfRetriesExceeded is not
 * retriable), however many retries the producer itself has (the idempotent producer's default
 * is unlimited, and this test keeps it). With these numbers the reconnects go on for about 55 s
 * (0.3 + 0.6 + 1.2 s, then 27 waits of 2 s), several times what a restart takes here (about
 * 12 s, most of it KRaft waiting out the killed broker's 9 s session). kafkajs's default
 * (5 retries, about 9 s) is shorter: with it, such a send fails just as the broker comes back.
 */
const RETRY = {
  retries: 30,
  initialRetryTime: 300,
  maxRetryTime: 2_000,
  factor: 0.2,
  multiplier: 2,
};

let runDir = "";
let broker: KafkaBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const consumers = new Set<Consumer>();
/** What kafkajs logged at ERROR: how the producer saw the broker go away. */
const clientErrors: LogEntry[] = [];
/** Every record value sent, in send order. */
const sent: string[] = [];
const timings: string[] = [];

beforeAll(async () => {
  const install = await ensureKafkaJars();
  mkdirSync(runsDir, { recursive: true });
  runDir = mkdtempSync(join(runsDir, "kafka-broker-restart-"));
  broker = await startKafkaBroker(install, runDir);
  kafka = new Kafka({
    clientId: "kafka-broker-restart-test",
    brokers: [broker.bootstrapServer],
    retry: RETRY,
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      clientErrors.push(entry);
    },
  });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  // The ingest task's producer settings (kafkajs's own producer: its recovery is what is tested).
  producer = kafka.producer(INGEST_PRODUCER_CONFIG);
  await producer.connect();
});

afterAll(async () => {
  if (timings.length > 0) process.stderr.write(`[kafka-broker-restart] ${timings.join("; ")}\n`);
  for (const consumer of consumers) await consumer.disconnect().catch(() => {});
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await broker?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

/** Sends `count` records with the next sequence numbers (keys spread them over the partitions). */
function send(count: number) {
  const values = Array.from({ length: count }, (_, i) => `record-${sent.length + i}`);
  sent.push(...values);
  return producer.send({
    topic: TOPIC,
    acks: -1,
    messages: values.map((value) => ({ key: value, value })),
  });
}

/** Whether a TCP connection to `port` is refused (nothing listens). */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

/** Kills the broker (SIGKILL), noting how long until its port refused connections (probed
 * every few ms meanwhile) and until kill() resolved. */
async function killBroker(label: string) {
  const port = Number(broker.bootstrapServer.split(":")[1]);
  const started = performance.now();
  let killFailed = false;
  const refused = (async () => {
    while (!killFailed) {
      if (await connectionRefused(port)) return performance.now() - started;
      await sleep(5);
    }
    return undefined;
  })();
  try {
    const exit = await broker.kill();
    const killedAfter = performance.now() - started;
    timings.push(
      `${label}: port refused after ${Math.round((await refused) ?? 0)} ms, kill() resolved after ${Math.round(killedAfter)} ms`,
    );
    return exit;
  } catch (error) {
    killFailed = true;
    throw error;
  }
}

async function restartBroker(label: string) {
  const started = performance.now();
  await broker.restart();
  timings.push(`${label}: healthy ${Math.round(performance.now() - started)} ms after restart()`);
}

/** Whether `promise` has settled, once every callback already queued has run. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  // setImmediate runs after the microtasks, so a settled promise's callback has run by then.
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** Per partition, the offset after its last record. */
async function endOffsets(): Promise<Map<number, string>> {
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  return new Map(offsets.map(({ partition, high }) => [partition, high]));
}

async function committedOffsets(): Promise<Map<number, string>> {
  const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return new Map((topic?.partitions ?? []).map(({ partition, offset }) => [partition, offset]));
}

/**
 * Runs a consumer of GROUP until it has received `expected` records and the group's commits
 * have reached the end of every partition; returns the values received, in arrival order.
 * `fromBeginning` applies only to partitions without a committed offset.
 */
async function consumeAll(expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: GROUP });
  consumers.add(consumer);
  const received: string[] = [];
  let enough: () => void = () => {};
  const gotEnough = new Promise<void>((resolve) => {
    enough = resolve;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push(message.value?.toString() ?? "");
      if (received.length >= expected) enough();
    },
  });
  await gotEnough;
  // kafkajs commits after each batch (autoCommit); the commits of the last batches may trail.
  const end = await endOffsets();
  for (;;) {
    const committed = await committedOffsets();
    if ([...end].every(([partition, high]) => committed.get(partition) === high)) break;
    await sleep(200);
  }
  await consumer.disconnect();
  consumers.delete(consumer);
  return received;
}

describe("the local Kafka broker killed (SIGKILL) and restarted in place", () => {
  const before = { bootstrapServer: "", ports: [] as number[], clusterId: "", pid: 0 };

  it("comes back on the same port and cluster id, and the same idempotent producer's send made while it was down lands", async () => {
    await send(300);
    await send(300);
    before.bootstrapServer = broker.bootstrapServer;
    before.ports = [...broker.ports];
    before.clusterId = (await admin.describeCluster()).clusterId;
    before.pid = broker.process.pid;

    const exit = await killBroker("first kill");
    expect(exit.code).toBe(137);
    for (const port of broker.ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
    // A kill on purpose is not the broker's exit: the local stack would report it as a crash.
    expect(await hasSettled(broker.process.exited)).toBe(false);

    // Issued while nothing listens; it must wait out the restart within the retry budget.
    const errorsBefore = clientErrors.length;
    const pendingSend = send(200);
    pendingSend.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    // The send has met the closed port (kafkajs logged it) before the broker comes back.
    while (clientErrors.length === errorsBefore) await sleep(20);
    expect(await hasSettled(pendingSend)).toBe(false);

    await restartBroker("first restart");
    expect(broker.bootstrapServer).toBe(before.bootstrapServer);
    expect(broker.ports).toEqual(before.ports);
    expect(broker.process.pid).not.toBe(before.pid);
    expect((await admin.describeCluster()).clusterId).toBe(before.clusterId);

    const metadata = await pendingSend;
    expect(metadata.every((partition) => partition.errorCode === 0)).toBe(true);
    timings.push(
      `kafkajs logged ${clientErrors.length - errorsBefore} errors while the broker was down, e.g. "${clientErrors[errorsBefore]?.log.message}"`,
    );
    // The same producer goes on: new batches after the restart, its sequence numbers accepted.
    await send(300);
    expect(await hasSettled(broker.process.exited)).toBe(false);
  });

  it("has every record exactly once for a consumer group", async () => {
    const end = await endOffsets();
    const inLog = [...end.values()].reduce((sum, high) => sum + Number(high), 0);
    // The log holds each record once (the idempotent producer's retries were not written twice)...
    expect(inLog).toBe(sent.length);
    expect(end.size).toBe(PARTITIONS);
    // ...and the group reads each once.
    const received = await consumeAll(sent.length);
    expect(received.length).toBe(sent.length);
    expect([...received].sort()).toEqual([...sent].sort());
  });

  it("keeps the group's committed offsets across a second kill, and a new consumer resumes at them", async () => {
    const committed = await committedOffsets();
    expect(committed).toEqual(await endOffsets());

    await killBroker("second kill");
    // Someone else binds the broker's port while it is down: restart() says which port, and
    // leaves the broker down for another try.
    const squatter = createServer();
    const port = Number(broker.bootstrapServer.split(":")[1]);
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    await expect(broker.restart()).rejects.toThrow(
      new RegExp(`port ${port} \\(PLAINTEXT\\) on 127\\.0\\.0\\.1 is still taken`),
    );
    await new Promise((resolve) => squatter.close(resolve));
    await restartBroker("second restart");
    expect((await admin.describeCluster()).clusterId).toBe(before.clusterId);

    expect(await committedOffsets()).toEqual(committed);
    const resumeFrom = sent.length;
    await send(120);
    // fromBeginning would replay everything if the commits were lost.
    const received = await consumeAll(120);
    expect(received.sort()).toEqual(sent.slice(resumeFrom).sort());
  });

  it("stop() ends the restarted JVM, and the broker's exit settles then", async () => {
    const pid = broker.process.pid;
    await broker.stop();
    expect(await hasSettled(broker.process.exited)).toBe(true);
    expect(() => process.kill(-pid, 0)).toThrow();
    for (const port of broker.ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
    await expect(broker.restart()).rejects.toThrow(/stopped/);
  });
});
