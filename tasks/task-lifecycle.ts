/**
 * What both Fargate tasks (ingest, replay-feed) do around their work: report every few seconds,
 * and stop once, on SIGTERM (ECS stopping the task), SIGINT, or a reason of the task's own.
 */
import type { Logger } from "@aws-lambda-powertools/logger";

export interface TaskLifecycle {
  logger: Logger;
  /** Called every `reportEverySeconds` until the task stops. */
  report: () => void;
  reportEverySeconds: number;
  /** What stopping does, for the log: "stopping: <this>". */
  stopping: string;
  /** Finishes the work and lets go of every client; resolves to the exit code. It calls
   * `stopReports` where the periodic reports should end: the ingest only after its drain, so a
   * task killed mid-drain (ECS's stop timeout) has still reported what it sent until then. */
  stop: (stopReports: () => void) => Promise<number>;
}

/** Starts the reports and listens for the signals; returns `shutdown(why)` for other reasons. */
export function manageTask({
  logger,
  report,
  reportEverySeconds,
  stopping,
  stop,
}: TaskLifecycle): (why: string) => void {
  const reporter = setInterval(report, reportEverySeconds * 1000);
  let stopped = false;
  const shutdown = async (why: string) => {
    if (stopped) return;
    stopped = true;
    logger.info(`stopping: ${stopping}`, { why });
    const code = await stop(() => clearInterval(reporter));
    clearInterval(reporter);
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return (why) => void shutdown(why);
}
