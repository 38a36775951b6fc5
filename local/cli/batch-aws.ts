/**
 * `npm run batch:aws`: start the deployed daily batch (Step Functions) by hand, for a chosen
 * date range, and optionally follow it to the end.
 *
 *   npm run batch:aws -- --state-machine-arn ARN [--date YYYY-MM-DD | --range A..B | --all] [--wait]
 *
 * Without a range it runs for yesterday (UTC, relative to the execution's start). The input is
 * `{"range": "..."}` (statemachines/README.md); the ARN is the stack's DailyBatchStateMachineArn
 * output. Credentials and profile come from the usual AWS environment; the Region from the ARN.
 * With --wait it prints each state as the execution enters it and exits 0 only if it succeeded.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { sleep as realSleep } from "../../functions/shared/backoff.js";
import { resolveBatchRange } from "../../functions/shared/batch-range.js";

export const usage = `  npm run batch:aws -- --state-machine-arn ARN [--date YYYY-MM-DD | --range A..B | --all]
                       [--wait [--poll-seconds N]] [--name EXECUTION_NAME]

  --state-machine-arn  the stack's DailyBatchStateMachineArn output
  --date D             one UTC day            --range A..B  days A to B (UTC), inclusive
  --all                the whole history      (none)        yesterday (UTC)
  --wait               follow the execution until it ends; exit 0 only if it succeeded
  --name               execution name (default manual-<range>-<time>)`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface BatchAwsOptions {
  stateMachineArn: string;
  /** The workflow's `range`: yesterday, all, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD. */
  range: string;
  wait: boolean;
  pollSeconds: number;
  name: string | undefined;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[\w-]{1,80}$/;

/** The command line, checked; a {@link UsageError} names what is wrong. */
export function parseBatchAwsArgs(argv: string[]): BatchAwsOptions {
  let values: {
    "state-machine-arn"?: string | undefined;
    date?: string | undefined;
    range?: string | undefined;
    all?: boolean | undefined;
    wait?: boolean | undefined;
    "poll-seconds"?: string | undefined;
    name?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "state-machine-arn": { type: "string" },
        date: { type: "string" },
        range: { type: "string" },
        all: { type: "boolean", default: false },
        wait: { type: "boolean", default: false },
        "poll-seconds": { type: "string", default: "15" },
        name: { type: "string" },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const arn = values["state-machine-arn"];
  if (!arn)
    throw new UsageError("--state-machine-arn is required (the DailyBatchStateMachineArn output)");
  if (!STATE_MACHINE_ARN.test(arn)) {
    throw new UsageError(
      `--state-machine-arn is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME): ${arn}`,
    );
  }
  const chosen = [
    values.date !== undefined && "--date",
    values.range !== undefined && "--range",
    values.all && "--all",
  ].filter(Boolean);
  if (chosen.length > 1)
    throw new UsageError(`give one of --date, --range, --all, not ${chosen.join(" and ")}`);
  if (values.date?.includes("..")) {
    throw new UsageError(`--date takes one day; for several use --range A..B: ${values.date}`);
  }
  const range = values.all ? "all" : (values.date ?? values.range ?? "yesterday");
  try {
    resolveBatchRange(range, new Date());
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const pollSeconds = Number(values["poll-seconds"]);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 1) {
    throw new UsageError(
      `--poll-seconds must be a number of seconds, at least 1: ${values["poll-seconds"]}`,
    );
  }
  const name = values.name;
  if (name !== undefined && !/^[\w-]{1,80}$/.test(name)) {
    throw new UsageError(`--name must be 1 to 80 letters, digits, - or _: ${name}`);
  }
  return { stateMachineArn: arn, range, wait: values.wait ?? false, pollSeconds, name };
}

/** The Region of a state machine ARN. */
export function regionOf(stateMachineArn: string): string {
  const region = STATE_MACHINE_ARN.exec(stateMachineArn)?.[1];
  if (!region) throw new UsageError(`not a state machine ARN: ${stateMachineArn}`);
  return region;
}

/** A readable, unique execution name: `manual-2018-05-20--2018-05-21-20260101T020304Z`. */
export function executionName(range: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  return `manual-${range.replace("..", "--")}-${stamp}`.slice(0, 80);
}

export async function startBatch(
  sfn: SFNClient,
  options: Pick<BatchAwsOptions, "stateMachineArn" | "range" | "name">,
  now = new Date(),
): Promise<{ executionArn: string; startDate: Date | undefined; input: string }> {
  const input = JSON.stringify({ range: options.range });
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      name: options.name ?? executionName(options.range, now),
      input,
    }),
  );
  if (!started.executionArn) throw new Error("StartExecution returned no executionArn");
  return { executionArn: started.executionArn, startDate: started.startDate, input };
}

const STATE_ENTERED = /StateEntered$/;

/** The state the execution entered last, from its newest history events. */
export async function currentState(
  sfn: SFNClient,
  executionArn: string,
): Promise<string | undefined> {
  const history = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 25 }),
  );
  const entered = (history.events ?? []).find((event: HistoryEvent) =>
    STATE_ENTERED.test(event.type ?? ""),
  );
  return entered?.stateEnteredEventDetails?.name;
}

export interface WaitOptions {
  pollMs: number;
  print: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Polls until the execution leaves RUNNING, printing each newly entered state; the last description. */
export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  options: WaitOptions,
): Promise<DescribeExecutionCommandOutput> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const started = now();
  let lastState: string | undefined;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const status = execution.status ?? "UNKNOWN";
    const state = await currentState(sfn, executionArn).catch(() => undefined);
    if (state && state !== lastState) {
      options.print(`${elapsed(now() - started)} ${state}`);
      lastState = state;
    }
    if (status !== "RUNNING" && status !== "PENDING_REDRIVE") return execution;
    await sleep(options.pollMs);
  }
}

/** `12m03s`. */
function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

const elapsed = (ms: number) => `[${duration(ms).padStart(6, " ")}]`;

/** The console page of an execution, for people. */
export function consoleUrl(executionArn: string): string {
  const region = executionArn.split(":")[3] ?? "us-east-1";
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** Lines describing how an execution ended. */
export function describeEnd(execution: DescribeExecutionCommandOutput): string[] {
  const lines = [`execution ${execution.status ?? "UNKNOWN"}: ${execution.executionArn ?? ""}`];
  if (execution.startDate && execution.stopDate) {
    lines.push(`took ${duration(execution.stopDate.getTime() - execution.startDate.getTime())}`);
  }
  if (execution.error) lines.push(`error: ${execution.error}`);
  if (execution.cause) lines.push(`cause: ${execution.cause}`);
  if (execution.output) lines.push(`output: ${execution.output}`);
  return lines;
}

export interface MainDependencies {
  sfn?: SFNClient;
  out?: (line: string) => void;
  err?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** The whole command; its exit code (0 started or succeeded, 1 the execution failed, 2 usage). */
export async function main(argv: string[], deps: MainDependencies = {}): Promise<number> {
  const out = deps.out ?? ((line) => process.stdout.write(`${line}\n`));
  const err = deps.err ?? ((line) => process.stderr.write(`[batch:aws] ${line}\n`));
  let options: BatchAwsOptions;
  try {
    options = parseBatchAwsArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\nusage:\n${usage}\n`);
    return 2;
  }
  const sfn = deps.sfn ?? new SFNClient({ region: regionOf(options.stateMachineArn) });
  try {
    const started = await startBatch(sfn, options, deps.now?.() ?? new Date());
    out(started.executionArn);
    err(`started ${started.input} on ${options.stateMachineArn}`);
    err(`console: ${consoleUrl(started.executionArn)}`);
    if (!options.wait) return 0;
    const execution = await waitForExecution(sfn, started.executionArn, {
      pollMs: options.pollSeconds * 1000,
      print: err,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    });
    for (const line of describeEnd(execution)) err(line);
    return execution.status === "SUCCEEDED" ? 0 : 1;
  } catch (error) {
    const failure = error as Error;
    err(`${failure.name}: ${failure.message}`);
    if (failure.name === "CredentialsProviderError") {
      err("set AWS credentials first, e.g. AWS_PROFILE=... or `aws configure sso`");
    }
    return 1;
  } finally {
    if (!deps.sfn) sfn.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
