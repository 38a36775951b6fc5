// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's and Athena's own ${...} (Fn::Sub, storage.location.template) in plain strings.
/**
 * The Glue catalog in template.yaml describes the data as it really is, so Athena queries read
 * what the pipeline wrote:
 *
 * - the raw table's columns are the keys and types of the records the ingest sends to Firehose:
 *   stream messages through the ingest's own parser, serialized as the ingest serializes them,
 *   landed under the Firehose prefix of the template and read back from there;
 * - each curated table's columns are the schema of the Parquet that the real Spark job
 *   (spark/curate_rsvps.py, on local Spark, through the same local EMR step as the daily batch)
 *   wrote to the table's location;
 * - every location is where its writer writes, and partition projection is complete.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { parquetMetadataAsync, parquetSchema, type SchemaTree } from "hyparquet";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { EARLIEST_MTIME_MS } from "../../functions/shared/rsvp/stream-message.js";
import { deleteKeys, listKeys } from "../../local/batch/s3-folders.js";
import { runSparkStepLocally } from "../../local/batch/spark-step.js";
import { templatePath } from "../../local/setup/paths.js";
import { loadTemplateModel, readTemplate } from "../../local/stack/template-model.js";
import { recordLine } from "../../tasks/ingest/ingest.js";
import { stackS3 } from "../support/stack-clients.js";
import { syntheticLinesFrom } from "../support/synthetic-days.js";

const stack = inject("stack");
const s3 = stackS3();
const progress = (line: string) => process.stderr.write(`[glue test] ${line}\n`);

const templateFile = templatePath;
const template = readTemplate(templateFile);
const resources = Object.entries(template.Resources);

// --- Resolving the template's intrinsics the way CloudFormation would ---------------------------

/** Values of the names a `${...}` or `Ref` may use here: buckets are their local names. */
const PSEUDO = {
  "AWS::AccountId": "123456789012",
  "AWS::Region": stack.region,
  "AWS::Partition": "aws",
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::StackName": "rsvp-atlas",
};

function resolveValue(value: unknown, names: Record<string, string>, where: string): string {
  const lookup = (name: string) => {
    const found = names[name] ?? stack.resources.buckets[name];
    if (found === undefined) throw new Error(`${where}: cannot resolve ${name}`);
    return found;
  };
  if (typeof value === "string") return value;
  const intrinsic = value as Record<string, unknown> | null;
  if (typeof intrinsic?.Ref === "string") return lookup(intrinsic.Ref);
  const sub = intrinsic?.["Fn::Sub"];
  if (typeof sub === "string") {
    // `${!x}` is the literal `${x}` (Athena's own placeholders); `${X}` is a name.
    return sub.replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) =>
      bang ? `\${${name}}` : lookup(name),
    );
  }
  const join = intrinsic?.["Fn::Join"];
  if (Array.isArray(join) && typeof join[0] === "string") {
    return resolveList(join[1], names, where).join(join[0]);
  }
  const select = intrinsic?.["Fn::Select"];
  if (Array.isArray(select)) {
    const item = resolveList(select[1], names, where)[Number(select[0])];
    if (item === undefined) throw new Error(`${where}: Fn::Select out of range`);
    return item;
  }
  throw new Error(`${where}: cannot resolve ${JSON.stringify(value)}`);
}

function resolveList(value: unknown, names: Record<string, string>, where: string): string[] {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, names, where));
  const split = (value as Record<string, unknown> | null)?.["Fn::Split"];
  if (Array.isArray(split) && typeof split[0] === "string") {
    return resolveValue(split[1], names, where).split(split[0]);
  }
  throw new Error(`${where}: not a list: ${JSON.stringify(value)}`);
}

// --- The Glue tables the template declares ---------------------------------------------------------

interface GlueColumn {
  Name: string;
  Type: string;
}

interface GlueTable {
  logicalId: string;
  name: string;
  properties: Record<string, unknown>;
  tableType: unknown;
  parameters: Record<string, string>;
  partitionKeys: GlueColumn[];
  columns: GlueColumn[];
  /** `s3://bucket/prefix/`, buckets resolved to their local names. */
  location: string;
  inputFormat: unknown;
  outputFormat: unknown;
  serde: { SerializationLibrary?: unknown; Parameters?: Record<string, unknown> };
}

const glueTables: GlueTable[] = resources
  .filter(([, resource]) => resource.Type === "AWS::Glue::Table")
  .map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const input = (properties.TableInput ?? {}) as Record<string, unknown>;
    const storage = (input.StorageDescriptor ?? {}) as Record<string, unknown>;
    const names = { ...PSEUDO };
    return {
      logicalId,
      name: String(input.Name),
      properties,
      tableType: input.TableType,
      parameters: Object.fromEntries(
        Object.entries((input.Parameters ?? {}) as Record<string, unknown>).map(([key, value]) => [
          key,
          resolveValue(value, names, `${logicalId} ${key}`),
        ]),
      ),
      partitionKeys: (input.PartitionKeys ?? []) as GlueColumn[],
      columns: (storage.Columns ?? []) as GlueColumn[],
      location: resolveValue(storage.Location, names, `${logicalId} Location`),
      inputFormat: storage.InputFormat,
      outputFormat: storage.OutputFormat,
      serde: (storage.SerdeInfo ?? {}) as GlueTable["serde"],
    };
  });

function tableAt(location: string): GlueTable {
  const tables = glueTables.filter((table) => table.location === location);
  if (tables.length !== 1) {
    throw new Error(
      `expected one AWS::Glue::Table at ${location} in ${templateFile}, found ${tables.length} (${glueTables.map((t) => `${t.name} at ${t.location}`).join(", ") || "none"})`,
    );
  }
  return tables[0] as GlueTable;
}

/** Where the writers write, from the template: the Firehose prefix and the Spark step's URIs. */
const rawStream = loadTemplateModel(template).deliveryStreams.find(
  (stream) => stream.bucketLogicalId === "RawBucket",
);
const firehosePrefix = /^(.*?)([A-Za-z_]\w*)=!\{timestamp:([^}]+)\}\/$/.exec(
  rawStream?.prefix ?? "",
);
if (!rawStream || !firehosePrefix) {
  throw new Error(
    "the template's raw delivery stream needs a Prefix <folder>/<key>=!{timestamp:<format>}/",
  );
}
const [, rawFolder = "", rawPartitionKey = "", rawDayFormat = ""] = firehosePrefix;
const substitutions = (template.Resources.DailyBatchStateMachine?.Properties
  ?.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
const sparkInput = resolveValue(substitutions.RawDataUri, PSEUDO, "RawDataUri");
const sparkOutput = resolveValue(substitutions.CuratedDataUri, PSEUDO, "CuratedDataUri");
const rawBucket = stack.resources.buckets.RawBucket as string;
const curatedBucket = stack.resources.buckets.CuratedBucket as string;

// --- Hive types: parsed from Glue, derived from JSON values and from Parquet ----------------------

type HiveType =
  | { kind: "primitive"; name: string }
  | { kind: "array"; element: HiveType }
  | { kind: "map"; key: HiveType; value: HiveType }
  | { kind: "struct"; fields: { name: string; type: HiveType }[] };

/** One spelling per type: lower case, no spaces, struct fields by name (matched by name). */
function canonical(type: HiveType): string {
  switch (type.kind) {
    case "primitive":
      return type.name;
    case "array":
      return `array<${canonical(type.element)}>`;
    case "map":
      return `map<${canonical(type.key)},${canonical(type.value)}>`;
    case "struct":
      return `struct<${[...type.fields]
        .map((field) => `${field.name.toLowerCase()}:${canonical(field.type)}`)
        .sort()
        .join(",")}>`;
  }
}

/** A Glue column type (`struct<a:int,b:array<string>>`) as a tree; throws on a malformed one. */
function parseHiveType(text: string): HiveType {
  const tokens = text.match(/[A-Za-z_][A-Za-z0-9_]*(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?|[<>,:]|\S/g);
  if (!tokens) throw new Error(`empty type: ${text}`);
  let at = 0;
  const next = () => tokens[at++] ?? "";
  const expectToken = (token: string) => {
    const found = next();
    if (found !== token)
      throw new Error(`type ${text}: expected ${token}, found ${found || "end"}`);
  };
  const type = (): HiveType => {
    const name = next().toLowerCase().replace(/\s+/g, "");
    if (!/^[a-z_]/.test(name)) throw new Error(`type ${text}: unexpected ${name}`);
    if (name === "array") {
      expectToken("<");
      const element = type();
      expectToken(">");
      return { kind: "array", element };
    }
    if (name === "map") {
      expectToken("<");
      const key = type();
      expectToken(",");
      const value = type();
      expectToken(">");
      return { kind: "map", key, value };
    }
    if (name === "struct") {
      expectToken("<");
      const fields: { name: string; type: HiveType }[] = [];
      do {
        const fieldName = next();
        expectToken(":");
        fields.push({ name: fieldName, type: type() });
      } while (tokens[at] === "," && next());
      expectToken(">");
      return { kind: "struct", fields };
    }
    return { kind: "primitive", name };
  };
  const parsed = type();
  if (at !== tokens.length) throw new Error(`type ${text}: trailing ${tokens.slice(at).join("")}`);
  return parsed;
}

/** name → canonical type of Glue columns, names in lower case as Glue stores them. */
function declared(columns: GlueColumn[]): Record<string, string> {
  const entries = columns.map((column) => [
    column.Name.toLowerCase(),
    canonical(parseHiveType(column.Type)),
  ]);
  expect(new Set(entries.map(([name]) => name)).size, "duplicate column names").toBe(
    entries.length,
  );
  return Object.fromEntries(entries);
}

/** A JSON value's type; `null` where every value seen was null or an empty array's element. */
type Inferred = HiveType | null;

function inferJson(value: unknown, path: string): Inferred {
  if (value === null) return null;
  if (typeof value === "string") return { kind: "primitive", name: "string" };
  if (typeof value === "boolean") return { kind: "primitive", name: "boolean" };
  if (typeof value === "number") {
    return { kind: "primitive", name: Number.isInteger(value) ? "bigint" : "double" };
  }
  if (Array.isArray(value)) {
    const element = value.reduce<Inferred>(
      (merged, item) => mergeInferred(merged, inferJson(item, `${path}[]`), `${path}[]`),
      null,
    );
    return { kind: "array", element: element ?? { kind: "primitive", name: "?" } };
  }
  if (typeof value === "object") {
    return {
      kind: "struct",
      fields: Object.entries(value as Record<string, unknown>).map(([name, field]) => ({
        name,
        type: inferJson(field, `${path}.${name}`) ?? { kind: "primitive", name: "?" },
      })),
    };
  }
  throw new Error(`${path}: ${typeof value} is not JSON`);
}

const UNKNOWN = "?";
const isUnknown = (type: Inferred) =>
  type === null || (type.kind === "primitive" && type.name === UNKNOWN);

/** The type of a field over several records: nulls and empty arrays take the other's type. */
function mergeInferred(a: Inferred, b: Inferred, path: string): Inferred {
  if (isUnknown(a)) return b ?? a;
  if (isUnknown(b) || a === null || b === null) return a;
  if (a.kind === "primitive" && b.kind === "primitive") {
    if (a.name === b.name) return a;
    const numbers = new Set([a.name, b.name]);
    if (numbers.has("bigint") && numbers.has("double"))
      return { kind: "primitive", name: "double" };
  }
  if (a.kind === "array" && b.kind === "array") {
    const element = mergeInferred(a.element, b.element, `${path}[]`);
    return { kind: "array", element: element ?? a.element };
  }
  if (a.kind === "struct" && b.kind === "struct") {
    const fields = new Map(a.fields.map((field) => [field.name, field.type]));
    for (const field of b.fields) {
      const merged = mergeInferred(
        fields.get(field.name) ?? null,
        field.type,
        `${path}.${field.name}`,
      );
      fields.set(field.name, merged ?? field.type);
    }
    return { kind: "struct", fields: [...fields].map(([name, type]) => ({ name, type })) };
  }
  throw new Error(`${path}: ${canonical(a)} in one record, ${canonical(b)} in another`);
}

/** Paths whose type no record told (always null, or always an empty array). */
function unknownPaths(type: HiveType, path: string): string[] {
  if (type.kind === "primitive") return type.name === UNKNOWN ? [path] : [];
  if (type.kind === "array") return unknownPaths(type.element, `${path}[]`);
  if (type.kind === "map") return unknownPaths(type.value, `${path}{}`);
  return type.fields.flatMap((field) => unknownPaths(field.type, `${path}.${field.name}`));
}

/** The Hive type Athena reads a Parquet column as (physical type + logical/converted type). */
function hiveTypeOfParquet(node: SchemaTree): HiveType {
  const element = node.element;
  const logical = element.logical_type;
  const converted = element.converted_type;
  const decimal = (): HiveType => ({
    kind: "primitive",
    name: `decimal(${element.precision},${element.scale ?? 0})`,
  });
  const single = (children: SchemaTree[]): SchemaTree => {
    const [child] = children;
    if (!child || children.length !== 1) throw new Error(`${node.path.join(".")}: bad nesting`);
    return child;
  };
  if (node.children.length > 0 || element.num_children !== undefined) {
    if (logical?.type === "LIST" || converted === "LIST") {
      // Three levels (<list> repeated list { element }), or the legacy two.
      const repeated = single(node.children);
      const legacy =
        repeated.children.length !== 1 ||
        repeated.element.name === "array" ||
        repeated.element.name === `${element.name}_tuple`;
      return {
        kind: "array",
        element: hiveTypeOfParquet(legacy ? repeated : single(repeated.children)),
      };
    }
    if (logical?.type === "MAP" || converted === "MAP" || converted === "MAP_KEY_VALUE") {
      const entry = single(node.children);
      const [key, value] = entry.children;
      if (!key || !value) throw new Error(`${node.path.join(".")}: a map without key and value`);
      return { kind: "map", key: hiveTypeOfParquet(key), value: hiveTypeOfParquet(value) };
    }
    return {
      kind: "struct",
      fields: node.children.map((child) => {
        const type = hiveTypeOfParquet(child);
        return {
          name: child.element.name,
          // A bare repeated field outside a LIST is a list of its own.
          type:
            child.element.repetition_type === "REPEATED" ? { kind: "array", element: type } : type,
        };
      }),
    };
  }
  const primitive = (name: string): HiveType => ({ kind: "primitive", name });
  if (logical?.type === "DECIMAL" || converted === "DECIMAL") return decimal();
  switch (element.type) {
    case "BOOLEAN":
      return primitive("boolean");
    case "INT32":
      if (logical?.type === "DATE" || converted === "DATE") return primitive("date");
      if (logical?.type === "INTEGER" && logical.bitWidth === 8) return primitive("tinyint");
      if (logical?.type === "INTEGER" && logical.bitWidth === 16) return primitive("smallint");
      if (converted === "INT_8") return primitive("tinyint");
      if (converted === "INT_16") return primitive("smallint");
      return primitive("int");
    case "INT64":
      if (
        logical?.type === "TIMESTAMP" ||
        converted === "TIMESTAMP_MILLIS" ||
        converted === "TIMESTAMP_MICROS"
      ) {
        return primitive("timestamp");
      }
      return primitive("bigint");
    case "INT96":
      return primitive("timestamp");
    case "FLOAT":
      return primitive("float");
    case "DOUBLE":
      return primitive("double");
    case "BYTE_ARRAY":
      return logical?.type === "STRING" ||
        logical?.type === "ENUM" ||
        logical?.type === "JSON" ||
        converted === "UTF8" ||
        converted === "ENUM" ||
        converted === "JSON"
        ? primitive("string")
        : primitive("binary");
    default:
      return primitive("binary");
  }
}

/** The Hive type of a Spark SQL type as Spark writes it in the Parquet footer's row metadata. */
function hiveTypeOfSpark(type: unknown): HiveType {
  if (typeof type === "string") {
    const names: Record<string, string> = {
      string: "string",
      long: "bigint",
      integer: "int",
      short: "smallint",
      byte: "tinyint",
      double: "double",
      float: "float",
      boolean: "boolean",
      date: "date",
      timestamp: "timestamp",
      timestamp_ntz: "timestamp",
      binary: "binary",
    };
    const name = names[type] ?? (type.startsWith("decimal(") ? type : undefined);
    if (!name) throw new Error(`no Hive type for the Spark type ${type}`);
    return { kind: "primitive", name };
  }
  const complex = type as {
    type: string;
    elementType?: unknown;
    keyType?: unknown;
    valueType?: unknown;
    fields?: { name: string; type: unknown }[];
  };
  if (complex.type === "array")
    return { kind: "array", element: hiveTypeOfSpark(complex.elementType) };
  if (complex.type === "map") {
    return {
      kind: "map",
      key: hiveTypeOfSpark(complex.keyType),
      value: hiveTypeOfSpark(complex.valueType),
    };
  }
  return {
    kind: "struct",
    fields: (complex.fields ?? []).map((field) => ({
      name: field.name,
      type: hiveTypeOfSpark(field.type),
    })),
  };
}

// --- The data: records through the ingest's parser, landed; the Spark job run on them ------------

/** One day, so every table gets one partition; the fixture message's mtime is on it. */
const DAY = "2018-05-20";
const parse = createRsvpParser();
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/stream-message.json", import.meta.url), "utf8"),
) as Record<string, unknown> & {
  event: Record<string, unknown>;
  group: Record<string, unknown>;
};

/**
 * Stream messages: the fixture; the fixture without its optional parts (no venue, member,
 * visibility, state, event name, time and url, group position or topics), so those fields are
 * seen null too; and a few hundred messages of the synthetic feed (private venues, venues at
 * 0/0, updates).
 */
function streamMessages(): string[] {
  const bare = structuredClone(fixture);
  for (const key of ["venue", "member", "visibility"]) delete bare[key];
  for (const key of ["group_state", "group_lat", "group_lon"]) delete bare.group[key];
  for (const key of ["time", "event_name", "event_url"]) delete bare.event[key];
  Object.assign(bare, { rsvp_id: 1700000002 });
  Object.assign(bare.group, { group_country: "de", group_city: "Berlin", group_topics: [] });
  const synthetic = syntheticLinesFrom(DAY, 300, {
    seed: 23,
    meanIntervalMs: 30_000,
    malformedShare: 0,
  });
  return [JSON.stringify(fixture), JSON.stringify(bare), ...synthetic];
}

/** The raw objects this test lands, at Firehose's key layout for DAY. */
const rawDayPrefix = `${rawFolder}${rawPartitionKey}=${DAY}/`;
const recordsKey = `${rawDayPrefix}glue-catalog-test-records.gz`;
const unusableKey = `${rawDayPrefix}glue-catalog-test-unusable.gz`;

let workDir = "";
/** Table folder name → the Parquet files Spark wrote for DAY, read back from the curated bucket. */
const parquetFiles = new Map<string, ArrayBuffer[]>();
let sparkTables: string[] = [];
/** Table folder name → its partition folders (`date=2018-05-20`) in the local output. */
const sparkPartitions = new Map<string, string[]>();
/** The key prefix of a table's partition under the Spark step's --output. */
function curatedKeyPrefix(table: string, partition: string): string {
  const base = sparkOutput.replace(/^s3:\/\/[^/]+\/?/, "").replace(/([^/])$/, "$1/");
  return `${base}${table}/${partition}/`;
}
let landedRecords: unknown[] = [];

beforeAll(async () => {
  const lines: string[] = [];
  for (const message of streamMessages()) {
    const result = parse(message);
    if (!result.ok) throw new Error(`fixture rejected: ${result.rejection.detail}`);
    if (new Date(result.record.mtime).toISOString().startsWith(DAY)) {
      lines.push(recordLine(result.record, result.record.mtime * 1000)); // what the ingest sends
    }
  }
  expect(lines.length).toBeGreaterThan(200);
  const put = (Key: string, text: string) =>
    s3.send(new PutObjectCommand({ Bucket: rawBucket, Key, Body: gzipSync(`${text}\n`) }));
  await put(recordsKey, lines.join("\n"));
  // The ingest sends only records; the job still turns any unusable line into an errors row (a
  // future record version, another producer). Two such lines make it write that table too.
  await put(unusableKey, ['{"v":2,"rsvpId":1}', '{"v":1,"rsvpId":'].join("\n"));

  // Read back from the bucket, as landed.
  expect(await listKeys(s3, rawBucket, rawDayPrefix)).toContain(recordsKey);
  const object = await s3.send(new GetObjectCommand({ Bucket: rawBucket, Key: recordsKey }));
  const text = gunzipSync((await object.Body?.transformToByteArray()) ?? new Uint8Array()).toString(
    "utf8",
  );
  landedRecords = text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
  progress(`landed ${landedRecords.length} records under s3://${rawBucket}/${rawDayPrefix}`);

  // The daily batch's EMR step, with the state machine's --input and --output.
  workDir = mkdtempSync(join(tmpdir(), "glue-catalog-"));
  await runSparkStepLocally(
    [
      "spark-submit",
      "--deploy-mode",
      "client",
      "s3://artifacts/spark/curate_rsvps.py",
      "--input",
      sparkInput,
      "--output",
      sparkOutput,
      "--range",
      DAY,
    ],
    { s3, workDir, progress },
  );
  for (const entry of readdirSync(join(workDir, "curated"), { withFileTypes: true })) {
    if (!entry.isDirectory() || /^[_.]/.test(entry.name)) continue;
    sparkPartitions.set(
      entry.name,
      readdirSync(join(workDir, "curated", entry.name), { withFileTypes: true })
        .filter((partition) => partition.isDirectory())
        .map((partition) => partition.name),
    );
  }
  sparkTables = [...sparkPartitions.keys()].sort();
  // What the step uploaded, read back from the bucket the tables point at.
  for (const [table, partitions] of sparkPartitions) {
    const files: ArrayBuffer[] = [];
    for (const partition of partitions) {
      for (const key of await listKeys(s3, curatedBucket, curatedKeyPrefix(table, partition))) {
        if (!key.endsWith(".parquet")) continue;
        const body = await s3.send(new GetObjectCommand({ Bucket: curatedBucket, Key: key }));
        const bytes = (await body.Body?.transformToByteArray()) ?? new Uint8Array();
        files.push(new Uint8Array(bytes).buffer); // a copy: an ArrayBuffer of its own
      }
    }
    parquetFiles.set(table, files);
  }
}, 600_000);

afterAll(async () => {
  await deleteKeys(s3, rawBucket, [recordsKey, unusableKey]);
  for (const [table, partitions] of sparkPartitions) {
    for (const partition of partitions) {
      const prefix = curatedKeyPrefix(table, partition);
      await deleteKeys(s3, curatedBucket, await listKeys(s3, curatedBucket, prefix));
    }
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// --- The checks ----------------------------------------------------------------------------------

/** A Java date format's values as a regular expression (the letters the formats here use). */
function formatPattern(format: string): RegExp {
  const fields: Record<string, string> = {
    yyyy: "\\d{4}",
    MM: "\\d{2}",
    dd: "\\d{2}",
    HH: "\\d{2}",
  };
  const source = format
    .split(/(yyyy|MM|dd|HH)/)
    .map((part) => fields[part] ?? part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join("");
  return new RegExp(`^${source}$`);
}

/** Partition projection of a daily `key` partition: every property, nothing misspelt. */
function expectDailyProjection(table: GlueTable, key: string, format: string) {
  const p = table.parameters;
  const where = `${table.logicalId} (${table.name})`;
  expect(table.partitionKeys, where).toEqual([
    expect.objectContaining({ Name: key, Type: "string" }),
  ]);
  expect(p["projection.enabled"], where).toBe("true");
  expect(p[`projection.${key}.type`], where).toBe("date");
  expect(p[`projection.${key}.format`], where).toBe(format);
  expect(p[`projection.${key}.interval`], where).toBe("1");
  expect(p[`projection.${key}.interval.unit`], where).toBe("DAYS");
  const [start = "", end = "", ...more] = (p[`projection.${key}.range`] ?? "").split(",");
  expect(more, `${where}: range is start,end`).toEqual([]);
  expect(start.trim(), `${where}: range start`).toMatch(formatPattern(format));
  // New days keep coming: the end moves with the clock.
  expect(end.trim(), `${where}: range end`).toMatch(/^NOW(\s*\+\s*\d+\s*DAYS?)?$/);
  expect(p["storage.location.template"], where).toBe(`${table.location}${key}=\${${key}}/`);
  const known = new Set(
    ["enabled", "type", "format", "range", "interval", "interval.unit"].map((name) =>
      name === "enabled" ? "projection.enabled" : `projection.${key}.${name}`,
    ),
  );
  const stray = Object.keys(p).filter((name) => name.startsWith("projection.") && !known.has(name));
  expect(stray, `${where}: projection properties of no partition key`).toEqual([]);
}

function expectInDatabase(table: GlueTable) {
  const database = resources.find(([, resource]) => resource.Type === "AWS::Glue::Database");
  expect(table.properties.CatalogId, table.logicalId).toEqual({ Ref: "AWS::AccountId" });
  expect(table.properties.DatabaseName, table.logicalId).toEqual({ Ref: database?.[0] });
  expect(table.tableType, table.logicalId).toBe("EXTERNAL_TABLE");
  // Glue stores names in lower case; these need no quoting in Athena ("group" aside).
  expect(table.name, table.logicalId).toMatch(/^[a-z][a-z0-9_]*$/);
}

describe("the Glue catalog in the template", () => {
  it("has one database, named after the stack so that Athena needs no quotes around it", () => {
    const databases = resources.filter(([, resource]) => resource.Type === "AWS::Glue::Database");
    expect(databases.length, `AWS::Glue::Database in ${templateFile}`).toBe(1);
    const properties = (databases[0]?.[1].Properties ?? {}) as Record<string, unknown>;
    expect(properties.CatalogId).toEqual({ Ref: "AWS::AccountId" });
    const nameExpression = (properties.DatabaseInput as { Name?: unknown } | undefined)?.Name;
    expect(typeof nameExpression, "the name is derived from the stack, not hard-coded").not.toBe(
      "string",
    );
    const nameFor = (stackName: string) =>
      resolveValue(nameExpression, { ...PSEUDO, "AWS::StackName": stackName }, "database name");
    expect(nameFor("rsvp-atlas")).toBe("rsvp_atlas");
    // Stack names are [A-Za-z][-A-Za-z0-9]* (128 at most); Glue folds them to lower case.
    for (const stackName of [
      "rsvp-atlas",
      "RsvpAtlas",
      "a",
      "rsvp-atlas-2-prod",
      "x".repeat(128),
    ]) {
      expect(nameFor(stackName)).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,254}$/);
    }
    expect(nameFor("rsvp-atlas-prod")).not.toBe(nameFor("rsvp-atlas-dev"));
    const tableNames = glueTables.map((table) => table.name);
    expect(new Set(tableNames).size, "table names").toBe(tableNames.length);
  });

  it("declares the raw table over Firehose's prefix, with the columns of the records the ingest sends", () => {
    // Spark reads the same folder the Firehose prefix writes into.
    expect(`${sparkInput.replace(/\/$/, "")}/`).toBe(`s3://${rawBucket}/${rawFolder}`);
    const table = tableAt(`s3://${rawBucket}/${rawFolder}`);
    expectInDatabase(table);
    expectDailyProjection(table, rawPartitionKey, rawDayFormat);
    expect(table.serde.SerializationLibrary).toBe("org.openx.data.jsonserde.JsonSerDe");
    // Columns are lower case; the SerDe must match the records' camelCase keys ignoring case.
    expect(table.serde.Parameters?.["case.insensitive"] ?? "true").toBe("true");
    expect(table.inputFormat).toBe("org.apache.hadoop.mapred.TextInputFormat");
    expect(table.outputFormat).toBe("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");

    const inferred = landedRecords.reduce<Inferred>(
      (merged, record) => mergeInferred(merged, inferJson(record, "record"), "record"),
      null,
    );
    if (inferred?.kind !== "struct") throw new Error("the landed records are not JSON objects");
    // A field null (or an empty list) in every record has no type to check: the fixture must
    // set it somewhere. Fields null in some records are declared all the same.
    expect(unknownPaths(inferred, "record"), "fields no fixture record sets").toEqual([]);
    const fromRecords = Object.fromEntries(
      inferred.fields.map((field) => [field.name.toLowerCase(), canonical(field.type)]),
    );
    expect(declared(table.columns)).toEqual(fromRecords);
    expect(Object.keys(fromRecords)).not.toContain(rawPartitionKey);
  });

  it("declares one table per table the Spark job writes, at its folder, with the columns of its Parquet", async () => {
    expect(sparkTables.length).toBeGreaterThan(0);
    const curatedLocations = glueTables
      .filter((table) => table.location.startsWith(`s3://${curatedBucket}/`))
      .map((table) => table.location)
      .sort();
    const base = `${sparkOutput.replace(/\/$/, "")}/`;
    expect(curatedLocations).toEqual(sparkTables.map((name) => `${base}${name}/`).sort());
    // And no table elsewhere: the raw one and these.
    expect(glueTables.length).toBe(curatedLocations.length + 1);

    for (const name of sparkTables) {
      const table = tableAt(`${base}${name}/`);
      expectInDatabase(table);
      expect(table.serde.SerializationLibrary, name).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
      );
      expect(table.inputFormat, name).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      );
      expect(table.outputFormat, name).toBe(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      );

      // Spark's partition folders are <key>=<day>, the day in the projection's format.
      const partitions = sparkPartitions.get(name) ?? [];
      expect(partitions, name).toEqual([`date=${DAY}`]);
      expectDailyProjection(table, "date", "yyyy-MM-dd");
      // Every day the ingest accepts an mtime for (the errors table: every arrival day) is in range.
      const start = (table.parameters["projection.date.range"] ?? "").split(",")[0]?.trim() ?? "";
      expect(start <= new Date(EARLIEST_MTIME_MS).toISOString().slice(0, 10), name).toBe(true);

      const files = parquetFiles.get(name) ?? [];
      expect(
        files.length,
        `${name}: Parquet files under ${table.location}date=${DAY}/`,
      ).toBeGreaterThan(0);
      for (const file of files) {
        const metadata = await parquetMetadataAsync(file);
        const schema = parquetSchema(metadata);
        const fromParquet = Object.fromEntries(
          schema.children.map((column) => {
            const type = hiveTypeOfParquet(column);
            const repeated = column.element.repetition_type === "REPEATED";
            return [
              column.element.name.toLowerCase(),
              canonical(repeated ? { kind: "array", element: type } : type),
            ];
          }),
        );
        // The same schema as Spark states it in the footer: the Parquet mapping is right.
        const sparkRow = metadata.key_value_metadata?.find(
          (entry) => entry.key === "org.apache.spark.sql.parquet.row.metadata",
        );
        expect(sparkRow, `${name}: Spark's row metadata`).toBeDefined();
        const sparkSchema = hiveTypeOfSpark(JSON.parse(sparkRow?.value ?? "{}"));
        if (sparkSchema.kind !== "struct") throw new Error(`${name}: row metadata is not a struct`);
        expect(fromParquet, `${name}: Parquet vs Spark's own schema`).toEqual(
          Object.fromEntries(
            sparkSchema.fields.map((field) => [field.name.toLowerCase(), canonical(field.type)]),
          ),
        );
        // The partition column lives in the folder name, not in the file.
        expect(Object.keys(fromParquet), name).not.toContain("date");
        expect(declared(table.columns), `${name}: Glue columns vs Parquet`).toEqual(fromParquet);
      }
    }
  });
});
