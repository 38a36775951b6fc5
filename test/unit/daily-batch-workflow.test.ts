/**
 * statemachines/daily-batch.asl.json executed by a local ASL interpreter (aws-local-stepfunctions),
 * every Task overridden by a local handler: the cluster is terminated whatever happens after it
 * exists, failures end the execution with their cause, and the range reaches the Spark job.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";

type Handler = (input: Record<string, unknown>) => Promise<unknown>;
type Machine = {
  run(
    input: unknown,
    options: {
      overrides: {
        taskResourceLocalHandlers: Record<string, Handler>;
        retryIntervalOverrides: Record<string, number>;
      };
    },
  ): { result: Promise<unknown> };
};
let StateMachine: new (definition: unknown, options?: unknown) => Machine;

const SUBSTITUTIONS: Record<string, string> = {
  ClusterName: "rsvp-atlas-daily",
  EmrReleaseLabel: "emr-7.12.0",
  EmrServiceRole: "arn:aws:iam::123456789012:role/emr-service",
  EmrInstanceProfile: "emr-instance-profile",
  EmrLogUri: "s3://logs/emr/",
  SubnetId: "subnet-0123",
  PrimaryInstanceType: "m7g.xlarge",
  CoreInstanceType: "m7g.xlarge",
  CoreMarket: "ON_DEMAND",
  SparkScriptUri: "s3://artifacts/spark/curate_rsvps.py",
  RawDataUri: "s3://raw/rsvps",
  CuratedDataUri: "s3://curated",
  ClusteringFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:clustering",
  RenderFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:render",
};

const text = readFileSync(
  new URL("../../statemachines/daily-batch.asl.json", import.meta.url),
  "utf8",
);
const definition = JSON.parse(
  text.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
    const value = SUBSTITUTIONS[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}}`);
    return value;
  }),
);

beforeAll(async () => {
  // aws-local-stepfunctions 3 wants Node 22's Promise.withResolvers; Node 20 lacks it.
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
  ({ StateMachine } = (await import("aws-local-stepfunctions")) as unknown as {
    StateMachine: typeof StateMachine;
  });
});

function harness(failAt?: string) {
  const calls: { state: string; input: Record<string, unknown> }[] = [];
  const handler =
    (state: string, result: unknown): Handler =>
    async (input) => {
      calls.push({ state, input });
      if (state === failAt)
        throw Object.assign(new Error(`${state} failed`), { name: "StepFailed" });
      return result;
    };
  const taskResourceLocalHandlers = {
    CreateCluster: handler("CreateCluster", { ClusterId: "j-TESTCLUSTER" }),
    CurateWithSpark: handler("CurateWithSpark", {}),
    ClusterVenues: handler("ClusterVenues", { Payload: { clusters: 7 } }),
    RenderMap: handler("RenderMap", { Payload: { map: "s3://site/map.png" } }),
    TerminateCluster: handler("TerminateCluster", {}),
    TerminateAfterFailure: handler("TerminateAfterFailure", {}),
  };
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(taskResourceLocalHandlers).map((s) => [s, 0]),
  );
  const run = (input: unknown) =>
    new StateMachine(definition, { validationOptions: { checkArn: false } }).run(input, {
      overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
    }).result;
  return { calls, run };
}

describe("daily batch workflow", () => {
  it("runs create -> Spark -> cluster -> render -> terminate, with yesterday by default", async () => {
    const { calls, run } = harness();
    await run({});
    expect(calls.map((c) => c.state)).toEqual([
      "CreateCluster",
      "CurateWithSpark",
      "ClusterVenues",
      "RenderMap",
      "TerminateCluster",
    ]);
    const step = calls[1]?.input as {
      ClusterId: string;
      Step: { HadoopJarStep: { Args: string[] } };
    };
    expect(step.ClusterId).toBe("j-TESTCLUSTER");
    expect(step.Step.HadoopJarStep.Args.slice(-2)).toEqual(["--range", "yesterday"]);
    expect(calls[4]?.input).toEqual({ ClusterId: "j-TESTCLUSTER" });
  });

  it("passes a range chosen by hand to the Spark job and the Lambdas", async () => {
    const { calls, run } = harness();
    await run({ range: "2018-05-20..2018-05-21" });
    const args = (calls[1]?.input as { Step: { HadoopJarStep: { Args: string[] } } } | undefined)
      ?.Step.HadoopJarStep.Args;
    expect(args?.at(-1)).toBe("2018-05-20..2018-05-21");
    expect(calls[2]?.input).toEqual({
      FunctionName: SUBSTITUTIONS.ClusteringFunctionArn,
      Payload: { range: "2018-05-20..2018-05-21" },
    });
  });

  it.each(["CurateWithSpark", "ClusterVenues", "RenderMap"])(
    "terminates the cluster and fails with the cause when %s fails",
    async (state) => {
      const { calls, run } = harness(state);
      await expect(run({})).rejects.toThrow(`${state} failed`);
      expect(calls.at(-1)).toEqual({
        state: "TerminateAfterFailure",
        input: { ClusterId: "j-TESTCLUSTER" },
      });
      expect(calls.filter((c) => c.state === state).length).toBeGreaterThanOrEqual(1);
    },
  );

  it("fails without terminating anything when the cluster could not be created", async () => {
    const { calls, run } = harness("CreateCluster");
    await expect(run({})).rejects.toThrow("CreateCluster failed");
    expect(calls.some((c) => c.state.startsWith("Terminate"))).toBe(false);
  });

  it("gives every Task a Retry and a Catch, and the execution a timeout", () => {
    const states = Object.entries(
      definition.States as Record<
        string,
        { Type: string; Retry?: unknown[]; Catch?: { ErrorEquals: string[] }[] }
      >,
    );
    for (const [name, state] of states.filter(([, s]) => s.Type === "Task")) {
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      expect(state.Catch?.[0]?.ErrorEquals, name).toEqual(["States.ALL"]);
    }
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });
});
