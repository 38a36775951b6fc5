/** The synthetic feed (local/feed/synthetic/) of given days, as a batch would find it landed. */
import { type SyntheticFeedOptions, syntheticLines } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";

/** The first `count` lines of the synthetic feed with `options`, its first mtime at 00:00 UTC of `day`. */
export function syntheticLinesFrom(
  day: string,
  count: number,
  options: Omit<SyntheticFeedOptions, "startTime">,
): string[] {
  return take(syntheticLines({ ...options, startTime: Date.parse(`${day}T00:00:00Z`) }), count);
}
