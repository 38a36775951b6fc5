/**
 * The DynamoDB side of the counts: reading RSVP states and counter fences, applying planned
 * single-item writes, keeping dead letters. The client is passed in, so tests and local runs
 * point it at moto.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { isTransientAwsError, UnprocessedItemsError } from "../shared/aws-errors.js";
import { backoffPause } from "../shared/backoff.js";
import {
  type Fences,
  fencesOfItem,
  type ItemKey,
  itemKeys,
  keyId,
  type PoisonRecord,
  type StoredState,
  storedStateOf,
  type UnsettledBatch,
  unsettledBatchOf,
  type WriteAction,
} from "./counting.js";

/**
 * The counting's DynamoDB client settings. Up to ten attempts per call (the SDK's standard
 * strategy: full jitter, 0.1 s doubling up to 20 s) while the client's retry quota lasts (a
 * timeout costs 10 of its 500 tokens, so a hang spends it within a few rounds of a batch's
 * parallel writes). A request that hangs (an endpoint that accepts and never answers) ends
 * after 10 s, connecting included, as a `TimeoutError` (`throwOnRequestTimeout`: without it the
 * SDK's HTTP handler only logs a warning and waits on), so a failing run reaches its error
 * path, which records the batch's RSVPs, rather than the function's 60 s timeout, which ends
 * the run where it stands. 10 s, not less: moto, busy with a feed of 200 RSVPs/s on two cores,
 * took over 2 s to accept a connection (`npm run bench:stream`, 2026-12-07).
 */
export const COUNTS_DYNAMODB_CLIENT_CONFIG = {
  maxAttempts: 10,
  requestHandler: { requestTimeout: 10_000, throwOnRequestTimeout: true },
} as const;

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
const MAX_UNPROCESSED_ROUNDS = 8;
/** Single-item writes of one phase in flight at once. */
const WRITE_CONCURRENCY = 25;

/**
 * Per call: `abortSignal` ends the call's requests and retries where they stand (an
 * `AbortError`), so a run can stop before the function's timeout and still record its batch
 * (process-batch.ts).
 */
export interface StoreCallOptions {
  abortSignal?: AbortSignal;
}

export interface CountsStore {
  /** The stored states of these RSVPs (strongly consistent); absent ones are not in the map. */
  readStates(rsvpIds: number[], options?: StoreCallOptions): Promise<Map<number, StoredState>>;
  /** Per counter item, its fences (absent items have none). Strongly consistent. */
  readFences(keys: ItemKey[], options?: StoreCallOptions): Promise<Fences>;
  /**
   * Applies each single-item write (side by side) and tells, per write, "applied" or
   * "conflict": another writer got in the way (a state's version or a counter's fence changed
   * since it was read: ConditionalCheckFailed), and re-reading is the answer. Any other error
   * is thrown once every write of the call has ended.
   */
  applyWrites(
    actions: WriteAction[],
    onOutcome?: (index: number, outcome: WriteOutcome) => void,
    options?: StoreCallOptions,
  ): Promise<WriteOutcome[]>;
  /** The partition's records of failed batches (unsettledWrites), strongly consistent. */
  readUnsettled(tp: string, options?: StoreCallOptions): Promise<UnsettledBatch[]>;
  /** Deletes those records once a run has taken every change their states hold. */
  forgetUnsettled(tp: string, batches: UnsettledBatch[], options?: StoreCallOptions): Promise<void>;
  /**
   * Keeps a dead letter per poison record, and tells how many were not kept before: a batch the
   * topic delivers again brings its poison records again, and their letters are not new.
   */
  putDeadLetters(
    poison: PoisonRecord[],
    nowMs: number,
    ttlSeconds: number,
    options?: StoreCallOptions,
  ): Promise<number>;
}

export type WriteOutcome = "applied" | "conflict";

type KeyAttributes = Record<"pk" | "sk", { S: string }>;

export function dynamoCountsStore(client: DynamoDBClient, tableName: string): CountsStore {
  /** The items of these keys (strongly consistent), in 100-key calls, held-back keys again. */
  async function readItems(
    keys: KeyAttributes[],
    options: StoreCallOptions = {},
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
          options,
        );
        items.push(...(result.Responses?.[tableName] ?? []));
        pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as KeyAttributes[];
      }
    }
    return items;
  }

  return {
    async readStates(rsvpIds, options) {
      const states = new Map<number, StoredState>();
      const keys = [...new Set(rsvpIds)].map((rsvpId) => {
        const key = itemKeys.rsvp(rsvpId);
        return { pk: { S: key.pk }, sk: { S: key.sk } };
      });
      for (const item of await readItems(keys, options)) {
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

    async readFences(keys, options) {
      const fences = new Map<string, Map<string, number>>();
      const unique = [...new Map(keys.map((key) => [keyId(key), key])).values()];
      const items = await readItems(
        unique.map((key) => ({ pk: { S: key.pk }, sk: { S: key.sk } })),
        options,
      );
      for (const item of items) {
        fences.set(keyId({ pk: item.pk?.S ?? "", sk: item.sk?.S ?? "" }), fencesOfItem(item));
      }
      return fences;
    },

    async readUnsettled(tp, options) {
      const batches: UnsettledBatch[] = [];
      const { pk } = itemKeys.unsettled(tp, "");
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": "pk" },
            ExpressionAttributeValues: { ":pk": { S: pk } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
          options,
        );
        for (const item of page.Items ?? []) {
          const batch = unsettledBatchOf(item);
          // Only this code writes these items, as with states: one it cannot read is a fault.
          if (batch === null)
            throw new Error(`unreadable unsettled-batch item ${pk} ${item.sk?.S}`);
          batches.push(batch);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return batches;
    },

    async forgetUnsettled(tp, batches, options) {
      await Promise.all(
        batches.map(({ sk }) => {
          const key = itemKeys.unsettled(tp, sk);
          return client.send(
            new DeleteItemCommand({
              TableName: tableName,
              Key: { pk: { S: key.pk }, sk: { S: key.sk } },
            }),
            options,
          );
        }),
      );
    },

    async applyWrites(actions, onOutcome, options) {
      const results: WriteOutcome[] = [];
      const failures: unknown[] = [];
      for (let i = 0; i < actions.length; i += WRITE_CONCURRENCY) {
        const outcomes = await Promise.allSettled(
          actions
            .slice(i, i + WRITE_CONCURRENCY)
            .map((action) =>
              action.Put
                ? client.send(new PutItemCommand(action.Put), options)
                : client.send(
                    new UpdateItemCommand(action.Update as NonNullable<WriteAction["Update"]>),
                    options,
                  ),
            ),
        );
        outcomes.forEach((outcome, j) => {
          if (
            outcome.status === "rejected" &&
            !(outcome.reason instanceof ConditionalCheckFailedException)
          ) {
            failures.push(outcome.reason);
            return;
          }
          const result: WriteOutcome = outcome.status === "fulfilled" ? "applied" : "conflict";
          results.push(result);
          onOutcome?.(i + j, result);
        });
        if (failures.length > 0) break;
      }
      // A throttle or an outage beside a conflict: the transient path, which waits before the
      // batch runs again (and re-reads), where the quick conflict retries would run out first.
      const transient = failures.find(isTransientAwsError);
      if (transient !== undefined) throw transient;
      if (failures.length > 0) throw failures[0];
      return results;
    },

    async putDeadLetters(poison, nowMs, ttlSeconds, options) {
      if (poison.length === 0) return 0;
      const keys = poison.map((letter) => {
        const key = itemKeys.deadLetter(letter.source);
        return { pk: { S: key.pk }, sk: { S: key.sk } };
      });
      // The key alone, by an alias: an expression may not name a DynamoDB reserved word
      // (Developer Guide, "Reserved words in DynamoDB"), and the alias needs no list of them.
      const projection = { ProjectionExpression: "#pk", ExpressionAttributeNames: { "#pk": "pk" } };
      const keptBefore = (await readItems(keys, options, projection)).length;
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
            options,
          );
          pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      }
      return poison.length - keptBefore;
    },
  };
}

const backoff = (round: number) => backoffPause(round, { baseMs: 25, capMs: 1000 });
