/**
 * The local stack: the real engines the pipeline runs on locally (a Kafka broker, the moto AWS
 * emulator), started on free ports, health-checked, provisioned from template.yaml, and stopped
 * without leaving a process or a port behind.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureKafkaJars } from "../setup/kafka-jars.js";
import { runsDir } from "../setup/paths.js";
import { ensurePythonVenv } from "../setup/python-venv.js";
import { type AwsEndpoint, LOCAL_REGION, localAwsEnvironment } from "./aws-endpoint.js";
import { type KafkaBroker, startKafkaBroker } from "./kafka-broker.js";
import { type MotoServer, startMotoServer } from "./moto-server.js";
import {
  type LocalResources,
  localResourceNames,
  provisionAwsResources,
  provisionKafkaTopics,
} from "./provision.js";
import type { SupervisedProcess } from "./supervised-process.js";
import { functionEnvironment, loadTemplateModel, type TemplateModel } from "./template-model.js";

export interface LocalStackOptions {
  kafka?: boolean;
  aws?: boolean;
  /** Progress lines for people ("Kafka broker ready on ..."). */
  progress?: (line: string) => void;
  /** Keep the run directory (engine logs, Kafka data) after stop, for debugging. */
  keepRunDir?: boolean;
}

export interface LocalStack {
  model: TemplateModel;
  resources: LocalResources;
  /** `127.0.0.1:<port>` of the Kafka broker, when started. */
  kafkaBootstrapServer: string | undefined;
  /** The moto endpoint, when started. */
  aws: AwsEndpoint | undefined;
  runDir: string;
  processes: SupervisedProcess[];
  ports: number[];
  /**
   * Settles with an error when an engine exits while the stack is up (it never settles after
   * stop()). The stack does not stop itself: its owner decides, usually by calling stop().
   */
  crashed: Promise<Error>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { kafka: withKafka = true, aws: withAws = true, progress = () => {} } = options;
  const model = loadTemplateModel();
  mkdirSync(runsDir, { recursive: true });
  const runDir = mkdtempSync(join(runsDir, `${new Date().toISOString().replace(/[:.]/g, "-")}-`));

  const [kafkaInstall] = await Promise.all([
    withKafka ? ensureKafkaJars() : undefined,
    withAws ? ensurePythonVenv() : undefined,
  ]);

  let broker: KafkaBroker | undefined;
  let moto: MotoServer | undefined;
  const started: SupervisedProcess[] = [];
  let stopping = false;
  let engineCrashed = false;
  const removeRunDir = () => {
    // After a crash the logs are what the user needs: the crash message points into them.
    if (!options.keepRunDir && !engineCrashed) rmSync(runDir, { recursive: true, force: true });
  };
  // An exit without stop() still signals the engines (supervised-process.ts) and drops their data.
  process.once("exit", removeRunDir);
  const stop = async () => {
    stopping = true;
    await Promise.all(started.map((engine) => engine.stop()));
    removeRunDir();
    process.off("exit", removeRunDir);
  };

  try {
    const startKafka = async () => {
      if (!kafkaInstall) return;
      progress(`starting Kafka ${kafkaInstall.version} (KRaft, single node)...`);
      broker = await withRetries(
        () => startKafkaBroker(kafkaInstall, runDir),
        (line) => progress(`Kafka: ${line}`),
      );
      // The broker's process view, not one JVM: stop() ends a restarted JVM too, and a kill()
      // for a fault test is not reported as a crash (see KafkaBroker.process).
      started.push(broker.process);
      await provisionKafkaTopics(model, broker.bootstrapServer);
      progress(
        `Kafka ready on ${broker.bootstrapServer}; topics ${model.topics.map((t) => t.name).join(", ")}`,
      );
    };
    const startAws = async () => {
      if (!withAws) return;
      progress("starting moto (S3, DynamoDB, Firehose)...");
      moto = await withRetries(
        () => startMotoServer(runDir),
        (line) => progress(`moto: ${line}`),
      );
      started.push(moto.process);
      await provisionAwsResources(model, { endpoint: moto.endpoint, region: LOCAL_REGION });
      progress(
        `moto ready on ${moto.endpoint}; ${model.tables.length} table(s), ${model.buckets.length} bucket(s), ${model.deliveryStreams.length} delivery stream(s)`,
      );
    };
    // allSettled: when one engine fails, the other must finish starting before stop() can stop it.
    const results = await Promise.allSettled([startKafka(), startAws()]);
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  } catch (error) {
    await stop();
    throw error;
  }

  const crashed = new Promise<Error>((resolve) => {
    for (const engine of started) {
      void engine.exited.then(({ code, signal }) => {
        if (stopping) return;
        engineCrashed = true;
        resolve(
          new Error(
            `${engine.name} exited unexpectedly (${signal ?? `code ${code}`}); its log (${engine.logPath}) ends:\n${engine.logTail(15)}`,
          ),
        );
      });
    }
  });

  const ports = [...(broker?.ports ?? []), ...(moto ? [moto.port] : [])];
  return {
    model,
    resources: localResourceNames(model),
    kafkaBootstrapServer: broker?.bootstrapServer,
    aws: moto ? { endpoint: moto.endpoint, region: LOCAL_REGION } : undefined,
    runDir,
    processes: started,
    ports,
    crashed,
    stop,
  };
}

/**
 * Free ports are picked, released, then bound by the engine: another process can take one in
 * between. An engine that fails to start is stopped by its starter, so trying again is safe.
 */
async function withRetries<T>(
  start: () => Promise<T>,
  retrying: (line: string) => void,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts) throw error;
      retrying(
        `${(error as Error).message.split("\n")[0]}; trying again (${attempt + 1} of ${attempts})`,
      );
    }
  }
}

/**
 * Sets the environment template.yaml gives `functionId` (resources by their local names,
 * parameters at their defaults) and points the AWS SDK at the stack's moto, so the function's
 * handler, imported after this, runs here with exactly the settings it gets on AWS.
 */
export function useFunctionEnvironment(
  stack: Pick<LocalStack, "resources" | "aws">,
  functionId: string,
): void {
  const { tables, buckets, deliveryStreams } = stack.resources;
  Object.assign(
    process.env,
    functionEnvironment(functionId, { ...tables, ...buckets, ...deliveryStreams }),
    stack.aws ? localAwsEnvironment(stack.aws) : {},
  );
}
