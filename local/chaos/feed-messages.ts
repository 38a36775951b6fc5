/**
 * What the fault suite's feed plays: a seeded synthetic feed with the real feed's flaws, or the
 * lines of a recording.
 */
import { syntheticMessages } from "../feed/synthetic/generator.js";
import { Random } from "../feed/synthetic/random.js";
import type { FeedMessage } from "./feed-server.js";

/** The seeded feed: synthetic RSVPs with updates, malformed messages and exact duplicates. */
export function chaosFeedMessages(seed: number, count: number): FeedMessage[] {
  const random = new Random(`chaos-duplicates-${seed}`);
  const messages: FeedMessage[] = [];
  const generator = syntheticMessages({
    seed: `chaos-${seed}`,
    startTime: Date.UTC(2026, 0, 1, 23, 50),
    meanIntervalMs: 400,
    updateShare: 0.15,
    malformedShare: 0.03,
  });
  while (messages.length < count) {
    const next = generator.next();
    if (next.done) break;
    const { text, mtime } = next.value;
    messages.push({ text, mtime });
    // An exact duplicate of a recent message, as feeds re-send.
    if (random.next() < 0.03 && messages.length < count) {
      const earlier = messages[Math.max(0, messages.length - 1 - Math.floor(random.next() * 20))];
      if (earlier) messages.push({ ...earlier });
    }
  }
  return messages;
}

/** Lines of a recording as feed messages; a line without an mtime takes its predecessor's. */
export function asFeedMessages(lines: readonly string[]): FeedMessage[] {
  let mtime = 0;
  return lines.map((text) => {
    mtime = Number(/"mtime"\s*:\s*(\d+)/.exec(text)?.[1] ?? mtime);
    return { text, mtime };
  });
}
