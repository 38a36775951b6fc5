/**
 * The DynamoDB side of the counts: reading RSVP states, applying planned transactions, keeping
 * dead letters. The client is passed in, so tests and local runs point it at moto.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { isTransientAwsError, UnprocessedItemsError } from "../shared/aws-errors.js";
import { backoffPause } from "../shared/backoff.js";
import { itemKeys, type PoisonRecord, type StoredState, storedStateOf } from "./counting.js";

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
const MAX_UNPROCESSED_ROUNDS = 8;

export interface CountsStore {
  /** The stored states of these RSVPs (strongly consistent); absent ones are not in the map. */
  readStates(rsvpIds: number[]): Promise<Map<number, StoredState>>;
  /**
   * "conflict" when another writer got in the way: a state item's version changed since it
   * was read (ConditionalCheckFailed), or a concurrent transaction held one of the items
   * (TransactionConflict). Either way nothing was applied, and re-reading is the answer.
   */
  applyTransaction(actions: TransactWriteItem[]): Promise<"applied" | "conflict">;
  /**
   * Keeps a dead letter per poison record, and tells how many were not kept before: a batch the
   * topic delivers again brings its poison records again, and their letters are not new.
   */
  putDeadLetters(poison: PoisonRecord[], nowMs: number, ttlSeconds: number): Promise<number>;
}

type ItemKey = Record<"pk" | "sk", { S: string }>;

export function dynamoCountsStore(client: DynamoDBClient, tableName: string): CountsStore {
  /** The items of these keys (strongly consistent), in 100-key calls, held-back keys again. */
  async function readItems(
    keys: ItemKey[],
    projection?: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> },
  ) {
    const items: Record<string, AttributeValue>[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) {
      let pending = keys.slice(i, i + BATCH_GET_LIMIT);
      for (let round = 0; pending.length > 0; round++) {
        if (round === MAX_UNPROCESSED_ROUNDS)
          throw new UnprocessedItemsError("DynamoDB kept keys unprocessed");
        if (round > 0) await backoff(round);
        const result = await client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ConsistentRead: true,
                ...(projection ?? {}),
              },
            },
          }),
        );
        items.push(...(result.Responses?.[tableName] ?? []));
        pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as ItemKey[];
      }
    }
    return items;
  }

  return {
    async readStates(rsvpIds) {
      const states = new Map<number, StoredState>();
      const keys = [...new Set(rsvpIds)].map((rsvpId) => {
        const key = itemKeys.rsvp(rsvpId);
        return { pk: { S: key.pk }, sk: { S: key.sk } };
      });
      for (const item of await readItems(keys)) {
        const stored = storedStateOf(item);
        if (stored === null) {
          // Only this code writes these items: one it cannot read is a fault to look at, not a
          // record to skip (the batch fails and goes to the on-failure destination).
          throw new Error(`unreadable RSVP state item ${item.pk?.S ?? "(no key)"}`);
        }
        states.set(stored.state.rsvpId, stored);
      }
      return states;
    },

    async applyTransaction(actions) {
      try {
        await client.send(new TransactWriteItemsCommand({ TransactItems: actions }));
        return "applied";
      } catch (error) {
        // Throttled, beside a conflict or not: the transient path, which waits before the batch
        // runs again (and re-reads), where the quick conflict retries would run out first.
        if (isTransientAwsError(error)) throw error;
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        if (
          reasons.some(
            (reason) =>
              reason.Code === "ConditionalCheckFailed" || reason.Code === "TransactionConflict",
          )
        )
          return "conflict";
        throw error;
      }
    },

    async putDeadLetters(poison, nowMs, ttlSeconds) {
      if (poison.length === 0) return 0;
      const keys = poison.map((letter) => {
        const key = itemKeys.deadLetter(letter.source);
        return { pk: { S: key.pk }, sk: { S: key.sk } };
      });
      // The key alone, by an alias: an expression may not name a DynamoDB reserved word
      // (Developer Guide, "Reserved words in DynamoDB"), and the alias needs no list of them.
      const projection = { ProjectionExpression: "#pk", ExpressionAttributeNames: { "#pk": "pk" } };
      const keptBefore = (await readItems(keys, projection)).length;
      const expiresAt = String(Math.floor(nowMs / 1000) + ttlSeconds);
      for (let i = 0; i < poison.length; i += BATCH_WRITE_LIMIT) {
        // Keyed by topic-partition@offset: a redelivered poison record overwrites its own entry.
        let pending = poison.slice(i, i + BATCH_WRITE_LIMIT).map((letter) => {
          const key = itemKeys.deadLetter(letter.source);
          return {
            PutRequest: {
              Item: {
                pk: { S: key.pk },
                sk: { S: key.sk },
                reason: { S: letter.reason },
                detail: { S: letter.detail },
                raw: { S: letter.raw },
                deadLetteredAt: { N: String(nowMs) },
                expiresAt: { N: expiresAt },
              },
            },
          };
        });
        for (let round = 0; pending.length > 0; round++) {
          if (round === MAX_UNPROCESSED_ROUNDS)
            throw new UnprocessedItemsError("DynamoDB kept dead letters unprocessed");
          if (round > 0) await backoff(round);
          const result = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      }
      return poison.length - keptBefore;
    },
  };
}

const backoff = (round: number) => backoffPause(round, { baseMs: 25, capMs: 1000 });
