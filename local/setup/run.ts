/** Running a setup command while showing its progress, one prefixed line at a time. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Which output lines to show as progress; all others are kept for the error message only. */
  show?: (line: string) => boolean;
  prefix: string;
}

/** Runs `command`, streaming the lines `show` selects; rejects with the output's tail on failure. */
export function runWithProgress(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (options.show?.(line) ?? true) {
        const shown = line.length > 140 ? `${line.slice(0, 137)}...` : line;
        process.stderr.write(`${options.prefix} ${shown}\n`);
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else {
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${tail.join("\n")}`));
      }
    });
  });
}

/** Prints a setup step's start and end with its duration, so first runs never look hung. */
export async function setupStep<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  process.stderr.write(`[setup] ${name}...\n`);
  const result = await work();
  process.stderr.write(
    `[setup] ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return result;
}
