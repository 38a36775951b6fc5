/**
 * The local on-failure destination of the city-counts event source: a batch whose retries are
 * spent becomes one JSON object in the local CountsFailedBatchesBucket, as Lambda writes one to
 * the bucket on AWS (the batch's records and why), so it can be read and replayed the same way.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { MskEvent } from "../../functions/shared/msk-event.js";

export function failedBatchesBucket(
  s3: S3Client,
  bucket: string,
): (event: MskEvent, error: Error) => Promise<string> {
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
