/**
 * The Fargate tasks (tasks/ingest, tasks/replay-feed) as ECS runs them: a process of their own,
 * configured by its environment alone (the test's own environment is not passed on), logging
 * one JSON object a line on stdout.
 */
import { inject } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { localAwsEnvironment } from "../../local/stack/aws-endpoint.js";
import { type CollectedProcess, spawnNode } from "./processes.js";
import { stackAws } from "./stack-clients.js";

export interface TaskProcess extends CollectedProcess {
  /** stdout and stderr, for a failure's message. */
  output(): string;
  /** The JSON log lines printed so far. */
  logs(): Record<string, unknown>[];
}

/** The JSON objects among the lines of `text` (a log), in order. */
export function jsonLogLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const running = new Set<TaskProcess>();

/**
 * Starts `entry` (run with tsx) with `env` and what any process needs (PATH), logging at INFO
 * (what the tests read). Started tasks are tracked until they exit: see {@link killLeftoverTasks}.
 */
export function spawnTask(
  entry: "tasks/ingest/main.ts" | "tasks/replay-feed/main.ts",
  env: Record<string, string>,
): TaskProcess {
  const started = spawnNode(["--import", "tsx", entry], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "INFO",
      ...env,
    },
  });
  const task: TaskProcess = {
    ...started,
    output: () => started.stdout() + started.stderr(),
    logs: () => jsonLogLines(started.stdout()),
  };
  running.add(task);
  void task.exited.then(() => running.delete(task));
  return task;
}

/** SIGKILLs every task {@link spawnTask} started that still runs (for an afterAll). */
export function killLeftoverTasks(): void {
  for (const task of running) task.child.kill("SIGKILL");
}

/**
 * Polls `condition` every `intervalMs` until it holds. Fails naming `what` and with the task's
 * output when the task exits first or `timeoutMs` passes.
 */
export async function waitForTask(
  task: TaskProcess,
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<void> {
  let exited = false;
  void task.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (exited) throw new Error(`the task exited before ${what}:\n${task.output()}`);
    if (Date.now() > deadline)
      throw new Error(`not within ${timeoutMs} ms: ${what}:\n${task.output()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The first log line of `task` with `message`, if there is one yet. */
export function logLine(task: TaskProcess, message: string): Record<string, unknown> | undefined {
  return task.logs().find((line) => line.message === message);
}

/**
 * The environment the ingest task definition gives the task on AWS, pointed at the shared local
 * stack instead (its broker without authentication, its moto, the template's topic and delivery
 * stream names), reading `feedUrl`.
 */
export function ingestTaskEnvironment(feedUrl: string): Record<string, string> {
  const stack = inject("stack");
  return {
    ...localAwsEnvironment(stackAws()),
    FEED_URL: feedUrl,
    KAFKA_BROKERS: stack.kafkaBootstrapServer,
    KAFKA_AUTH: "none",
    RSVP_TOPIC: stack.resources.topics.RsvpTopicName as string,
    DEAD_LETTER_TOPIC: stack.resources.topics.DeadLetterTopicName as string,
    DELIVERY_STREAM_NAME: stack.resources.deliveryStreams.RawDeliveryStream as string,
  };
}
