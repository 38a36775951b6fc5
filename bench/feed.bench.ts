/**
 * How fast the feed side runs on one core: the synthetic generator, the RSVP parser (the
 * ingest's per-message cost), and the replay server pushing frames to a local client.
 */
import WebSocket from "ws";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../local/feed/synthetic/generator.js";
import { take } from "../local/feed/synthetic/sample.js";
import { startReplayServer } from "../tasks/replay-feed/replay-server.js";
import { throughput } from "./machine.js";

export async function run(print: (line: string) => void): Promise<void> {
  const lines = take(syntheticLines({ seed: "bench", malformedShare: 0.02 }), 20_000);
  const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);

  const generate = throughput(() => {
    let n = 0;
    for (const _ of syntheticLines({ seed: "bench-gen" })) if (++n === 5000) break;
    return n;
  });
  print(
    `synthetic generator: ${Math.round(generate.perSecond).toLocaleString("en-US")} messages/s`,
  );

  const parse = createRsvpParser();
  const parsed = throughput(() => {
    for (const line of lines) parse(line);
    return lines.length;
  });
  print(
    `parse (zod + normalization + HMAC): ${Math.round(parsed.perSecond).toLocaleString("en-US")} messages/s, ${((parsed.perSecond * bytes) / lines.length / 2 ** 20).toFixed(1)} MiB/s (avg ${Math.round(bytes / lines.length)} bytes/message)`,
  );

  const server = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
  const started = performance.now();
  const received = await new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(server.url);
    let count = 0;
    socket.on("message", () => {
      count += 1;
    });
    socket.on("close", () => resolve(count));
    socket.on("error", reject);
  });
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  print(
    `replay server -> ws client on loopback (asap): ${Math.round(received / seconds).toLocaleString("en-US")} frames/s (${received} frames)`,
  );
}
