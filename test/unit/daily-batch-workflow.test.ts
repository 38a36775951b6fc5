/**
 * statemachines/daily-batch.asl.json executed by a local ASL interpreter (aws-local-stepfunctions),
 * every Task overridden by a local handler: the cluster is terminated as soon as the Spark step
 * has ended, well or not, failures end the execution with their cause, the range and the execution's start
 * reach the Spark job (--range, --as-of) and the Lambdas ({range, startedAt}), and the cluster
 * is built from the template's parameters (counts as numbers, an optional Spot task group).
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type BatchRangeDependencies,
  checkRange,
} from "../../functions/batch-range/check-range.js";
import { executionContext, loadInterpreter } from "../../local/batch/local-workflow.js";
import { listingS3 } from "../support/listing-s3.js";

type Handler = (input: Record<string, unknown>) => Promise<unknown>;
type Machine = {
  run(
    input: unknown,
    options: {
      context?: unknown;
      overrides: {
        taskResourceLocalHandlers: Record<string, Handler>;
        retryIntervalOverrides: Record<string, number>;
      };
    },
  ): { result: Promise<unknown> };
};
let StateMachine: new (definition: unknown, options?: unknown) => Machine;

const SUBSTITUTIONS: Record<string, string> = {
  StackName: "rsvp-atlas",
  ClusterName: "rsvp-atlas-daily-batch",
  EmrReleaseLabel: "emr-7.12.0",
  EmrServiceRole: "rsvp-atlas-EmrServiceRole-ABC",
  EmrInstanceProfile: "rsvp-atlas-EmrInstanceProfile-ABC",
  EmrSecurityConfiguration: "rsvp-atlas-EmrSecurityConfiguration-ABC",
  EmrLogUri: "s3://logs/emr/",
  EmrIdleTimeoutSeconds: "3600",
  EmrPrimarySecurityGroup: "sg-0primary0000000",
  EmrCoreSecurityGroup: "sg-0core000000000",
  EmrServiceAccessSecurityGroup: "sg-0access00000000",
  SubnetId: "subnet-0123",
  PrimaryInstanceType: "m7g.xlarge",
  CoreInstanceType: "m7g.xlarge",
  CoreInstanceCount: "2",
  CoreMarket: "ON_DEMAND",
  TaskInstanceType: "m7g.2xlarge",
  TaskInstanceCount: "0",
  TaskMarket: "SPOT",
  SparkScriptUri: "s3://artifacts/spark/curate_rsvps-0123456789ab.py",
  RawDataUri: "s3://raw/rsvps",
  CuratedDataUri: "s3://curated",
  BatchRangeFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:batch-range",
  ClusteringFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:clustering",
  RenderFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:render",
};

const text = readFileSync(
  new URL("../../statemachines/daily-batch.asl.json", import.meta.url),
  "utf8",
);
/** The definition as CloudFormation deploys it: every `${X}` replaced by its substitution. */
function substituted(overrides: Record<string, string> = {}) {
  const substitutions = { ...SUBSTITUTIONS, ...overrides };
  return JSON.parse(
    text.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
      const value = substitutions[name];
      if (value === undefined) throw new Error(`no substitution for \${${name}}`);
      return value;
    }),
  );
}
const definition = substituted();

beforeAll(async () => {
  // The interpreter as the local runner loads it (Promise.withResolvers polyfilled on Node 20).
  ({ StateMachine } = (await loadInterpreter()) as unknown as {
    StateMachine: typeof StateMachine;
  });
});

/** EMR API Reference, ClusterStatus: a cluster that could not start. */
const CLUSTER_STATUS = {
  State: "TERMINATED_WITH_ERRORS",
  StateChangeReason: {
    Code: "VALIDATION_ERROR",
    Message:
      "The requested instance type m7g.xlarge is not supported in the requested Availability Zone.",
  },
};

/** A raw bucket where something landed on every day (the key right after the first asked). */
const LANDED_EVERY_DAY: BatchRangeDependencies = {
  raw: { bucket: "raw", prefix: "rsvps/" },
  s3: listingS3((input) => [`${input.StartAfter ?? "rsvps/dt=2018-05-20"}/part-0.gz`]),
};

function harness(
  failAt?: string | string[],
  machine: unknown = definition,
  raw: BatchRangeDependencies = LANDED_EVERY_DAY,
) {
  const failing = new Set(typeof failAt === "string" ? [failAt] : (failAt ?? []));
  const calls: { state: string; input: Record<string, unknown> }[] = [];
  const handler =
    (state: string, result: unknown): Handler =>
    async (input) => {
      calls.push({ state, input });
      if (failing.has(state))
        throw Object.assign(new Error(`${state} failed`), { name: "StepFailed" });
      return result;
    };
  const taskResourceLocalHandlers = {
    // The real check, as Lambda runs it: its error's name is what Step Functions sees.
    CheckRange: async (input: Record<string, unknown>) => {
      calls.push({ state: "CheckRange", input });
      return { Payload: await checkRange(input.Payload, raw) };
    },
    CreateCluster: handler("CreateCluster", { ClusterId: "j-TESTCLUSTER" }),
    CurateWithSpark: handler("CurateWithSpark", {}),
    ClusterVenues: handler("ClusterVenues", { Payload: { clusters: 7 } }),
    RenderMap: handler("RenderMap", { Payload: { map: "s3://site/map.png" } }),
    TerminateCluster: handler("TerminateCluster", {}),
    // What the aws-sdk:emr:describeCluster integration answers for a cluster that never started.
    ReadClusterStatus: handler("ReadClusterStatus", { Cluster: { Status: CLUSTER_STATUS } }),
    TerminateAfterFailure: handler("TerminateAfterFailure", {}),
  };
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(taskResourceLocalHandlers).map((s) => [s, 0]),
  );
  const run = (input: unknown) =>
    new StateMachine(machine, { validationOptions: { checkArn: false } }).run(input, {
      context: executionContext(input),
      overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
    }).result;
  const inputOf = <T>(state: string) => calls.find((c) => c.state === state)?.input as T;
  return { calls, run, inputOf };
}

interface InstanceGroup {
  Name: string;
  InstanceRole: string;
  InstanceType: string;
  InstanceCount: unknown;
  Market: string;
}
interface CreateClusterInput {
  Name: string;
  LogUri: string;
  ServiceRole: string;
  JobFlowRole: string;
  SecurityConfiguration: string;
  AutoTerminationPolicy: { IdleTimeout: unknown };
  Tags: { Key: string; Value: string }[];
  Instances: {
    KeepJobFlowAliveWhenNoSteps: boolean;
    Ec2SubnetId: string;
    InstanceGroups: InstanceGroup[];
  };
  Steps?: unknown;
}
type StepInput = {
  ClusterId: string;
  Step: { ActionOnFailure: string; HadoopJarStep: { Args: string[] } };
};
type LambdaInput = { FunctionName: string; Payload: Record<string, unknown> };

/** The value that follows `flag` in spark-submit's arguments. */
const argument = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe("daily batch workflow", () => {
  it("runs create -> Spark -> terminate -> cluster -> render, with yesterday by default", async () => {
    const { calls, run, inputOf } = harness();
    await run({});
    // The clustering and render Lambdas read S3: the cluster is not kept idle while they run.
    expect(calls.map((c) => c.state)).toEqual([
      "CheckRange",
      "CreateCluster",
      "CurateWithSpark",
      "TerminateCluster",
      "ClusterVenues",
      "RenderMap",
    ]);
    const step = inputOf<StepInput>("CurateWithSpark");
    expect(step.ClusterId).toBe("j-TESTCLUSTER");
    const args = step.Step.HadoopJarStep.Args;
    // A step that hangs ends itself (coreutils timeout), and a step that fails terminates its
    // cluster (EMR API reference, StepConfig.ActionOnFailure: TERMINATE_CLUSTER), whatever
    // becomes of the execution. The driver runs in the step's own process (client mode): a step
    // cancelled (an execution stopped) or timed out ends its application; in cluster mode the
    // application would run on in YARN and keep the cluster busy.
    expect(args.slice(0, 6)).toEqual([
      "timeout",
      "4800",
      "spark-submit",
      "--deploy-mode",
      "client",
      SUBSTITUTIONS.SparkScriptUri,
    ]);
    expect(step.Step.ActionOnFailure).toBe("TERMINATE_CLUSTER");
    expect(argument(args, "--input")).toBe(SUBSTITUTIONS.RawDataUri);
    expect(argument(args, "--output")).toBe(SUBSTITUTIONS.CuratedDataUri);
    expect(argument(args, "--range")).toBe("yesterday");
    expect(inputOf("TerminateCluster")).toEqual({ ClusterId: "j-TESTCLUSTER" });
  });

  it("resolves every relative date against the execution's start: --as-of for Spark, startedAt for the Lambdas", async () => {
    const before = Date.now();
    const { run, inputOf } = harness();
    await run({});
    const asOf = argument(inputOf<StepInput>("CurateWithSpark").Step.HadoopJarStep.Args, "--as-of");
    expect(asOf).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    const started = Date.parse(asOf ?? "");
    expect(started).toBeGreaterThanOrEqual(before - 1000);
    expect(started).toBeLessThanOrEqual(Date.now());
    expect(inputOf<LambdaInput>("ClusterVenues").Payload).toEqual({
      range: "yesterday",
      startedAt: asOf,
    });
    expect(inputOf<LambdaInput>("RenderMap").Payload).toEqual({
      range: "yesterday",
      startedAt: asOf,
      clustering: { clusters: 7 },
    });
  });

  it("passes a range chosen by hand to the Spark job and the Lambdas", async () => {
    const { run, inputOf } = harness();
    await run({ range: "2018-05-20..2018-05-21" });
    const args = inputOf<StepInput>("CurateWithSpark").Step.HadoopJarStep.Args;
    expect(argument(args, "--range")).toBe("2018-05-20..2018-05-21");
    const clustering = inputOf<LambdaInput>("ClusterVenues");
    expect(clustering.FunctionName).toBe(SUBSTITUTIONS.ClusteringFunctionArn);
    expect(clustering.Payload.range).toBe("2018-05-20..2018-05-21");
    const render = inputOf<LambdaInput>("RenderMap");
    expect(render.FunctionName).toBe(SUBSTITUTIONS.RenderFunctionArn);
    expect(render.Payload.range).toBe("2018-05-20..2018-05-21");
  });

  it("creates the cluster from the template's parameters, counts as numbers, no task group by default", async () => {
    const { run, inputOf } = harness();
    await run({});
    const cluster = inputOf<CreateClusterInput>("CreateCluster");
    expect(cluster.Name).toBe(SUBSTITUTIONS.ClusterName);
    expect(cluster.ServiceRole).toBe(SUBSTITUTIONS.EmrServiceRole);
    expect(cluster.JobFlowRole).toBe(SUBSTITUTIONS.EmrInstanceProfile);
    // Its disks encrypted at rest (template.yaml's EmrSecurityConfiguration).
    expect(cluster.SecurityConfiguration).toBe(SUBSTITUTIONS.EmrSecurityConfiguration);
    expect(cluster.LogUri).toBe(SUBSTITUTIONS.EmrLogUri);
    expect(cluster.AutoTerminationPolicy).toEqual({ IdleTimeout: 3600 });
    expect(cluster.Steps).toBeUndefined();
    // The execution's ARN on the cluster: the cluster watch ends a cluster whose execution no
    // longer runs (functions/cluster-watch/orphans.ts).
    expect(cluster.Tags).toContainEqual({
      Key: "rsvp-atlas-execution",
      Value: expect.stringMatching(/^arn:aws:states:.+:execution:.+:local-/),
    });
    expect(cluster.Instances.KeepJobFlowAliveWhenNoSteps).toBe(true);
    expect(cluster.Instances.Ec2SubnetId).toBe(SUBSTITUTIONS.SubnetId);
    expect(cluster.Instances.InstanceGroups).toEqual([
      {
        Name: "primary",
        InstanceRole: "MASTER",
        InstanceType: "m7g.xlarge",
        InstanceCount: 1,
        Market: "ON_DEMAND",
      },
      {
        Name: "core",
        InstanceRole: "CORE",
        InstanceType: "m7g.xlarge",
        InstanceCount: 2,
        Market: "ON_DEMAND",
      },
    ]);
    // AmazonEMRServicePolicy_v2 acts only on resources with this tag; the stack tag scopes
    // the state machine's own EMR permissions to the clusters it created.
    expect(cluster.Tags).toEqual(
      expect.arrayContaining([
        { Key: "for-use-with-amazon-emr-managed-policies", Value: "true" },
        { Key: "rsvp-atlas-stack", Value: SUBSTITUTIONS.StackName },
      ]),
    );
  });

  it("adds a task group (Spot by default) when TaskInstanceCount is above zero, and Spot core nodes on request", async () => {
    const machine = substituted({
      TaskInstanceCount: "3",
      CoreMarket: "SPOT",
      CoreInstanceCount: "4",
    });
    const { run, inputOf } = harness(undefined, machine);
    await run({});
    const groups = inputOf<CreateClusterInput>("CreateCluster").Instances.InstanceGroups;
    expect(groups.map((g) => [g.InstanceRole, g.InstanceCount, g.Market])).toEqual([
      ["MASTER", 1, "ON_DEMAND"],
      ["CORE", 4, "SPOT"],
      ["TASK", 3, "SPOT"],
    ]);
    expect(groups[2]?.InstanceType).toBe("m7g.2xlarge");
  });

  it("terminates the cluster and fails with the cause when the Spark step fails", async () => {
    const { calls, run } = harness("CurateWithSpark");
    await expect(run({})).rejects.toThrow("CurateWithSpark failed");
    expect(calls.at(-1)).toEqual({
      state: "TerminateAfterFailure",
      input: { ClusterId: "j-TESTCLUSTER" },
    });
    expect(calls.map((c) => c.state)).not.toContain("ClusterVenues");
  });

  it.each(["ClusterVenues", "RenderMap"])(
    "fails with the cause when %s fails, its cluster already terminated",
    async (state) => {
      const { calls, run } = harness(state);
      const failure = await run({}).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.cause).toMatchObject({ name: "StepFailed", message: `${state} failed` });
      const states = calls.map((c) => c.state);
      expect(states.filter((s) => s === "TerminateCluster")).toHaveLength(1);
      expect(states.indexOf("TerminateCluster")).toBeLessThan(states.indexOf(state));
      expect(states).not.toContain("TerminateAfterFailure");
      expect(states.at(-1)).toBe(state);
    },
  );

  it("keeps only the range of its input: keys a hand-written input adds change nothing", async () => {
    const { calls, run } = harness();
    await run({
      range: "2018-05-20",
      terminateError: { Error: "Typed", Cause: "by hand" },
      error: { Error: "Typed" },
      cluster: { ClusterId: "j-OTHER" },
    });
    expect(calls.map((c) => c.state).at(-1)).toBe("RenderMap");
    expect(calls.find((c) => c.state === "TerminateCluster")?.input).toEqual({
      ClusterId: "j-TESTCLUSTER",
    });
  });

  it("still draws the map when the terminate keeps failing, then fails with the terminate's error", async () => {
    const { calls, run } = harness("TerminateCluster");
    const failure = await run({}).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.cause).toMatchObject({
      name: "StepFailed",
      message: "TerminateCluster failed",
    });
    const states = calls.map((c) => c.state);
    expect(states.filter((s) => s === "TerminateCluster")).toHaveLength(4); // 1 + 3 retries
    expect(states.slice(-2)).toEqual(["ClusterVenues", "RenderMap"]);
  });

  it("says why, when the Spark step fails: the cluster's status, read before the terminate, beside the step's error", async () => {
    const { calls, run, inputOf } = harness("CurateWithSpark");
    const failure = await run({}).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(calls.map((c) => c.state).slice(-2)).toEqual([
      "ReadClusterStatus",
      "TerminateAfterFailure",
    ]);
    expect(inputOf("ReadClusterStatus")).toEqual({ ClusterId: "j-TESTCLUSTER" });
    // The Fail state's error and cause, as the interpreter reports them (local-workflow.ts).
    const failed = failure?.cause as { name: string; message: string };
    expect(failed.name).toBe("StepFailed");
    const [stepError, clusterStatus] = failed.message.split(" The cluster: ");
    expect(JSON.parse(stepError ?? "")).toEqual({
      Error: "StepFailed",
      Cause: "CurateWithSpark failed",
    });
    expect(JSON.parse(clusterStatus ?? "")).toEqual(CLUSTER_STATUS);
  });

  it("still terminates and fails with the step's error when the cluster's status cannot be read", async () => {
    const { calls, run } = harness(["CurateWithSpark", "ReadClusterStatus"]);
    const failure = await run({}).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.cause).toMatchObject({ name: "StepFailed", message: "CurateWithSpark failed" });
    expect(calls.filter((c) => c.state === "ReadClusterStatus").length).toBe(3); // 1 + 2 retries
    expect(calls.at(-1)?.state).toBe("TerminateAfterFailure");
  });

  it("checks the range before any cluster exists: a range that is none fails at once, with the reason", async () => {
    const { calls, run, inputOf } = harness();
    await expect(run({ range: "2018-05-26..2018-05-20" })).rejects.toThrow(
      "range ends before it starts: 2018-05-26..2018-05-20",
    );
    expect(calls.map((c) => c.state)).toEqual(["CheckRange"]);
    expect(inputOf<LambdaInput>("CheckRange").FunctionName).toBe(
      SUBSTITUTIONS.BatchRangeFunctionArn,
    );
    // A good one goes on, with the execution's start to resolve "yesterday" against.
    const good = harness();
    await good.run({});
    expect(good.inputOf<LambdaInput>("CheckRange").Payload).toEqual({
      range: "yesterday",
      startedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });

  it("creates no cluster for a range nothing landed for: it fails at once, saying where it looked", async () => {
    const nothing = { raw: { bucket: "raw", prefix: "rsvps/" }, s3: listingS3([]) };
    const { calls, run } = harness(undefined, definition, nothing);
    const failure = await run({ range: "2026-11-30" }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.cause).toMatchObject({
      name: "NoRawDataInRangeError",
      message: expect.stringContaining(
        "no raw RSVPs landed in s3://raw/rsvps/ on 2026-11-30..2026-12-02",
      ),
    });
    expect(calls.map((c) => c.state)).toEqual(["CheckRange"]);
  });

  it("fails without terminating anything when the cluster could not be created", async () => {
    const { calls, run } = harness("CreateCluster");
    await expect(run({})).rejects.toThrow("CreateCluster failed");
    expect(calls.some((c) => c.state.startsWith("Terminate"))).toBe(false);
  });

  it("gives every Task a Retry, a Catch and a timeout, and the execution a timeout", () => {
    const states = Object.entries(
      definition.States as Record<
        string,
        {
          Type: string;
          TimeoutSeconds?: number;
          Retry?: unknown[];
          Catch?: { ErrorEquals: string[] }[];
        }
      >,
    );
    for (const [name, state] of states.filter(([, s]) => s.Type === "Task")) {
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      expect(state.Catch?.[0]?.ErrorEquals, name).toEqual(["States.ALL"]);
      // An explicit timeout per Task: interpreters differ on the default (the ASL spec says 60 s).
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.TimeoutSeconds, name).toBeLessThanOrEqual(definition.TimeoutSeconds);
    }
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it("waits for the Spark step longer than its own limit plus the cluster's start and a poll", () => {
    // The step waits (PENDING) while the cluster starts, since createCluster does not wait; its
    // `timeout` counts only from when it runs. Step Functions polls an EMR job every 60 s for
    // the first 10 minutes, then every 300 s ("Create and manage Amazon EMR clusters with Step
    // Functions"). So the task's timeout must cover the step's limit, a start-up allowance of
    // 20 minutes and one late poll, or a healthy run near its limit fails as States.Timeout.
    const spark = (
      definition.States as Record<
        string,
        { TimeoutSeconds?: number; Parameters?: { Step?: { HadoopJarStep?: object } } }
      >
    ).CurateWithSpark;
    const args = JSON.stringify(spark?.Parameters?.Step?.HadoopJarStep ?? {});
    const limit = Number(/States\.Array\('timeout', '(\d+)'/.exec(args)?.[1]);
    expect(limit).toBeGreaterThan(0);
    expect(spark?.TimeoutSeconds ?? 0).toBeGreaterThanOrEqual(limit + 1200 + 300);
  });

  it("nests its timeouts: the execution outlasts the longest path of tasks, the terminate among them", () => {
    type Retrier = { MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number };
    type State = {
      Type: string;
      Next?: string;
      TimeoutSeconds?: number;
      Retry?: (Retrier & { ErrorEquals: string[] })[];
      Catch?: { Next: string }[];
      Choices?: { Next: string }[];
      Default?: string;
    };
    const states = definition.States as Record<string, State>;
    // ASL spec, Retry: MaxAttempts defaults to 3, IntervalSeconds to 1, BackoffRate to 2; each
    // retrier counts its own attempts, so the worst case exhausts them all.
    const worstSeconds = (state: State) => {
      const retries = (state.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
      const waits = (state.Retry ?? []).reduce((sum, r) => {
        let wait = 0;
        for (let k = 0; k < (r.MaxAttempts ?? 3); k++)
          wait += (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k;
        return sum + wait;
      }, 0);
      return state.Type === "Task" ? (1 + retries) * (state.TimeoutSeconds ?? 60) + waits : 0;
    };
    // The longest way from a state to the end, over Next, Choice branches and Catch edges.
    const longest = (name: string, seen: Set<string>): number => {
      const state = states[name];
      if (!state || seen.has(name)) return 0;
      const next = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c) => c.Next),
        ...(state.Catch ?? []).map((c) => c.Next),
      ].filter((n): n is string => typeof n === "string");
      const after = Math.max(0, ...next.map((n) => longest(n, new Set([...seen, name]))));
      return worstSeconds(state) + after;
    };
    const worst = longest(definition.StartAt, new Set());
    expect(worst).toBeGreaterThan(4 * 3600); // the Spark step alone may take hours
    expect(worst).toBeLessThan(definition.TimeoutSeconds);
  });

  it("never creates a second cluster while the first may exist", () => {
    // Step Functions Developer Guide, "Create and manage Amazon EMR clusters with Step Functions":
    // createCluster returns the ClusterId; .sync would wait for the cluster and lose the id on a
    // timeout. A retry follows only an error of EMR's API (the cluster was refused), never a
    // timeout, and every later failure has the id to terminate.
    const create = definition.States.CreateCluster as {
      Resource: string;
      Retry: { ErrorEquals: string[] }[];
      ResultPath: string;
    };
    expect(create.Resource).toBe("arn:aws:states:::elasticmapreduce:createCluster");
    expect(create.Retry.flatMap((r) => r.ErrorEquals)).toEqual([
      "EMR.AmazonElasticMapReduceException",
    ]);
    expect(create.ResultPath).toBe("$.cluster");
  });

  it("is valid JSON before substitution, with every placeholder inside a string", () => {
    expect(() => JSON.parse(text)).not.toThrow();
  });
});
