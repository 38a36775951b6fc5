/**
 * What one city-counts batch costs on the local DynamoDB engine (moto): 100 synthetic records
 * read, planned and written exactly once, timing each read and each call of single-item writes
 * (a batch's state writes, then its day markers, then its counter writes; the store sends up to
 * 25 of a call side by side). This is why local counting is slower than the feed at high rates;
 * DynamoDB itself is far faster.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type CountsStore, dynamoCountsStore } from "../functions/city-counts/counts-store.js";
import { processBatch } from "../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../functions/shared/msk-event.js";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../local/feed/synthetic/generator.js";
import { awsClientConfig } from "../local/stack/aws-endpoint.js";
import { startLocalStack } from "../local/stack/stack.js";

const range = (values: number[], digits = 0) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

export async function run(print: (line: string) => void): Promise<void> {
  const stack = await startLocalStack({ kafka: false, aws: true });
  const dynamodb = new DynamoDBClient(awsClientConfig(stack.aws as NonNullable<typeof stack.aws>));
  try {
    const tableName = stack.resources.tables.CityCountsTable as string;
    const writes: { writes: number; ms: number }[] = [];
    const reads: { keys: number; ms: number }[] = [];
    const store = dynamoCountsStore(dynamodb, tableName);
    const timed: CountsStore = {
      ...store,
      readStates: async (rsvpIds, options) => {
        const started = performance.now();
        const result = await store.readStates(rsvpIds, options);
        reads.push({ keys: rsvpIds.length, ms: performance.now() - started });
        return result;
      },
      readFences: async (keys, options) => {
        const started = performance.now();
        const result = await store.readFences(keys, options);
        reads.push({ keys: keys.length, ms: performance.now() - started });
        return result;
      },
      applyWrites: async (actions, onOutcome, options) => {
        const started = performance.now();
        // The outcomes too: processBatch tallies what it applied by them.
        const result = await store.applyWrites(actions, onOutcome, options);
        // A batch whose days are marked calls with no marker: nothing sent, nothing timed.
        if (actions.length > 0)
          writes.push({ writes: actions.length, ms: performance.now() - started });
        return result;
      },
    };
    const parse = createRsvpParser();
    const messages: KafkaMessage[] = [];
    for (const line of syntheticLines({
      seed: "counts-bench",
      malformedShare: 0,
      startTime: Date.now(),
    })) {
      const result = parse(line);
      if (result.ok)
        messages.push({
          topic: "meetup",
          partition: 0,
          offset: messages.length,
          value: JSON.stringify(result.record),
        });
      if (messages.length === 300) break;
    }
    // One container: its day markers kept across batches, as the handler keeps them.
    const markedDays = new Set<string>();
    for (let start = 0; start < messages.length; start += 100) {
      const started = performance.now();
      const callsBefore = writes.length;
      const result = await processBatch(messages.slice(start, start + 100), {
        store: timed,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
        markedDays,
      });
      const ms = performance.now() - started;
      const written = writes.slice(callsBefore).reduce((sum, call) => sum + call.writes, 0);
      const markers = written - result.stateWrites - result.counterWrites;
      print(
        `batch of 100 records: ${ms.toFixed(0)} ms, ${result.counted} counted, ${written} single-item writes (${result.stateWrites} states, ${result.counterWrites} counters, ${markers} day markers), ${(ms / written).toFixed(1)} ms per write (${(result.counted / (ms / 1000)).toFixed(0)} records/s)`,
      );
    }
    const total = writes.reduce((sum, call) => sum + call.writes, 0);
    const totalMs = writes.reduce((sum, call) => sum + call.ms, 0);
    print(
      `moto PutItem/UpdateItem: ${total} writes in ${writes.length} calls of ${range(writes.map((t) => t.writes))} writes (up to 25 side by side) took ${range(writes.map((t) => t.ms))} ms a call, ${range(
        writes.map((t) => t.ms / t.writes),
        1,
      )} ms per write, ${(totalMs / total).toFixed(2)} on average`,
    );
    print(
      `moto BatchGetItem: ${reads.length} reads of states or counters' fences, ${range(reads.map((t) => t.keys))} keys, took ${range(reads.map((t) => t.ms))} ms`,
    );
  } finally {
    dynamodb.destroy();
    await stack.stop();
  }
}
