/**
 * The date range of a daily-batch run, as the workflow passes it (`range`): "yesterday", "all",
 * "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD". Resolved the same way as the Spark job does
 * (spark/curate_rsvps.py parse_range): "yesterday" is the UTC day before the execution started,
 * not before the moment a step runs, so a run that crosses midnight reads one consistent day.
 */

export type BatchRange =
  | { all: true }
  | {
      all: false;
      /** First day, YYYY-MM-DD (UTC). */
      first: string;
      /** Last day, inclusive. */
      last: string;
    };

/**
 * Days after its mtime's day that a record may land in the raw bucket, which Firehose files by
 * arrival: a run reads its range's landing days and this many after. The Spark job's
 * LANDING_LAG_DAYS (spark/curate_rsvps.py), whose comment says why; a test holds them equal.
 */
export const LANDING_LAG_DAYS = 2;

export class InvalidBatchRangeError extends Error {
  override readonly name = "InvalidBatchRangeError";
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function isCalendarDay(text: string): boolean {
  if (!DAY.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

export function resolveBatchRange(range: string, asOf: Date): BatchRange {
  if (range === "all") return { all: true };
  if (range === "yesterday") {
    if (Number.isNaN(asOf.getTime())) throw new InvalidBatchRangeError("the as-of time is invalid");
    const day = new Date(asOf.getTime() - 86_400_000).toISOString().slice(0, 10);
    return { all: false, first: day, last: day };
  }
  const parts = range.split("..");
  const first = parts[0] ?? "";
  const last = parts[1] ?? first;
  if (parts.length > 2 || !isCalendarDay(first) || !isCalendarDay(last)) {
    throw new InvalidBatchRangeError(
      `range must be yesterday, all, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, not ${JSON.stringify(range)}`,
    );
  }
  if (last < first) throw new InvalidBatchRangeError(`range ends before it starts: ${range}`);
  return { all: false, first, last };
}

export function inBatchRange(range: BatchRange, day: string): boolean {
  return range.all || (day >= range.first && day <= range.last);
}
