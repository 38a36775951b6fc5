/**
 * The ingest (tasks/ingest/ingest.ts) on the integration project's shared local stack: its RSVP
 * and dead-letter topics, Firehose into its raw delivery stream, a recording played once.
 */
import type { FirehoseClient } from "@aws-sdk/client-firehose";
import { inject } from "vitest";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { type Ingest, type IngestOptions, startIngest } from "../../tasks/ingest/ingest.js";

export function startStackIngest(
  options: Pick<
    IngestOptions,
    "feedUrl" | "parse" | "producer" | "onSinkFailure" | "partitionTicks"
  > & {
    firehose: FirehoseClient;
  },
): Ingest {
  const { firehose, ...ingestOptions } = options;
  const { resources } = inject("stack");
  return startIngest({
    ...ingestOptions,
    rsvpTopic: resources.topics.RsvpTopicName as string,
    deadLetterTopic: resources.topics.DeadLetterTopicName as string,
    writeFirehose: createFirehoseWriter({
      client: firehose,
      deliveryStreamName: resources.deliveryStreams.RawDeliveryStream as string,
    }),
    reconnectAfterNormalClose: false,
  });
}
