/**
 * Whether anything has landed for a daily-batch run to curate, asked before its EMR cluster is
 * created. Without it, a run for days nobody fed (a stack whose ingest has not run yet, an
 * ingest down from the range's first day until the run, a date typed wrong by a year) paid for
 * a cluster and failed ten minutes later inside Spark ("Path does not exist" on an empty raw
 * folder) or in the clustering step, with a cause that did not say the data was missing. It
 * looks where the Spark step reads, the range's days and the two after them (late records land
 * there), so an object of those later days lets the run go on even when none holds a record
 * of the range: that run still fails at its clustering step (NoVenuesInRangeError).
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { type BatchRange, LANDING_LAG_DAYS } from "../shared/batch-range.js";

export class NoRawDataInRangeError extends Error {
  override readonly name = "NoRawDataInRangeError";
}

/** Where Firehose lands the raw stream: `<prefix>dt=YYYY-MM-DD/...` in `bucket`. */
export interface RawLanding {
  bucket: string;
  /** The folder of the day folders, ending in "/" (template.yaml: `rsvps/`). */
  prefix: string;
}

/**
 * The landing days a run reads (spark/curate_rsvps.py read_raw): its range's days and
 * LANDING_LAG_DAYS after, as Firehose files a record by its arrival, not its mtime. Null for
 * "all", which reads every day.
 */
export function landingDays(range: BatchRange): { first: string; last: string } | null {
  if (range.all) return null;
  const last = new Date(Date.parse(`${range.last}T00:00:00Z`) + LANDING_LAG_DAYS * 86_400_000);
  return { first: range.first, last: last.toISOString().slice(0, 10) };
}

/** A key's day folder under the raw folder: `dt=YYYY-MM-DD/` and a name after it. */
const DAY_FOLDER = /^dt=(\d{4}-\d{2}-\d{2})\/./;
/** Keys a listing page asks for: a page nearly always ends the search at its first key. */
const PAGE_KEYS = 100;

/**
 * The first raw object that landed on one of the run's landing days, or null. Day folders sort
 * by date, so the listing starts right after `dt=<first day>` and ends at the first key in a
 * day folder: it falls within the days, or nothing does. Keys that are not in a day folder
 * (nothing Firehose writes) are passed over.
 */
export async function firstLandedObject(
  s3: S3Client,
  raw: RawLanding,
  range: BatchRange,
): Promise<string | null> {
  const days = landingDays(range);
  const dayFolders = `${raw.prefix}dt=`;
  let continuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: raw.bucket,
        Prefix: dayFolders,
        // Every key of a day folder sorts after the folder's name without its "/".
        ...(days ? { StartAfter: `${dayFolders}${days.first}` } : {}),
        MaxKeys: PAGE_KEYS,
        ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
      }),
    );
    for (const { Key: key } of page.Contents ?? []) {
      const day =
        key === undefined ? undefined : DAY_FOLDER.exec(key.slice(raw.prefix.length))?.[1];
      if (key === undefined || day === undefined) continue;
      if (days === null || (day >= days.first && day <= days.last)) return key;
      if (day > days.last) return null;
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
  return null;
}

/** Refuses a range nothing landed for, with the folder and days it looked in. */
export async function requireRawData(
  s3: S3Client,
  raw: RawLanding,
  range: BatchRange,
): Promise<string> {
  const found = await firstLandedObject(s3, raw, range);
  if (found !== null) return found;
  const days = landingDays(range);
  const where = `s3://${raw.bucket}/${raw.prefix}`;
  throw new NoRawDataInRangeError(
    days
      ? `no raw RSVPs landed in ${where} on ${days.first}..${days.last} (the range and the ${LANDING_LAG_DAYS} days after it, when late records land): nothing to curate, so no cluster was created`
      : `no raw RSVPs landed in ${where} at all: nothing to curate, so no cluster was created`,
  );
}
