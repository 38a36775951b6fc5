/**
 * Configuration is read once, at module load of a handler or task, from the environment, and
 * validated with zod: a missing or malformed variable stops the process at start with a message
 * naming every problem, instead of failing on the first record hours later.
 */
import type { z } from "zod";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function readConfig<Schema extends z.ZodType>(
  schema: Schema,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<Schema> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  // One line, not zod's prettifyError: a Fargate task's stderr reaches CloudWatch a line per
  // event, and "not set" says more than "expected string, received undefined".
  const problems = result.error.issues.map(
    (issue) =>
      `${issue.path.map(String).join(".")}: ${env[String(issue.path[0])] === undefined ? "not set" : issue.message}`,
  );
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}
