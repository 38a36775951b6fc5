/**
 * `npm run batch:aws` (local/cli/batch-aws.ts): its arguments, the execution it starts on the
 * deployed state machine, and --wait following it to the end, with Step Functions mocked by
 * aws-sdk-client-mock.
 */
import { spawnSync } from "node:child_process";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  describeEnd,
  executionName,
  main,
  parseBatchAwsArgs,
  regionOf,
  UsageError,
} from "../../local/cli/batch-aws.js";
import { repoRoot } from "../../local/setup/paths.js";
import { resetAfterEach } from "../support/aws-mock.js";

const sfnMock = resetAfterEach(mockClient(SFNClient));
const sfn = new SFNClient({ region: "eu-west-1" });

const ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:DailyBatchStateMachine-AbC123";
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:DailyBatchStateMachine-AbC123:x";

describe("parseBatchAwsArgs", () => {
  const parse = (...args: string[]) => parseBatchAwsArgs(["--state-machine-arn", ARN, ...args]);

  it("runs yesterday by default, and takes a day, a range or everything", () => {
    expect(parse()).toMatchObject({ stateMachineArn: ARN, range: "yesterday", wait: false });
    expect(parse("--date", "2018-05-20").range).toBe("2018-05-20");
    expect(parse("--range", "2018-05-20..2018-05-22").range).toBe("2018-05-20..2018-05-22");
    expect(parse("--all").range).toBe("all");
    expect(parse("--all", "--wait", "--poll-seconds", "5")).toMatchObject({
      wait: true,
      pollSeconds: 5,
    });
  });

  it.each([
    [[], /--state-machine-arn is required/],
    [["--state-machine-arn", "DailyBatch"], /not a state machine ARN/],
    [["--state-machine-arn", ARN.replace("stateMachine", "activity")], /not a state machine ARN/],
    [["--state-machine-arn", ARN, "--date", "2018-02-30"], /range must be/],
    [["--state-machine-arn", ARN, "--date", "2018-05-20..2018-05-21"], /--date takes one day/],
    [["--state-machine-arn", ARN, "--range", "2018-05-21..2018-05-20"], /ends before it starts/],
    [["--state-machine-arn", ARN, "--range", "last week"], /range must be/],
    [
      ["--state-machine-arn", ARN, "--all", "--date", "2018-05-20"],
      /one of --date, --range, --all/,
    ],
    [["--state-machine-arn", ARN, "--poll-seconds", "0"], /--poll-seconds/],
    [["--state-machine-arn", ARN, "--name", "has space"], /--name/],
    [["--state-machine-arn", ARN, "--dry-run"], /Unknown option '--dry-run'/],
    [["--state-machine-arn", ARN, "extra"], /positional/],
  ])("rejects %j clearly", (argv, message) => {
    expect(() => parseBatchAwsArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseBatchAwsArgs(argv as string[])).toThrow(message);
  });

  it("takes the Region from the ARN", () => {
    expect(regionOf(ARN)).toBe("eu-west-1");
  });
});

describe("executionName", () => {
  it("is readable, unique per second and within Step Functions' 80 characters", () => {
    const now = new Date("2026-01-02T03:04:05.678Z");
    expect(executionName("2018-05-20..2018-05-21", now)).toBe(
      "manual-2018-05-20--2018-05-21-20260102T030405Z",
    );
    expect(executionName("yesterday", now)).toMatch(/^[\w-]{1,80}$/);
  });
});

describe("main", () => {
  const silent = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, deps: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it("starts an execution with {range} as input and prints its ARN", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    const { out, deps } = silent();
    const code = await main(
      ["--state-machine-arn", ARN, "--range", "2018-05-20..2018-05-21", "--name", "by-hand"],
      { ...deps, sfn },
    );
    expect(code).toBe(0);
    expect(out).toEqual([EXECUTION]);
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      stateMachineArn: ARN,
      name: "by-hand",
      input: '{"range":"2018-05-20..2018-05-21"}',
    });
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it("--wait prints each state entered and exits 0 when the execution succeeds", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: "RUNNING" })
      .resolvesOnce({ status: "RUNNING" })
      .resolves({
        status: "SUCCEEDED",
        executionArn: EXECUTION,
        startDate: new Date("2026-01-01T02:00:00Z"),
        stopDate: new Date("2026-01-01T02:21:07Z"),
        output: '{"render":{}}',
      });
    const entered = (name: string) => ({
      events: [
        { type: "TaskScheduled" as const, id: 9, timestamp: new Date() },
        {
          type: "TaskStateEntered" as const,
          id: 8,
          timestamp: new Date(),
          stateEnteredEventDetails: { name },
        },
      ],
    });
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce(entered("CreateCluster"))
      .resolvesOnce(entered("CurateWithSpark"))
      .resolves(entered("TerminateCluster"));
    const { err, deps } = silent();
    const sleeps: number[] = [];
    const code = await main(
      ["--state-machine-arn", ARN, "--date", "2018-05-20", "--wait", "--poll-seconds", "7"],
      { ...deps, sfn, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(code).toBe(0);
    expect(sleeps).toEqual([7000, 7000]);
    const progress = err.filter((line) => /^\[/.test(line)).map((line) => line.split("] ")[1]);
    expect(progress).toEqual(["CreateCluster", "CurateWithSpark", "TerminateCluster"]);
    expect(err).toContain(`execution SUCCEEDED: ${EXECUTION}`);
    expect(err).toContain("took 21m07s");
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toMatchObject({
      executionArn: EXECUTION,
      reverseOrder: true,
    });
  });

  it("--wait exits 1 and prints the error and cause when the execution fails", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfnMock.on(DescribeExecutionCommand).resolves({
      status: "FAILED",
      executionArn: EXECUTION,
      error: "SparkStepFailed",
      cause: "Step curate-rsvps failed",
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const { err, deps } = silent();
    const code = await main(["--state-machine-arn", ARN, "--wait"], { ...deps, sfn });
    expect(code).toBe(1);
    expect(err).toEqual(
      expect.arrayContaining(["error: SparkStepFailed", "cause: Step curate-rsvps failed"]),
    );
  });

  it("exits 1 with the service's error when the execution cannot start", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(
        Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException" }),
      );
    const { err, deps } = silent();
    expect(await main(["--state-machine-arn", ARN], { ...deps, sfn })).toBe(1);
    expect(err).toContain("AccessDeniedException: User is not authorized");
  });

  it("exits 2 with the usage on bad arguments, without calling AWS", async () => {
    const { deps } = silent();
    const write = process.stderr.write;
    let printed = "";
    process.stderr.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(["--state-machine-arn", ARN, "--range", "soon"], { ...deps, sfn })).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(printed).toMatch(/range must be .*\n\nusage:\n {2}npm run batch:aws/s);
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe("describeEnd", () => {
  it("says how it ended, for how long, and what it returned", () => {
    expect(
      describeEnd({
        $metadata: {},
        status: "TIMED_OUT",
        executionArn: EXECUTION,
        startDate: new Date(0),
        stopDate: new Date(4 * 3600_000),
      } as Parameters<typeof describeEnd>[0]),
    ).toEqual([`execution TIMED_OUT: ${EXECUTION}`, "took 240m00s"]);
  });
});

describe("local/cli/batch-aws.ts as a script", () => {
  it("runs main when started directly and explains a bad call with exit code 2", () => {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "local/cli/batch-aws.ts", "--state-machine-arn", "nope"],
      { cwd: repoRoot, encoding: "utf8" },
    );
    expect(result.stderr).toMatch(/not a state machine ARN/);
    expect(result.status).toBe(2);
  });
});
