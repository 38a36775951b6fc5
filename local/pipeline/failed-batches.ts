/**
 * The local on-failure destination of the city-counts event source, as template.yaml names it
 * (CityCountsFailureDestination): a batch whose retries are spent goes to the local
 * CountsFailedBatchesBucket as one JSON object (its records and why), as Lambda writes one to
 * the bucket on AWS, or, record by record, to the local failed-records topic, as Lambda
 * produces failed records to a `kafka://` destination. Either way it can be read and replayed
 * as on AWS.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { IHeaders, Producer } from "kafkajs";
import type { MskEvent, MskRecord } from "../../functions/shared/msk-event.js";
import type { OnFailureDestination } from "../stack/template-model.js";

/** Sends a batch to the destination; answers where it went, for the terminal. */
export type SetAside = (event: MskEvent, error: Error) => Promise<string>;

/**
 * The header the local topic destination adds to each record: JSON of why and where from.
 * Lambda documents what it writes to a topic only as "the actual failed records along with
 * failure metadata" ("Using a Kafka topic as an on-failure destination"); this keeps each
 * record's key, value and headers and adds the metadata here. Its form on AWS is Lambda's.
 */
export const LOCAL_FAILURE_HEADER = "rsvp-atlas-failure";

export function failedBatchesBucket(s3: S3Client, bucket: string): SetAside {
  return async (event, error) => {
    const records = Object.values(event.records).flat();
    const first = records[0];
    const last = records.at(-1);
    const key = `failed-batches/${first?.topic}-${first?.partition}/${first?.offset}-${last?.offset}.json`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ContentType: "application/json",
        Body: JSON.stringify({
          requestContext: { condition: "RetryAttemptsExhausted", errorMessage: error.message },
          timestamp: new Date().toISOString(),
          payload: event,
        }),
      }),
    );
    return `s3://${bucket}/${key}`;
  };
}

/**
 * Each record of the batch, with its own key, value and headers, to `topic`, plus the failure
 * header. `producer` must be connected; acks from all in-sync replicas, as for the stream.
 */
export function failedRecordsTopic(producer: Producer, topic: string): SetAside {
  return async (event, error) => {
    const records = Object.values(event.records).flat();
    const failedAt = new Date().toISOString();
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((record) => ({
        key: decoded(record.key),
        value: decoded(record.value),
        headers: {
          ...originalHeaders(record),
          [LOCAL_FAILURE_HEADER]: JSON.stringify({
            condition: "RetryAttemptsExhausted",
            errorMessage: error.message,
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            failedAt,
          }),
        },
      })),
    });
    const first = records[0];
    const last = records.at(-1);
    return `kafka://${topic} (${records.length} record${records.length === 1 ? "" : "s"} of ${first?.topic}-${first?.partition}@${first?.offset}-${last?.offset})`;
  };
}

/** The destination template.yaml names, with the clients it needs. */
export function setAsideTo(
  destination: OnFailureDestination,
  clients: { s3: S3Client; producer: () => Promise<Producer>; buckets: Record<string, string> },
): SetAside {
  if (destination.kind === "s3") {
    const bucket = clients.buckets[destination.bucketLogicalId];
    if (!bucket) throw new Error(`no local bucket for ${destination.bucketLogicalId}`);
    return failedBatchesBucket(clients.s3, bucket);
  }
  // One producer, even when several partitions give up at once; asked again if it failed.
  let sending: Promise<SetAside> | undefined;
  return async (event, error) => {
    sending ??= clients.producer().then(
      (producer) => failedRecordsTopic(producer, destination.topic),
      (cause: unknown) => {
        sending = undefined;
        throw cause;
      },
    );
    return (await sending)(event, error);
  };
}

function decoded(base64: string | null | undefined): Buffer | null {
  return base64 == null ? null : Buffer.from(base64, "base64");
}

/** The MSK event's headers ([{name: bytes}]) as kafkajs takes them. */
function originalHeaders(record: MskRecord): IHeaders {
  const headers: Record<string, Buffer[]> = {};
  for (const header of record.headers ?? []) {
    for (const [name, bytes] of Object.entries(header)) {
      // A header without a value (null) is kept as an empty one.
      headers[name] = [...(headers[name] ?? []), Buffer.from(bytes ?? [])];
    }
  }
  return headers;
}
