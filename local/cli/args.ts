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
