/**
 * statemachines/daily-batch.asl.json executed on this machine by aws-local-stepfunctions: the
 * same file `sam deploy` installs, its `${...}` placeholders filled with local values, every
 * Task mapped by its resource: EMR create, describe and terminate to logged no-ops, the EMR step to
 * spark-submit on local Spark (spark-step.ts), and `lambda:invoke` to the real handlers, run
 * in this process with the environment template.yaml gives them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { repoRoot } from "../setup/paths.js";
import { type AwsEndpoint, awsClientConfig, localAwsEnvironment } from "../stack/aws-endpoint.js";
import {
  type CfnTemplate,
  conditionHolds,
  functionEnvironment,
  localResourceName,
  readTemplate,
} from "../stack/template-model.js";
import { runSparkStepLocally, splitSubmitArgs } from "./spark-step.js";

type Json = Record<string, unknown>;
type TaskHandler = (input: Json) => Promise<unknown>;

/** A Lambda invoked by the workflow, run in this process: its bare handler and its logical id. */
export interface LocalFunction {
  logicalId: string;
  invoke: (payload: unknown) => Promise<unknown>;
}

export interface LocalWorkflowOptions {
  aws: AwsEndpoint;
  /** Local bucket name per logical id (the local stack's resources.buckets). */
  buckets: Record<string, string>;
  input: { range: string };
  workDir: string;
  progress: (line: string) => void;
  /** Overrides of the Lambda handlers by logical id (tests make one fail). */
  functions?: Record<string, LocalFunction["invoke"]>;
  /** Extra environment for spark-submit (tests make it fail). */
  sparkEnv?: Record<string, string>;
  template?: CfnTemplate;
}

export interface LocalWorkflowResult {
  status: "SUCCEEDED" | "FAILED";
  output?: Json;
  error?: { error: string; cause: string };
  /** The states entered, in order, with the Task resource each one ran. */
  trace: { state: string; resource: string }[];
  durationMs: number;
}

const EMR = "arn:aws:states:::elasticmapreduce:";
const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
/** The AWS SDK integration that reads a failed run's cluster status (ReadClusterStatus). */
const DESCRIBE_CLUSTER = "arn:aws:states:::aws-sdk:emr:describeCluster";

let interpreter: Promise<typeof import("aws-local-stepfunctions")> | undefined;

/**
 * The context object (`$$`) Step Functions gives an execution, as far as the workflow reads it:
 * its ARN (the tag CreateCluster puts on the cluster), name, start time and input. The
 * interpreter fills only the start time by itself.
 */
export function executionContext(input: unknown, now = new Date()) {
  const name = `local-${now.toISOString().replace(/[:.]/g, "-")}`;
  return {
    Execution: {
      Id: `arn:aws:states:us-east-1:000000000000:execution:rsvp-atlas-local-daily-batch:${name}`,
      Name: name,
      StartTime: now.toISOString(),
      Input: input as never,
    },
  };
}

/** aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); Node 20 gets a polyfill. */
export function loadInterpreter(): Promise<typeof import("aws-local-stepfunctions")> {
  const promise = Promise as unknown as { withResolvers?: () => unknown };
  promise.withResolvers ??= () => {
    let resolve: unknown;
    let reject: unknown;
    const p = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: p, resolve, reject };
  };
  interpreter ??= import("aws-local-stepfunctions");
  return interpreter;
}

/** A local stand-in ARN for a function of the template. */
function localFunctionArn(logicalId: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:${localResourceName(logicalId)}`;
}

/**
 * The template's DefinitionSubstitutions of the state machine resolved locally: parameters to
 * their defaults, buckets to their local names, functions to local ARNs, the Spark script to
 * the repo's file.
 */
export function localSubstitutions(
  template: CfnTemplate,
  buckets: Record<string, string>,
): { substitutions: Record<string, string>; functionsByArn: Record<string, string> } {
  const machine = Object.values(template.Resources).find(
    (resource) => resource.Type === "AWS::Serverless::StateMachine",
  ) as { Properties?: { DefinitionSubstitutions?: Record<string, unknown> } } | undefined;
  const declared = machine?.Properties?.DefinitionSubstitutions ?? {};
  const functionsByArn: Record<string, string> = {};
  const resolveRef = (name: string): string => {
    const bucket = buckets[name];
    if (bucket !== undefined) return bucket;
    const parameter = template.Parameters?.[name];
    if (parameter?.Default !== undefined) return String(parameter.Default);
    const resource = template.Resources[name];
    if (resource) return localResourceName(name);
    if (name === "AWS::Region") return "us-east-1";
    if (name === "AWS::AccountId") return "000000000000";
    if (name === "AWS::StackName") return "rsvp-atlas-local";
    if (name === "AWS::Partition") return "aws";
    if (name === "AWS::URLSuffix") return "amazonaws.com";
    throw new Error(`cannot resolve ${name} locally`);
  };
  /** A condition of the template, with the parameters' values (defaults unless overridden). */
  const condition = (name: string): boolean => conditionHolds(name, template);
  /** Like `resolve`, but lists (a CommaDelimitedList parameter, a literal list) stay lists. */
  const resolveAny = (value: unknown): string | string[] => {
    if (Array.isArray(value)) return value.map((item) => resolve(item));
    const node = value as Record<string, unknown>;
    if (
      typeof node?.Ref === "string" &&
      template.Parameters?.[node.Ref]?.Type === "CommaDelimitedList"
    ) {
      return String(template.Parameters[node.Ref]?.Default ?? "").split(",");
    }
    const ifNode = node?.["Fn::If"];
    if (Array.isArray(ifNode))
      return resolveAny(condition(String(ifNode[0])) ? ifNode[1] : ifNode[2]);
    return resolve(value);
  };
  const resolve = (value: unknown): string => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    const node = value as Record<string, unknown>;
    const ifNode = node["Fn::If"];
    if (Array.isArray(ifNode)) return resolve(condition(String(ifNode[0])) ? ifNode[1] : ifNode[2]);
    const select = node["Fn::Select"];
    if (Array.isArray(select)) {
      const list = resolveAny(select[1]);
      const item = Array.isArray(list) ? list[Number(select[0])] : undefined;
      if (item === undefined) throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
      return item;
    }
    if (typeof node.Ref === "string") return resolveRef(node.Ref);
    const getAtt = node["Fn::GetAtt"];
    if (getAtt !== undefined) {
      const [logicalId, attribute] = Array.isArray(getAtt)
        ? (getAtt as string[])
        : String(getAtt).split(".");
      const resource = template.Resources[logicalId ?? ""];
      if (resource?.Type === "AWS::Serverless::Function" && logicalId) {
        const arn = localFunctionArn(logicalId);
        functionsByArn[arn] = logicalId;
        return arn;
      }
      if (resource?.Type === "Custom::SparkJobScript" && attribute === "ScriptUri") {
        // Deploys upload the job to the artifacts bucket; locally it is the repo's own file.
        return `file://${join(repoRoot, "spark", "curate_rsvps.py")}`;
      }
      if (resource?.Type === "AWS::IAM::Role" && logicalId) {
        return `arn:aws:iam::000000000000:role/${localResourceName(logicalId)}`;
      }
      if (logicalId && attribute) return `${localResourceName(logicalId)}-${attribute}`;
    }
    const sub = node["Fn::Sub"];
    if (typeof sub === "string") {
      return sub.replace(/\$\{([\w:.]+)\}/g, (_match, name: string) =>
        name.includes(".") ? resolve({ "Fn::GetAtt": name.split(".") }) : resolveRef(name),
      );
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
  };
  const substitutions = Object.fromEntries(
    Object.entries(declared).map(([name, value]) => [name, resolve(value)]),
  );
  return { substitutions, functionsByArn };
}

export function substitute(text: string, substitutions: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
    const value = substitutions[name];
    if (value === undefined)
      throw new Error(`daily-batch.asl.json: no substitution for \${${name}}`);
    return value;
  });
}

/**
 * The bare handlers of the workflow's Lambdas, each imported with the environment the template
 * gives it (handlers read their configuration once, at import).
 */
async function defaultFunctions(
  template: CfnTemplate,
  aws: AwsEndpoint,
  buckets: Record<string, string>,
): Promise<Record<string, LocalFunction["invoke"]>> {
  Object.assign(process.env, localAwsEnvironment(aws));
  Object.assign(process.env, functionEnvironment("ClusteringFunction", buckets, template));
  const clustering = await import("../../functions/clustering/handler.js");
  Object.assign(process.env, functionEnvironment("RenderMapFunction", buckets, template));
  const render = await import("../../functions/render-map/handler.js");
  Object.assign(process.env, functionEnvironment("BatchRangeFunction", buckets, template));
  const batchRange = await import("../../functions/batch-range/handler.js");
  return {
    BatchRangeFunction: async (payload) => batchRange.checkBatchRange(payload),
    ClusteringFunction: (payload) => clustering.clusterVenuesHandler(payload),
    RenderMapFunction: (payload) => render.renderMapHandler(payload),
  };
}

export async function runWorkflowLocally(
  options: LocalWorkflowOptions,
): Promise<LocalWorkflowResult> {
  const started = Date.now();
  const template = options.template ?? readTemplate();
  const { substitutions, functionsByArn } = localSubstitutions(template, options.buckets);
  const definition = JSON.parse(
    substitute(
      readFileSync(join(repoRoot, "statemachines", "daily-batch.asl.json"), "utf8"),
      substitutions,
    ),
  ) as { States: Record<string, { Type: string; Resource?: string }> };
  const functions = {
    ...(await defaultFunctions(template, options.aws, options.buckets)),
    ...options.functions,
  };
  const s3 = new S3Client({ ...awsClientConfig(options.aws), forcePathStyle: true });
  const trace: LocalWorkflowResult["trace"] = [];
  const say = options.progress;

  const byResource = (state: string, resource: string): TaskHandler => {
    if (resource.startsWith(`${EMR}createCluster`)) {
      return async (input) => {
        say(
          `${state}: no EMR cluster locally (${String(input.ReleaseLabel)}); Spark runs in local mode`,
        );
        return {
          ClusterId: "j-LOCAL",
          ClusterArn: "arn:aws:elasticmapreduce:local:cluster/j-LOCAL",
        };
      };
    }
    if (resource.startsWith(`${EMR}terminateCluster`)) {
      return async (input) => {
        say(`${state}: nothing to terminate locally (cluster ${String(input.ClusterId)})`);
        return {};
      };
    }
    if (resource === DESCRIBE_CLUSTER) {
      return async (input) => {
        say(`${state}: no EMR cluster locally to describe (cluster ${String(input.ClusterId)})`);
        return {
          Cluster: {
            Id: input.ClusterId,
            Status: {
              StateChangeReason: { Message: "no EMR cluster locally: Spark ran in local mode" },
            },
          },
        };
      };
    }
    if (resource.startsWith(`${EMR}addStep`)) {
      return async (input) => {
        const step = input.Step as { HadoopJarStep: { Args: string[] } };
        say(`${state}: ${describeStep(step.HadoopJarStep.Args)}`);
        const result = await runSparkStepLocally(step.HadoopJarStep.Args, {
          s3,
          workDir: options.workDir,
          progress: say,
          ...(options.sparkEnv ? { env: options.sparkEnv } : {}),
        });
        return { Step: { Status: { State: "COMPLETED" } }, counts: result.counts };
      };
    }
    if (resource === LAMBDA_INVOKE || resource.startsWith("arn:aws:lambda:")) {
      return async (input) => {
        const arn = String(input.FunctionName ?? resource);
        const logicalId = functionsByArn[arn];
        const invoke = logicalId ? functions[logicalId] : undefined;
        if (!invoke) throw new Error(`${state}: no local handler for ${arn}`);
        say(`${state}: ${logicalId} handler`);
        try {
          const payload = await whileSaying(invoke(input.Payload), (seconds) =>
            say(`${state}: ${logicalId} still running, ${seconds} s`),
          );
          return { StatusCode: 200, ExecutedVersion: "$LATEST", Payload: payload };
        } catch (error) {
          // As Step Functions reports a Lambda's error: its type as the error name.
          const failure = error as Error;
          say(`${state}: ${failure.name}: ${failure.message}`);
          throw Object.assign(
            new Error(JSON.stringify({ errorType: failure.name, errorMessage: failure.message })),
            { name: failure.name },
          );
        }
      };
    }
    return async () => {
      throw new Error(`${state}: no local handler for resource ${resource}`);
    };
  };

  const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== "Task" || !state.Resource) continue;
    const handler = byResource(name, state.Resource);
    const resource = state.Resource;
    taskResourceLocalHandlers[name] = async (input) => {
      trace.push({ state: name, resource });
      return handler(input);
    };
  }

  const { StateMachine, ExecutionError } = await loadInterpreter();
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(taskResourceLocalHandlers).map((name) => [name, 0]),
  );
  const execution = machine.run(options.input, {
    context: executionContext(options.input),
    overrides: {
      taskResourceLocalHandlers: taskResourceLocalHandlers as never,
      retryIntervalOverrides,
    },
  });
  try {
    const output = (await execution.result) as Json;
    s3.destroy();
    return { status: "SUCCEEDED", output, trace, durationMs: Date.now() - started };
  } catch (error) {
    s3.destroy();
    if (error instanceof ExecutionError) {
      // The Fail state's error and cause, as Step Functions reports them.
      const cause = error.cause as { name?: string; message?: string } | undefined;
      return {
        status: "FAILED",
        error: { error: cause?.name ?? "States.Runtime", cause: cause?.message ?? error.message },
        trace,
        durationMs: Date.now() - started,
      };
    }
    throw error;
  }
}

/**
 * The EMR step's command for people: the job and its own arguments, in Spark's local mode,
 * with the step's time limit; not the bucket URIs and the timeout wrapper of the full command.
 */
export function describeStep(args: readonly string[]): string {
  try {
    const step = splitSubmitArgs(args);
    const script = step.script.split("/").at(-1);
    const limit = step.timeoutSeconds === null ? "" : `, the step's limit ${step.timeoutSeconds} s`;
    return `spark-submit ${script} ${step.jobArgs.join(" ")} (Spark in local mode${limit})`;
  } catch {
    return args.join(" ");
  }
}

/** `work`, saying how long it has run every `everyMs` until it settles. */
export async function whileSaying<T>(
  work: Promise<T>,
  say: (seconds: number) => void,
  everyMs = 10_000,
): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => say(Math.round((Date.now() - started) / 1000)), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
