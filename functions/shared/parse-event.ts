/**
 * A Lambda's event checked at the handler's boundary: a malformed event fails loudly, naming
 * every problem, instead of being handled as an empty or default one.
 */
import { z } from "zod";

type ErrorClass = new (message: string) => Error;

/**
 * `event` as `schema` reads it, or an error (`InvalidEvent`'s, by default Error) saying it is
 * not `what`, then each problem with its path (zod's prettifyError, a line each).
 */
export function parseEvent<Schema extends z.ZodType>(
  schema: Schema,
  event: unknown,
  what: string,
  InvalidEvent: ErrorClass = Error,
): z.output<Schema> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new InvalidEvent(`not ${what}:\n${z.prettifyError(parsed.error)}`);
}
