/**
 * An S3 client that answers ListObjectsV2 from a list of keys the way S3 does (keys in UTF-8
 * binary order, `Prefix`, `StartAfter`, `MaxKeys`), for unit tests of code that looks for
 * objects. The same code runs against moto's S3 in test/integration/batch-range.test.ts.
 */
import type { ListObjectsV2CommandInput, S3Client } from "@aws-sdk/client-s3";

/** `keys`: the bucket's keys, or a function of the request that gives them. */
export function listingS3(
  keys: string[] | ((input: ListObjectsV2CommandInput) => string[]),
): S3Client & { requests: ListObjectsV2CommandInput[] } {
  const requests: ListObjectsV2CommandInput[] = [];
  const send = async (command: { constructor: { name: string }; input: unknown }) => {
    if (command.constructor.name !== "ListObjectsV2Command")
      throw new Error(`listingS3 answers ListObjectsV2 only, not ${command.constructor.name}`);
    const input = command.input as ListObjectsV2CommandInput;
    requests.push(input);
    const all = typeof keys === "function" ? keys(input) : keys;
    const matching = [...all]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((key) => key.startsWith(input.Prefix ?? ""))
      .filter((key) => input.StartAfter === undefined || key > input.StartAfter);
    const contents = matching.slice(0, input.MaxKeys ?? 1000).map((Key) => ({ Key }));
    return { Contents: contents.length > 0 ? contents : undefined, KeyCount: contents.length };
  };
  return { send, requests } as unknown as S3Client & { requests: ListObjectsV2CommandInput[] };
}
