/**
 * The pipeline's own processes in the fault suite, run as AWS runs them, for faults to stop:
 * the ingest task as its ECS service keeps it (one task at a time; a task that exits on its own
 * is replaced), and the city-counts handler behind the local event source (counting-worker.ts),
 * whose progress through each batch is followed line by line so that a kill can land mid-batch.
 */

import { sleep } from "../../functions/shared/backoff.js";
import { type NodeProcess, startNodeProcess } from "./node-process.js";

type Exit = Awaited<NodeProcess["exited"]>;

export interface IngestService {
  /**
   * Stops the running task with `signal` (on purpose: not replaced as a task that exited on its
   * own) and starts the next; after any change already in progress, as ECS replaces one task at
   * a time. Resolves with the stopped task's exit.
   */
  replace(signal: NodeJS.Signals): Promise<Exit>;
  /** What the service did on its own since the last call: tasks that exited and were replaced. */
  takeNotes(): string[];
  /** Kills the task, and replaces none from now on. */
  stop(): Promise<Exit>;
}

export function startIngestService(options: {
  env: Record<string, string>;
  logPath: string;
}): IngestService {
  const notes: string[] = [];
  let closing = false;
  const onPurpose = new WeakSet<NodeProcess>();
  const run = (): NodeProcess => {
    const task = startNodeProcess({
      name: "ingest",
      script: "tasks/ingest/main.ts",
      logPath: options.logPath,
      env: options.env,
    });
    void task.exited.then(async (exit) => {
      if (closing || onPurpose.has(task) || current !== task) return;
      notes.push(`ingest exited ${exit.signal ?? exit.code} on its own; replaced`);
      await sleep(1000);
      if (!closing && current === task) current = run();
    });
    return task;
  };
  let current = run();
  let turn: Promise<unknown> = Promise.resolve();
  return {
    replace(signal) {
      const change = turn.then(async () => {
        onPurpose.add(current);
        const exit = await current.signal(signal);
        current = run();
        return exit;
      });
      turn = change.catch(() => {});
      return change;
    },
    takeNotes: () => notes.splice(0),
    stop() {
      closing = true;
      return current.signal("SIGKILL");
    },
  };
}

export interface CountingWorker {
  /** Invocations begun and not yet returned. */
  readonly inBatch: number;
  /**
   * Calls of single-item writes that applied at least one write so far ({"event":"write"}), by
   * every worker process.
   */
  readonly writes: number;
  /** SIGKILLs the worker process and starts another. */
  restart(): Promise<void>;
  stop(): Promise<Exit>;
}

export function startCountingWorker(options: {
  env: Record<string, string>;
  logPath: string;
}): CountingWorker {
  let inBatch = 0;
  let writes = 0;
  const start = (): NodeProcess =>
    startNodeProcess({
      name: "counting",
      script: "local/chaos/counting-worker.ts",
      logPath: options.logPath,
      env: options.env,
      onLine: (line) => {
        if (!line.startsWith("{")) return;
        const event = (JSON.parse(line) as { event?: string }).event;
        if (event === "invoke") inBatch += 1;
        if (event === "write") writes += 1;
        if (event === "done" || event === "failed") inBatch = Math.max(0, inBatch - 1);
      },
    });
  let current = start();
  return {
    get inBatch() {
      return inBatch;
    },
    get writes() {
      return writes;
    },
    async restart() {
      await current.signal("SIGKILL");
      inBatch = 0;
      current = start();
    },
    stop: () => current.signal("SIGKILL"),
  };
}
