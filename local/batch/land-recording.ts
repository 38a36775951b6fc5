/**
 * Lands a recorded feed in the raw bucket the way the ingest task does: every line through the
 * ingest's parser, the valid records through its Firehose writer. For `npm run batch --input`,
 * which curates a recording without running Kafka and the streaming half.
 */
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { createArrivalClock } from "../../tasks/ingest/arrival-clock.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { recordLine } from "../../tasks/ingest/ingest.js";
import { jsonlLines } from "../feed/jsonl.js";
import { type AwsEndpoint, awsClientConfig } from "../stack/aws-endpoint.js";

export interface Landed {
  lines: number;
  records: number;
  rejected: Record<string, number>;
}

export async function landRecording(
  file: string,
  aws: AwsEndpoint,
  deliveryStreamName: string,
  progress: (line: string) => void,
): Promise<Landed> {
  const firehose = new FirehoseClient(awsClientConfig(aws));
  const write = createFirehoseWriter({ client: firehose, deliveryStreamName });
  const parse = createRsvpParser();
  const arrival = createArrivalClock();
  const landed: Landed = { lines: 0, records: 0, rejected: {} };
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await write(pending);
    landed.records += pending.length;
    pending = [];
  };
  try {
    // A line too long to read whole is what the parser rejects as too large, unread.
    const tooLong = () => {
      landed.lines++;
      landed.rejected.too_large = (landed.rejected.too_large ?? 0) + 1;
    };
    for await (const line of jsonlLines(file, { onOversized: tooLong })) {
      landed.lines++;
      const result = parse(line);
      if (result.ok) pending.push(recordLine(result.record, arrival()));
      else
        landed.rejected[result.rejection.reason] =
          (landed.rejected[result.rejection.reason] ?? 0) + 1;
      if (pending.length >= 500) await flush();
      if (landed.lines % 20_000 === 0) progress(`landing ${file}: ${landed.lines} lines`);
    }
    await flush();
  } finally {
    firehose.destroy();
  }
  return landed;
}
