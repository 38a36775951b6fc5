/**
 * What the pipeline holds, set against what the feed delivered, by the README's counting rule:
 * the books each fault is judged by. Counts come from the table (every row) and, for the rows
 * the page shows, from the counts API, which must agree with it; the raw landing from the raw
 * bucket's objects; dead letters from the dead-letter topic.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Kafka } from "kafkajs";
import { type CityCount, PARTITION_CACHE_MS } from "../../functions/counts-api/top-cities.js";
import { sleep } from "../../functions/shared/backoff.js";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import { deadLetterRaw } from "../../tasks/ingest/ingest.js";
import { countsByRule, type RuleRecord } from "../../test/support/counting-rule.js";
import { recordsSince } from "../../test/support/kafka-records.js";
import { type DayCount, dayCounts } from "../pipeline/day-counts.js";
import type { FeedMessage } from "./feed-server.js";

export interface Ledger {
  /** RSVPs the rule counts that the table does not (summed over day rows). */
  rsvpsLost: number;
  /** RSVPs the table counts beyond the rule. */
  rsvpsCountedTwice: number;
  /** Day rows whose yes, no or guests differ from the rule although their RSVPs agree. */
  rowsWrong: number;
  /** Valid messages delivered by the feed whose (rsvpId, mtime) is nowhere in the raw bucket. */
  rawLost: number;
  /** Raw records of an (rsvpId, mtime) beyond the copies the feed delivered of it. */
  rawDuplicated: number;
  /**
   * Malformed messages delivered without their dead letter on the topic, text by text (a copy
   * of one dead letter does not stand in for another that is missing).
   */
  deadLettersLost: number;
  /** Rows where the counts API and the table disagree. */
  apiDisagreements: number;
  rsvps: number;
}

export interface LedgerSources {
  parse: RsvpParser;
  dynamodb: DynamoDBClient;
  tableName: string;
  s3: S3Client;
  rawBucket: string;
  kafka: Kafka;
  deadLetterTopic: string;
  /** Raw objects read before (object key → its records' keys): objects never change. */
  rawSeen: Map<string, string[]>;
  /** GET of the counts API: `?country=..&day=..&limit=100` → its JSON. */
  countsApi: (query: string) => Promise<{ cities: CityCount[] }>;
}

const rowKey = (row: Pick<DayCount, "day" | "country" | "state" | "city">) =>
  `${row.day}|${row.country}|${row.state ?? ""}|${row.city}`;

export async function takeLedger(
  delivered: readonly FeedMessage[],
  sources: LedgerSources,
): Promise<Ledger> {
  const records: RuleRecord[] = [];
  /** (rsvpId:mtime) → copies the feed delivered (a feed re-sends some messages verbatim). */
  const validKeys = new Map<string, number>();
  const malformedTexts: string[] = [];
  for (const message of delivered) {
    const result = sources.parse(message.text);
    if (!result.ok) {
      malformedTexts.push(message.text);
      continue;
    }
    const { rsvpId, mtime, response, guests, city } = result.record;
    records.push({ rsvpId, mtime, response, guests, city });
    const key = `${rsvpId}:${mtime}`;
    validKeys.set(key, (validKeys.get(key) ?? 0) + 1);
  }
  const rule = countsByRule(records);
  const expected = new Map<string, DayCount>();
  for (const row of rule.counts.values()) if (row.day !== "all") expected.set(rowKey(row), row);
  const actual = new Map(
    (await dayCounts(sources.dynamodb, sources.tableName)).map((row) => [rowKey(row), row]),
  );

  let rsvpsLost = 0;
  let rsvpsCountedTwice = 0;
  let rowsWrong = 0;
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key);
    const have = actual.get(key);
    const wanted = want?.rsvps ?? 0;
    const had = have?.rsvps ?? 0;
    if (had < wanted) rsvpsLost += wanted - had;
    if (had > wanted) rsvpsCountedTwice += had - wanted;
    if (
      had === wanted &&
      (want?.yes !== have?.yes || want?.no !== have?.no || want?.guests !== have?.guests)
    )
      rowsWrong += 1;
  }

  // The counts API, as the page asks it: every day and country the rule has, top 100 cities.
  // Asked once its answers kept from the run (a container keeps a partition's ranking as long
  // as an answer's max-age) have expired: what it says now must be the table.
  await sleep(PARTITION_CACHE_MS);
  let apiDisagreements = 0;
  const queries = new Set<string>();
  for (const row of expected.values()) queries.add(`${row.country}|${row.day}`);
  for (const query of queries) {
    const [country, day] = query.split("|") as [string, string];
    const answer = await sources.countsApi(`country=${country}&day=${day}&limit=100`);
    for (const city of answer.cities) {
      const have = actual.get(rowKey({ day, country, state: city.state, city: city.city }));
      if (
        !have ||
        have.rsvps !== city.rsvps ||
        have.yes !== city.yes ||
        have.no !== city.no ||
        have.guests !== city.guests
      )
        apiDisagreements += 1;
    }
  }

  const landed = await rawKeys(sources.s3, sources.rawBucket, sources.rawSeen);
  let rawLost = 0;
  let rawDuplicated = 0;
  for (const [key, sent] of validKeys) {
    const copies = landed.get(key) ?? 0;
    if (copies === 0) rawLost += 1;
    rawDuplicated += Math.max(0, copies - sent);
  }

  // What the ingest puts in a dead letter of each malformed message, and what the topic holds.
  const expectedLetters = new Map<string, number>();
  for (const text of malformedTexts) {
    const raw = deadLetterRaw(text);
    expectedLetters.set(raw, (expectedLetters.get(raw) ?? 0) + 1);
  }
  const held = new Map<string, number>();
  for (const record of await recordsSince(
    sources.kafka,
    new Map([[sources.deadLetterTopic, new Map()]]),
  )) {
    const raw = (JSON.parse(record.value) as { raw: string }).raw;
    held.set(raw, (held.get(raw) ?? 0) + 1);
  }
  let deadLettersLost = 0;
  for (const [raw, sent] of expectedLetters)
    deadLettersLost += Math.max(0, sent - (held.get(raw) ?? 0));
  return {
    rsvpsLost,
    rsvpsCountedTwice,
    rowsWrong,
    rawLost,
    rawDuplicated,
    deadLettersLost,
    apiDisagreements,
    rsvps: rule.rsvps,
  };
}

/** (rsvpId:mtime) → copies, over every record Firehose landed in the raw bucket. */
async function rawKeys(
  s3: S3Client,
  bucket: string,
  seen: Map<string, string[]>,
): Promise<Map<string, number>> {
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken }));
    for (const object of page.Contents ?? []) {
      if (!object.Key || seen.has(object.Key)) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const text = (await body.Body?.transformToString()) ?? "";
      const keys: string[] = [];
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const { rsvpId, mtime } = JSON.parse(line) as { rsvpId?: number; mtime?: number };
        if (rsvpId !== undefined) keys.push(`${rsvpId}:${mtime}`);
      }
      seen.set(object.Key, keys);
    }
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  const copies = new Map<string, number>();
  for (const keys of seen.values())
    for (const key of keys) copies.set(key, (copies.get(key) ?? 0) + 1);
  return copies;
}

/** Records on a topic: the sum of its partitions' end offsets (nothing is deleted locally). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  return (await topicEnds(kafka, topic)).records;
}

/**
 * Whether `topic` holds more than `size` records and a tick to each partition: a restarted
 * ingest sends every partition a tick when it starts (functions/shared/partition-tick.ts), and
 * those are no RSVPs reaching Kafka again.
 */
export async function grewPastTicks(kafka: Kafka, topic: string, size: number): Promise<boolean> {
  const { records, partitions } = await topicEnds(kafka, topic);
  return records > size + partitions;
}

async function topicEnds(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return {
      records: offsets.reduce((sum, partition) => sum + Number(partition.high), 0),
      partitions: offsets.length,
    };
  } finally {
    await admin.disconnect();
  }
}
