/**
 * What one city-counts batch costs on the local DynamoDB engine (moto): 100 synthetic records
 * read, planned and written exactly once, timing each read and each transaction. This is why
 * local counting is slower than the feed at high rates; DynamoDB itself is far faster.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type CountsStore, dynamoCountsStore } from "../functions/city-counts/counts-store.js";
import { processBatch } from "../functions/city-counts/process-batch.js";
import type { KafkaMessage } from "../functions/shared/msk-event.js";
import { createRsvpParser } from "../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../local/feed/synthetic/generator.js";
import { awsClientConfig } from "../local/stack/aws-endpoint.js";
import { startLocalStack } from "../local/stack/stack.js";

export async function run(print: (line: string) => void): Promise<void> {
  const stack = await startLocalStack({ kafka: false, aws: true });
  const dynamodb = new DynamoDBClient(awsClientConfig(stack.aws as NonNullable<typeof stack.aws>));
  try {
    const tableName = stack.resources.tables.CityCountsTable as string;
    const timings: { what: string; actions: number; ms: number }[] = [];
    const store = dynamoCountsStore(dynamodb, tableName);
    const timed: CountsStore = {
      ...store,
      applyTransaction: async (actions) => {
        const started = performance.now();
        const result = await store.applyTransaction(actions);
        timings.push({
          what: "transaction",
          actions: actions.length,
          ms: performance.now() - started,
        });
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
    for (let start = 0; start < messages.length; start += 100) {
      const started = performance.now();
      const result = await processBatch(messages.slice(start, start + 100), {
        store: timed,
        tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3_600,
      });
      const ms = performance.now() - started;
      print(
        `batch of 100 records: ${ms.toFixed(0)} ms, ${result.counted} counted, ${result.transactions} transactions (${(result.counted / (ms / 1000)).toFixed(0)} records/s)`,
      );
    }
    const perAction = timings.map((t) => t.ms / t.actions);
    print(
      `moto TransactWriteItems: ${timings.length} transactions of ${Math.min(...timings.map((t) => t.actions))}-${Math.max(...timings.map((t) => t.actions))} actions took ${Math.min(...timings.map((t) => t.ms)).toFixed(0)}-${Math.max(...timings.map((t) => t.ms)).toFixed(0)} ms, ${Math.min(...perAction).toFixed(1)}-${Math.max(...perAction).toFixed(1)} ms per action`,
    );
  } finally {
    dynamodb.destroy();
    await stack.stop();
  }
}
