import { resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";

/**
 * parseArgs with a usage message instead of a stack trace on a wrong flag, and the usage on
 * stdout with exit 0 for --help or -h. The options named in `paths` are files or folders the
 * user named: relative ones are taken from where the user ran npm (INIT_CWD), not from the
 * repository root npm runs scripts in.
 */
export function parseCliArgs<Options extends NonNullable<ParseArgsConfig["options"]>>(
  options: Options,
  usage: string,
  paths: readonly (keyof Options & string)[] = [],
) {
  const given = process.argv.slice(2);
  if (given.includes("--help") || given.includes("-h")) {
    process.stdout.write(`usage:\n${usage}\n`);
    process.exit(0);
  }
  try {
    const values = parseArgs({ options, allowPositionals: false, strict: true }).values;
    const base = process.env.INIT_CWD ?? process.cwd();
    const record = values as Record<string, unknown>;
    for (const name of paths) {
      const value = record[name];
      if (typeof value === "string") record[name] = resolve(base, value);
    }
    return values;
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

/**
 * Until a command has its own signal handling (its services up), Ctrl-C or SIGTERM exits at
 * once but through process.exit, so the exit hooks run: the engines started so far are signalled
 * and the run's folder removed (Node's default for a signal runs none). Returns the remover.
 */
export function exitOnSignalsWhileStarting(say: (line: string) => void): () => void {
  const exit = (signal: NodeJS.Signals) => {
    say(`${signal} while starting: stopping what has started`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", exit);
  process.on("SIGTERM", exit);
  return () => {
    process.off("SIGINT", exit);
    process.off("SIGTERM", exit);
  };
}
