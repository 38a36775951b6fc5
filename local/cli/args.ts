import { type ParseArgsConfig, parseArgs } from "node:util";

/** parseArgs with a usage message instead of a stack trace on a wrong flag. */
export function parseCliArgs<Options extends NonNullable<ParseArgsConfig["options"]>>(
  options: Options,
  usage: string,
) {
  try {
    return parseArgs({ options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\nusage:\n${usage}\n`);
    process.exit(2);
  }
}

/**
 * Awaits a step a command cannot go on without (the engines starting, a venv installing); if it
 * fails, says so in one sentence and exits 1, instead of Node's stack trace of an unhandled
 * rejection. `details` gets the error itself (the run's log file keeps its stack).
 */
export async function orExit<T>(
  work: Promise<T>,
  say: (line: string) => void,
  what: string,
  details?: (error: Error) => void,
): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    details?.(failure);
    say(`${what}: ${failure.message}`);
    process.exit(1);
  }
}
