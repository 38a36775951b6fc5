/**
 * Reads template.yaml, the single source of truth for the resources the pipeline uses, into the
 * small model the local stack provisions from: Kafka topics (those the Custom::KafkaTopics
 * resource makes under the parameters' values, partitions from `TopicPartitions`), DynamoDB
 * tables, S3 buckets and Firehose delivery streams.
 * Local names are derived from logical ids, because the template itself names nothing.
 */
import { readFileSync } from "node:fs";
import { parse, type Tags } from "yaml";
import { templatePath } from "../setup/paths.js";

/** CloudFormation's short-form intrinsics (`!Ref X`), read as their long form (`{Ref: X}`). */
const INTRINSICS = [
  "Base64",
  "Cidr",
  "Equals",
  "FindInMap",
  "GetAtt",
  "GetAZs",
  "If",
  "ImportValue",
  "Join",
  "Not",
  "And",
  "Or",
  "Ref",
  "Select",
  "Split",
  "Sub",
  "Condition",
  "Transform",
];

const cloudFormationTags: Tags = INTRINSICS.flatMap((name) => {
  const key = name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
  const toIntrinsic = (value: unknown) => ({
    // `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}` in long form.
    [key]: name === "GetAtt" && typeof value === "string" ? value.split(".") : value,
  });
  return (["scalar", "seq", "map"] as const).map((collection) => ({
    tag: `!${name}`,
    collection: collection === "scalar" ? undefined : collection,
    resolve: (value: unknown) => {
      const plain =
        value !== null && typeof value === "object" && "toJSON" in value
          ? (value as { toJSON(): unknown }).toJSON()
          : value;
      return toIntrinsic(plain);
    },
  }));
}) as Tags;

export interface KeyAttribute {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

export interface TableSpec {
  logicalId: string;
  keySchema: KeyAttribute[];
  attributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
  ttlAttribute: string | null;
}

export interface DeliveryStreamSpec {
  logicalId: string;
  bucketLogicalId: string;
  prefix: string;
  errorOutputPrefix: string;
}

export interface TopicSpec {
  /** The template parameter that names it, e.g. `RsvpTopicName`. */
  parameter: string;
  name: string;
  partitions: number;
}

export interface TemplateModel {
  /** The MSK cluster's `KafkaVersion` under each `KafkaSetting` (Mappings.KafkaSettings),
   * e.g. `{ lean: "3.9.x", standard: "4.0.x.kraft" }`. */
  kafkaVersions: Record<string, string>;
  topics: TopicSpec[];
  tables: TableSpec[];
  buckets: { logicalId: string }[];
  deliveryStreams: DeliveryStreamSpec[];
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface CfnParameter {
  Type: string;
  Default?: unknown;
  AllowedValues?: unknown[];
  AllowedPattern?: string;
  /** What CloudFormation says instead of the bare pattern when a value breaks a constraint. */
  ConstraintDescription?: string;
  MinValue?: number;
  MaxValue?: number;
  MinLength?: number;
  MaxLength?: number;
}

export interface CfnTemplate {
  Globals?: { Function?: unknown };
  Parameters?: Record<string, CfnParameter>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, CfnResource>;
}

/**
 * The environment variable that carries `npm start -- --parameter-overrides` to every part of
 * a local run (child processes too): the template is read with those values as its defaults.
 */
export const PARAMETER_OVERRIDES_VARIABLE = "RSVP_ATLAS_PARAMETER_OVERRIDES";

/**
 * For a command that runs the template's defaults (npm test, the fault suite): drops overrides
 * a shell exported for `npm start`, saying so.
 */
export function ignoreInheritedParameterOverrides(command: string): void {
  if (!process.env[PARAMETER_OVERRIDES_VARIABLE]) return;
  process.stderr.write(
    `[${command}] ignoring ${PARAMETER_OVERRIDES_VARIABLE} (it runs the template's defaults)\n`,
  );
  delete process.env[PARAMETER_OVERRIDES_VARIABLE];
}

/**
 * template.yaml, with the parameters given in `overrides` (by default the run's
 * --parameter-overrides) in place of their defaults: the local stack then provisions and runs
 * with what `sam deploy --parameter-overrides` would deploy.
 */
export function readTemplate(
  path = templatePath,
  overrides = process.env[PARAMETER_OVERRIDES_VARIABLE] ?? "",
): CfnTemplate {
  const template = parse(readFileSync(path, "utf8"), {
    customTags: cloudFormationTags,
  }) as CfnTemplate;
  return withParameterValues(template, parseParameterOverrides(overrides));
}

/**
 * `sam deploy --parameter-overrides` text: `Name=Value` or `ParameterKey=Name,ParameterValue=Value`
 * apart by spaces, a value with spaces in "double" or 'single' quotes (no backslash escapes).
 */
export function parseParameterOverrides(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const value = `(?:"([^"]*)"|'([^']*)'|(\\S*))`;
  const pair = new RegExp(
    `(?:ParameterKey=([^,\\s]+),ParameterValue=${value}|([^=\\s]+)=${value})`,
    "y",
  );
  let rest = text.trim();
  while (rest.length > 0) {
    pair.lastIndex = 0;
    const match = pair.exec(rest);
    const name = match?.[1] ?? match?.[5];
    if (!match || !name) {
      throw new InvalidParameterError(`parameter overrides: expected Name=Value at "${rest}"`);
    }
    const [, , ...given] = match;
    values[name] = given.find((part, index) => index !== 3 && part !== undefined) ?? "";
    rest = rest.slice(match[0].length).trim();
  }
  return values;
}

/** A parameter value the template would refuse, said as CloudFormation would check it. */
export class InvalidParameterError extends Error {
  override name = "InvalidParameterError";
}

/**
 * The template with `values` as its parameters' defaults, each checked as CloudFormation checks
 * a parameter value (AllowedValues, AllowedPattern against the whole value, MinValue/MaxValue
 * and a number for Type Number, MinLength/MaxLength), so a local run takes only what a deploy
 * would.
 */
export function withParameterValues(
  template: CfnTemplate,
  values: Record<string, string>,
): CfnTemplate {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const parameter = template.Parameters?.[name];
    if (!parameter) {
      problems.push(`${name}: template.yaml has no such parameter`);
      continue;
    }
    const problem = parameterProblem(parameter, value);
    if (problem) {
      problems.push(`${name}=${value}: ${problem}`);
      continue;
    }
    // As Ref gives it: the value as given, a string even for a Number parameter.
    parameter.Default = value;
  }
  if (problems.length === 0) problems.push(...brokenRules(template));
  if (problems.length > 0) throw new InvalidParameterError(problems.join("; "));
  return template;
}

/**
 * The template's Rules that its parameters' values break, by their AssertDescription
 * (CloudFormation checks them before it makes anything).
 */
function brokenRules(template: CfnTemplate): string[] {
  const rules = (template as { Rules?: Record<string, TemplateRule> }).Rules ?? {};
  return Object.entries(rules).flatMap(([name, rule]) =>
    rule.RuleCondition === undefined || holds(rule.RuleCondition, template)
      ? rule.Assertions.filter((assertion) => !holds(assertion.Assert, template)).map(
          (assertion) => `${name}: ${assertion.AssertDescription ?? "assertion failed"}`,
        )
      : [],
  );
}

/**
 * Whether a condition (of Conditions, or a Rule's) holds with the parameters' values:
 * Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains, Fn::Join, Condition (a named one), and Ref
 * to a parameter (a CommaDelimitedList as its members). The one evaluator of conditions for
 * local runs and tests.
 */
function holds(expression: unknown, template: CfnTemplate): boolean {
  const value = (node: unknown): unknown => {
    if (node === null || typeof node !== "object") return node;
    if (Array.isArray(node)) return node.map(value); // a literal list (Fn::Join's, Fn::Contains')
    const [name, argument] = Object.entries(node)[0] ?? [];
    const args = Array.isArray(argument) ? argument.map(value) : [];
    switch (name) {
      case "Ref": {
        const parameter = template.Parameters?.[String(argument)];
        if (!parameter) throw new Error(`no parameter ${String(argument)} in the template`);
        const given = String(parameter.Default ?? "");
        return parameter.Type === "CommaDelimitedList"
          ? given.split(",").map((member) => member.trim())
          : given;
      }
      case "Condition": {
        const condition = template.Conditions?.[String(argument)];
        if (condition === undefined)
          throw new Error(`no condition ${String(argument)} in the template`);
        return value(condition);
      }
      case "Fn::Equals":
        return String(args[0]) === String(args[1]);
      case "Fn::Not":
        return args[0] !== true;
      case "Fn::And":
        return args.every((arg) => arg === true);
      case "Fn::Or":
        return args.some((arg) => arg === true);
      case "Fn::Contains":
        return Array.isArray(args[0]) && args[0].map(String).includes(String(args[1]));
      case "Fn::Join":
        return (Array.isArray(args[1]) ? args[1] : [args[1]]).map(String).join(String(args[0]));
      default:
        throw new Error(`cannot evaluate ${name} locally`);
    }
  };
  return value(expression) === true;
}

/** The named condition of the template, with the parameters' values. */
export function conditionHolds(name: string, template: CfnTemplate): boolean {
  return holds({ Condition: name }, template);
}

interface TemplateRule {
  RuleCondition?: unknown;
  Assertions: { Assert: unknown; AssertDescription?: string }[];
}

/**
 * The parameters naming the topics the Custom::KafkaTopics resource makes, with the template's
 * conditions at the parameters' values: a topic under a false condition is not made.
 */
function deployedTopics(template: CfnTemplate): string[] {
  const [resource] = Object.values(template.Resources).filter(
    (candidate) => candidate.Type === "Custom::KafkaTopics",
  );
  const listed = (resource?.Properties?.Topics ?? []) as unknown[];
  return listed.flatMap((entry) => {
    let topic = entry as { Name?: { Ref?: string }; "Fn::If"?: [string, unknown, unknown] };
    const branch = topic["Fn::If"];
    if (branch) {
      topic = (conditionHolds(branch[0], template) ? branch[1] : branch[2]) as typeof topic;
      if ((topic as { Ref?: string }).Ref === "AWS::NoValue") return [];
    }
    const parameter = topic.Name?.Ref;
    if (!parameter) throw new Error("Custom::KafkaTopics: each topic's Name must be a parameter");
    return [parameter];
  });
}

const wholeValuePatterns = new Map<string, RegExp>();
/** An AllowedPattern as CloudFormation applies it, to the whole value. */
function wholeValuePattern(pattern: string): RegExp {
  let compiled = wholeValuePatterns.get(pattern);
  if (!compiled) {
    compiled = new RegExp(`^(?:${pattern})$`);
    wholeValuePatterns.set(pattern, compiled);
  }
  return compiled;
}

/** What is wrong with `value` for `parameter`, as CloudFormation checks it; undefined if nothing. */
export function parameterProblem(parameter: CfnParameter, value: string): string | undefined {
  if (parameter.AllowedValues && !parameter.AllowedValues.map(String).includes(value)) {
    return `must be one of ${parameter.AllowedValues.join(", ")}`;
  }
  if (
    parameter.AllowedPattern !== undefined &&
    !wholeValuePattern(parameter.AllowedPattern).test(value)
  ) {
    return parameter.ConstraintDescription === undefined
      ? `must match ${parameter.AllowedPattern}`
      : `must be ${parameter.ConstraintDescription}`;
  }
  if (parameter.MinLength !== undefined && value.length < parameter.MinLength) {
    return `must be at least ${parameter.MinLength} characters`;
  }
  if (parameter.MaxLength !== undefined && value.length > parameter.MaxLength) {
    return `must be at most ${parameter.MaxLength} characters`;
  }
  if (parameter.Type === "Number") {
    const number = Number(value);
    if (!/^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(value)) return "must be a number";
    if (parameter.MinValue !== undefined && number < parameter.MinValue) {
      return `must be at least ${parameter.MinValue}`;
    }
    if (parameter.MaxValue !== undefined && number > parameter.MaxValue) {
      return `must be at most ${parameter.MaxValue}`;
    }
  }
  return undefined;
}

export function loadTemplateModel(template: CfnTemplate = readTemplate()): TemplateModel {
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);
  const parameters = template.Parameters ?? {};

  const kafkaClusters = ofType("AWS::MSK::Cluster");
  const versionOf = kafkaClusters[0]?.[1].Properties?.KafkaVersion as
    | { "Fn::FindInMap"?: [string, unknown, string] }
    | undefined;
  const [mapName, , versionKey] = versionOf?.["Fn::FindInMap"] ?? [];
  const settings = mapName ? template.Mappings?.[mapName] : undefined;
  if (kafkaClusters.length !== 1 || !settings || !versionKey) {
    throw new Error(
      "template.yaml must hold exactly one AWS::MSK::Cluster whose KafkaVersion is a FindInMap",
    );
  }
  const kafkaVersions = Object.fromEntries(
    Object.entries(settings).map(([setting, values]) => [setting, String(values[versionKey])]),
  );

  const partitions = Number(parameters.TopicPartitions?.Default);
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error("template.yaml parameter TopicPartitions needs a positive integer Default");
  }
  const topics = deployedTopics(template).map((parameter) => {
    const name = parameters[parameter]?.Default;
    if (typeof name !== "string") {
      throw new Error(`template.yaml parameter ${parameter} needs a Default topic name`);
    }
    return { parameter, name, partitions };
  });

  const tables = ofType("AWS::DynamoDB::Table").map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const ttl = properties.TimeToLiveSpecification as
      | { AttributeName: string; Enabled: boolean }
      | undefined;
    return {
      logicalId,
      keySchema: properties.KeySchema as KeyAttribute[],
      attributeDefinitions: properties.AttributeDefinitions as TableSpec["attributeDefinitions"],
      ttlAttribute: ttl?.Enabled ? ttl.AttributeName : null,
    };
  });

  const buckets = ofType("AWS::S3::Bucket").map(([logicalId]) => ({ logicalId }));

  const deliveryStreams = ofType("AWS::KinesisFirehose::DeliveryStream").map(
    ([logicalId, resource]) => {
      const destination = resource.Properties?.ExtendedS3DestinationConfiguration as
        | { BucketARN: unknown; Prefix?: string; ErrorOutputPrefix?: string }
        | undefined;
      const bucketLogicalId = getAttTarget(destination?.BucketARN, "Arn");
      if (!destination || !bucketLogicalId) {
        throw new Error(
          `${logicalId}: ExtendedS3DestinationConfiguration.BucketARN must be !GetAtt <Bucket>.Arn`,
        );
      }
      return {
        logicalId,
        bucketLogicalId,
        prefix: destination.Prefix ?? "",
        errorOutputPrefix: destination.ErrorOutputPrefix ?? "",
      };
    },
  );

  return { kafkaVersions, topics, tables, buckets, deliveryStreams };
}

function getAttTarget(value: unknown, attribute: string): string | undefined {
  const getAtt = (value as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
  if (Array.isArray(getAtt) && getAtt[1] === attribute && typeof getAtt[0] === "string") {
    return getAtt[0];
  }
  return undefined;
}

/**
 * The local name of a template resource: `rsvp-atlas-` and its logical id in kebab case
 * (`CityCountsTable` → `rsvp-atlas-city-counts-table`), valid for tables, buckets and streams.
 */
export function localResourceName(logicalId: string): string {
  return `rsvp-atlas-${logicalId.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}`;
}

/**
 * The environment template.yaml gives a function (Globals merged in), with every `!Ref`
 * resolved the way it would be locally: resources to their local names, parameters to their
 * defaults. So a handler runs locally with exactly the settings it gets on AWS, endpoints aside.
 */
export function functionEnvironment(
  logicalId: string,
  localNames: Record<string, string>,
  template: CfnTemplate = readTemplate(),
): Record<string, string> {
  const fn = template.Resources[logicalId];
  if (fn?.Type !== "AWS::Serverless::Function") {
    throw new Error(`template.yaml has no AWS::Serverless::Function named ${logicalId}`);
  }
  const variablesOf = (properties: unknown) =>
    ((properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined)
      ?.Environment?.Variables ?? {}) as Record<string, unknown>;
  const variables = { ...variablesOf(template.Globals?.Function), ...variablesOf(fn.Properties) };
  const resolve = (name: string, value: unknown): string => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    const ref = (value as { Ref?: unknown } | null)?.Ref;
    if (typeof ref === "string") {
      const local = localNames[ref];
      if (local !== undefined) return local;
      const parameter = template.Parameters?.[ref];
      if (parameter?.Default !== undefined) return String(parameter.Default);
    }
    throw new Error(
      `${logicalId} environment ${name}: cannot resolve ${JSON.stringify(value)} locally`,
    );
  };
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, resolve(name, value)]),
  );
}

/** What the local MSK event source takes from a function's MSK event in template.yaml. */
export interface EventSourceControls {
  batchSize: number;
  batchingWindowMs: number;
  maximumRetryAttempts: number;
  bisectOnError: boolean;
  /** Where a batch goes once its retries are spent: a bucket (its logical id) or a topic. */
  onFailure: OnFailureDestination;
  /** The function's Timeout (Globals merged in; Lambda's default 3 s), in ms. */
  functionTimeoutMs: number;
}

/** The event source's on-failure destination, as template.yaml resolves it. */
export type OnFailureDestination =
  | { kind: "s3"; bucketLogicalId: string }
  | { kind: "kafka"; topic: string };

/**
 * The headers the site's CloudFront response headers policy (SiteResponseHeadersPolicy) adds to
 * every answer, as name -> value, for the local server to send the same. Strict-Transport-Security
 * is left out: browsers ignore it over plain HTTP, which is what the local server speaks.
 */
export function siteResponseHeaders(
  template: CfnTemplate = readTemplate(),
): Record<string, string> {
  const config = (
    template.Resources.SiteResponseHeadersPolicy?.Properties as
      | { ResponseHeadersPolicyConfig?: { SecurityHeadersConfig?: SecurityHeadersConfig } }
      | undefined
  )?.ResponseHeadersPolicyConfig?.SecurityHeadersConfig;
  if (!config) throw new Error("template.yaml has no SiteResponseHeadersPolicy security headers");
  const headers: Record<string, string> = {};
  if (config.ContentSecurityPolicy)
    headers["content-security-policy"] = config.ContentSecurityPolicy.ContentSecurityPolicy;
  if (config.ContentTypeOptions) headers["x-content-type-options"] = "nosniff";
  if (config.FrameOptions) headers["x-frame-options"] = config.FrameOptions.FrameOption;
  if (config.ReferrerPolicy) headers["referrer-policy"] = config.ReferrerPolicy.ReferrerPolicy;
  return headers;
}

interface SecurityHeadersConfig {
  ContentSecurityPolicy?: { ContentSecurityPolicy: string };
  ContentTypeOptions?: object;
  FrameOptions?: { FrameOption: string };
  ReferrerPolicy?: { ReferrerPolicy: string };
}

/**
 * A property value with parameters at their defaults: `Ref`, `Fn::Sub` of parameters, and
 * `Fn::If` on a condition of the template (what the template's event source uses).
 * `AWS::NoValue` is undefined; `Fn::GetAtt` stays as it is, for the caller to read.
 */
function withDefaults(value: unknown, template: CfnTemplate): unknown {
  if (value === null || typeof value !== "object") return value;
  const ref = (value as { Ref?: string }).Ref;
  if (ref === "AWS::NoValue") return undefined;
  if (ref !== undefined) return template.Parameters?.[ref]?.Default;
  if ("Fn::GetAtt" in value) return value;
  const sub = (value as { "Fn::Sub"?: unknown })["Fn::Sub"];
  if (typeof sub === "string") {
    return sub.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      // ${!Name} is the literal text ${Name} (Fn::Sub's escape).
      if (literal) return `\${${name}}`;
      const given = template.Parameters?.[name]?.Default;
      if (given === undefined) throw new Error(`cannot resolve \${${name}} locally`);
      return String(given);
    });
  }
  const branch = (value as { "Fn::If"?: [string, unknown, unknown] })["Fn::If"];
  if (branch) {
    return withDefaults(conditionHolds(branch[0], template) ? branch[1] : branch[2], template);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
}

export function eventSourceControls(
  functionId: string,
  eventId: string,
  template: CfnTemplate = readTemplate(),
): EventSourceControls {
  const event = (
    template.Resources[functionId]?.Properties as
      | { Events?: Record<string, { Type: string; Properties: Record<string, unknown> }> }
      | undefined
  )?.Events?.[eventId];
  if (event?.Type !== "MSK") throw new Error(`${functionId} has no MSK event ${eventId}`);
  const number = (name: string, fallback: number): number => {
    const resolved = withDefaults(event.Properties[name], template);
    if (resolved === undefined) return fallback;
    const parsed = Number(resolved);
    if (!Number.isFinite(parsed)) throw new Error(`${functionId} ${eventId} ${name}: not a number`);
    return parsed;
  };
  const retries = number("MaximumRetryAttempts", -1);
  const destination = withDefaults(
    (event.Properties.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination,
    template,
  );
  // SAM's Globals: a function's own Timeout replaces the template-wide one.
  const timeout = (properties: unknown) =>
    (properties as { Timeout?: unknown } | undefined)?.Timeout;
  const own = timeout(template.Resources[functionId]?.Properties);
  const timeoutSeconds = Number(
    withDefaults(own ?? timeout(template.Globals?.Function), template) ?? 3,
  );
  if (!Number.isFinite(timeoutSeconds)) throw new Error(`${functionId} Timeout: not a number`);
  return {
    batchSize: number("BatchSize", 100),
    // Lambda's MSK default window is 500 ms.
    batchingWindowMs: number("MaximumBatchingWindowInSeconds", 0.5) * 1000,
    maximumRetryAttempts: retries < 0 ? Number.POSITIVE_INFINITY : retries,
    bisectOnError: withDefaults(event.Properties.BisectBatchOnFunctionError, template) === true,
    onFailure: onFailureDestination(destination, `${functionId} ${eventId}`),
    functionTimeoutMs: timeoutSeconds * 1000,
  };
}

/**
 * A resolved on-failure destination: `!GetAtt <Bucket>.Arn` or `kafka://<topic>` (Lambda API
 * reference, OnFailure: Destination); anything else (SQS, SNS) has no local counterpart.
 */
function onFailureDestination(destination: unknown, where: string): OnFailureDestination {
  // Without one, Lambda drops what it gives up on: the template must always name one.
  if (destination === undefined) throw new Error(`${where}: no on-failure destination`);
  if (typeof destination === "string" && destination.startsWith("kafka://")) {
    return { kind: "kafka", topic: destination.slice("kafka://".length) };
  }
  const bucket = getAttTarget(destination, "Arn");
  if (bucket) return { kind: "s3", bucketLogicalId: bucket };
  throw new Error(
    `${where}: on-failure destination ${JSON.stringify(destination)} is not a bucket or a kafka:// topic`,
  );
}
