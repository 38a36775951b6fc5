import type { SupervisedProcess } from "./supervised-process.js";

/**
 * Polls `check` until it returns true. Fails early, with the engine's last log lines, when the
 * engine exits while starting, and after `timeoutMs` with the last error seen.
 */
export async function waitUntil(
  what: string,
  engine: SupervisedProcess,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void engine.exited.then(() => {
    exited = true;
  });
  let lastError = "";
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(
        `${what} exited while starting; its log (${engine.logPath}) ends:\n${engine.logTail()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${what} was not ready after ${timeoutMs / 1000} s (${lastError}); log ${engine.logPath}:\n${engine.logTail()}`,
  );
}
