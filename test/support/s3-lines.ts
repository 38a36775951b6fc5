/** What Firehose landed: the lines of every object of a bucket, read back through S3. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

/**
 * Every non-empty line of every object in `bucket` (the first page of the listing, 1,000
 * objects), objects in listing order: Firehose writes newline-delimited records.
 */
export async function bucketLines(s3: S3Client, bucket: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const bodies = await Promise.all(
    (listed.Contents ?? []).map(
      async ({ Key }) =>
        (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString() ??
        "",
    ),
  );
  return bodies.join("").split("\n").filter(Boolean);
}
