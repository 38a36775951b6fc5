/**
 * The ingest when the broker appended a Produce request and its answer was lost (a broker
 * killed between the two, a connection reset): the send fails although the records are on the
 * topic. The ingest sends them again, and the topic must end up with every message exactly once
 * and the ingest must go on: the idempotent producer's retry of the same records is recognised
 * by the broker as a duplicate. Found by the fault suite (broker-kill): the ingest re-sent the
 * failed records batched with newer ones, which the broker refuses for good
 * (OUT_OF_ORDER_SEQUENCE_NUMBER: same first sequence, another last), and the ingest stalled on
 * Kafka until the task was replaced.
 *
 * The producer here retries a send once, and both answers are lost: the send fails, as one
 * does on AWS when an error kafkajs does not retry escapes it (the ingest's producer retries
 * without limit, but its reconnect to the cluster gives up while a broker restarts). The broker
 * is the shared local one.
 */
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { afterAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../../functions/shared/backoff.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { deadLetterRaw } from "../../tasks/ingest/ingest.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { createTestTopics, endOffsets, recordsSince } from "../support/kafka-records.js";
import { lossyKafka } from "../support/lossy-kafka-socket.js";
import { stackAws, stackKafka } from "../support/stack-clients.js";
import { startStackIngest } from "../support/stack-ingest.js";

const stack = inject("stack");
const rsvpTopic = stack.resources.topics.RsvpTopicName as string;
const deadLetterTopic = stack.resources.topics.DeadLetterTopicName as string;
const firehose = new FirehoseClient(awsClientConfig(stackAws()));
afterAll(() => firehose.destroy());

describe("ingest: a Produce the broker appended and whose answer was lost", () => {
  it("sends the same records again, so the topic holds each message once and the ingest goes on", async () => {
    const messages = take(syntheticMessages({ seed: "lost-answer", malformedShare: 0.25 }), 600);
    const { kafka, lossy } = lossyKafka("ingest-lost-answer-test", [stack.kafkaBootstrapServer]);
    const reader = stackKafka("ingest-lost-answer-reader");
    const before = await endOffsets(reader, [rsvpTopic, deadLetterTopic]);
    const feed = await startReplayServer({
      source: () => messages.map((message) => message.text),
      pacing: { kind: "rate", perSecond: 300 },
    });
    // One retry: the send fails when its answer and its retry's are lost. Nothing here may end
    // the producer's session (renewal, tested below, would hide a send made unlike itself).
    const producer = ingestProducer(kafka, { retry: { retries: 1 } });
    await producer.connect();
    const failures: string[] = [];
    const ingest = startStackIngest({
      feedUrl: feed.url,
      parse: createRsvpParser(),
      producer,
      firehose,
      onSinkFailure: (sink, error) => failures.push(`${sink}: ${error.message}`),
    });
    try {
      // Some records through first, then a send's answers lost while the feed goes on: the records
      // received meanwhile queue behind the failed send.
      while (ingest.counters().produced < 100) await sleep(10);
      lossy.loseProduceAnswers(2, deadLetterTopic);
      await ingest.finished;
    } finally {
      await producer.disconnect();
      await feed.close();
    }

    expect(lossy.lost).toBe(2);
    expect(producer.renewals).toBe(0);
    expect(failures.length).toBeGreaterThan(0); // the lost answer was a failed send
    const got = await recordsSince(reader, before, 30_000);
    const valid = (records: { rsvpId: number; mtime: number }[]) =>
      records.map(({ rsvpId, mtime }) => `${rsvpId}:${mtime}`).sort();
    const sentValid = messages.filter((message) => message.kind !== "malformed");
    const onTopic = got.filter((record) => record.topic === rsvpTopic);
    expect(onTopic).toHaveLength(sentValid.length);
    expect(
      valid(onTopic.map((record) => JSON.parse(record.value) as { rsvpId: number; mtime: number })),
    ).toEqual(valid(sentValid));
    // Each malformed message's dead letter once: no copy on another partition, none dropped.
    const rawTexts = (texts: string[]) => texts.sort();
    expect(
      rawTexts(
        got
          .filter((record) => record.topic === deadLetterTopic)
          .map((record) => (JSON.parse(record.value) as { raw: string }).raw),
      ),
    ).toEqual(
      rawTexts(
        messages
          .filter((message) => message.kind === "malformed")
          .map((message) => deadLetterRaw(message.text)),
      ),
    );
  });

  it("replaces a producer whose session the broker ended, so that sending goes on", async () => {
    const topic = "renewable-producer-it";
    const reader = stackKafka("renewable-producer-reader");
    await createTestTopics(reader, { [topic]: 1 });
    const before = await endOffsets(reader, [topic]);
    const { kafka, lossy } = lossyKafka("renewable-producer-test", [stack.kafkaBootstrapServer]);
    const renewed: string[] = [];
    const producer = ingestProducer(kafka, {
      retry: { retries: 1 },
      onRenewed: (why) => renewed.push(why),
    });
    await producer.connect();
    const send = (values: string[]) =>
      producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic, messages: values.map((value) => ({ key: "k", value })) }],
      });
    try {
      await send(["a"]);
      lossy.loseProduceAnswers(2);
      await expect(send(["b"])).rejects.toThrow(); // appended, both answers lost
      // Sent again unlike itself (the first sequence again, another last): the broker ends the
      // producer's session, as it does an id it expired.
      await expect(send(["b", "c"])).rejects.toThrow(/out of order sequence/);
      expect(renewed).toEqual(["OUT_OF_ORDER_SEQUENCE_NUMBER"]);
      await send(["b", "c"]);
      await send(["d"]);
    } finally {
      await producer.disconnect();
    }
    expect(producer.renewals).toBe(1);
    // b twice: appended under the ended session, sent again under the new one.
    const got = await recordsSince(reader, before, 30_000);
    expect(got.map((record) => record.value)).toEqual(["a", "b", "b", "c", "d"]);
  });
});
