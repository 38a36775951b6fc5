/**
 * Test support for the Spark tests: raw Meetup messages (JSONL) in, the normalized records the
 * ingest lands through Firehose out (NDJSON), by the ingest's own parser. Rejected lines are
 * left out, as the ingest sends them to the dead-letter topic instead.
 *
 *   node --import tsx spark/tests/normalize_feed.ts IN.jsonl OUT.ndjson
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write("usage: normalize_feed.ts IN.jsonl OUT.ndjson\n");
  process.exit(2);
}
const parse = createRsvpParser();
const records: string[] = [];
for (const line of readFileSync(input, "utf8").split("\n")) {
  if (line === "") continue;
  const result = parse(line);
  if (result.ok) records.push(JSON.stringify(result.record));
}
writeFileSync(output, `${records.join("\n")}\n`);
process.stdout.write(`${records.length}\n`);
