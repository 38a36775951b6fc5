/**
 * `npm start -- --parameter-overrides`: the local run takes template parameters as `sam deploy`
 * does, and only values CloudFormation would take (AWS CloudFormation User Guide, "Parameters
 * section syntax": AllowedPattern, AllowedValues, MinValue/MaxValue for Number, MinLength/
 * MaxLength for String; a broken constraint is said by the parameter's ConstraintDescription).
 */
import { describe, expect, it } from "vitest";
import {
  conditionHolds,
  eventSourceControls,
  functionEnvironment,
  InvalidParameterError,
  loadTemplateModel,
  PARAMETER_OVERRIDES_VARIABLE,
  parseParameterOverrides,
  readTemplate,
  withParameterValues,
} from "../../local/stack/template-model.js";

describe("parameter overrides for local runs", () => {
  it("reads sam deploy's forms, quoted values with spaces included", () => {
    expect(parseParameterOverrides("")).toEqual({});
    expect(
      parseParameterOverrides(
        "ParameterKey=A,ParameterValue=1 B='single quoted' ParameterKey=C,ParameterValue=\"x y\"",
      ),
    ).toEqual({ A: "1", B: "single quoted", C: "x y" });
    expect(parseParameterOverrides(' A=1  B=kafka C="two words" D= E=x=y ' as string)).toEqual({
      A: "1",
      B: "kafka",
      C: "two words",
      D: "",
      E: "x=y",
    });
    expect(() => parseParameterOverrides("A=1 loose")).toThrow(InvalidParameterError);
  });

  it("runs the local event source and function with the values given", () => {
    const template = readTemplate(
      undefined,
      "CityCountsBatchingWindowSeconds=4 CityCountsFailureDestination=kafka CityCountsMaximumRetryAttempts=2 CityCountsBisectBatchOnError=false DedupHorizonDays=30 RsvpTopicName=rsvps",
    );
    expect(eventSourceControls("CityCountsFunction", "RsvpTopic", template)).toEqual({
      batchSize: 100,
      batchingWindowMs: 4000,
      maximumRetryAttempts: 2,
      bisectOnError: false,
      onFailure: { kind: "kafka", topic: "meetup-counts-failed" },
      functionTimeoutMs: 60_000,
    });
    expect(
      functionEnvironment("CityCountsFunction", { CityCountsTable: "t" }, template),
    ).toMatchObject({ RSVP_STATE_TTL_DAYS: "30" });
    // The topics the deploy would make: the failed-records topic only with kafka.
    expect(loadTemplateModel(template).topics.map((topic) => topic.name)).toEqual([
      "rsvps",
      "meetup-dlq",
      "meetup-counts-failed",
    ]);
    expect(
      loadTemplateModel(readTemplate(undefined, "RsvpTopicName=rsvps")).topics.map((t) => t.name),
    ).toEqual(["rsvps", "meetup-dlq"]);
    // Without overrides: the defaults, as every test and npm start without the flag use them.
    expect(
      eventSourceControls("CityCountsFunction", "RsvpTopic", readTemplate(undefined, "")),
    ).toMatchObject({
      batchingWindowMs: 500,
      onFailure: { kind: "s3" },
    });
  });

  it("reaches every reader of the template through the environment (npm start sets it)", () => {
    const before = process.env[PARAMETER_OVERRIDES_VARIABLE];
    process.env[PARAMETER_OVERRIDES_VARIABLE] = "CityCountsBatchSize=7 RsvpTopicName=rsvps";
    try {
      expect(eventSourceControls("CityCountsFunction", "RsvpTopic").batchSize).toBe(7);
      expect(loadTemplateModel().topics[0]?.name).toBe("rsvps");
    } finally {
      process.env[PARAMETER_OVERRIDES_VARIABLE] = before ?? "";
    }
    // vitest.config.ts keeps the tests on the defaults whatever the shell exported.
    expect(eventSourceControls("CityCountsFunction", "RsvpTopic").batchSize).toBe(100);
  });

  it("refuses what CloudFormation would refuse, naming each problem", () => {
    const refused = (overrides: Record<string, string>) => {
      try {
        withParameterValues(readTemplate(undefined, ""), overrides);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidParameterError);
        return (error as Error).message;
      }
      return "accepted";
    };
    expect(refused({ CityCountsFailureDestination: "sqs" })).toBe(
      "CityCountsFailureDestination=sqs: must be one of s3, kafka",
    );
    expect(refused({ RsvpTopicName: "m" })).toMatch(/^RsvpTopicName=m: must match /);
    // Whole-number parameters are Strings with a pattern, refused with their
    // ConstraintDescription as CloudFormation says it; a Number parameter by its bounds.
    expect(refused({ CityCountsBatchingWindowSeconds: "301" })).toBe(
      "CityCountsBatchingWindowSeconds=301: must be -1 or a whole number of seconds from 0 to 300",
    );
    expect(refused({ CityCountsMaximumRetryAttempts: "-2" })).toBe(
      "CityCountsMaximumRetryAttempts=-2: must be a whole number from 0 to 10000",
    );
    expect(refused({ CityCountsBatchSize: "2.5" })).toBe(
      "CityCountsBatchSize=2.5: must be a whole number from 1 to 10000",
    );
    expect(refused({ NoSuchParameter: "1", DedupHorizonDays: "1" })).toBe(
      "NoSuchParameter: template.yaml has no such parameter; DedupHorizonDays=1: must be a whole number of days from 2 to 999999999",
    );
    expect(refused({ DedupHorizonDays: "21", RsvpTopicName: "rsvps" })).toBe("accepted");
    expect(refused({ CountsApiRateLimit: "many" })).toBe(
      "CountsApiRateLimit=many: must be a number",
    );
    expect(refused({ CountsApiRateLimit: "0x10" })).toBe(
      "CountsApiRateLimit=0x10: must be a number",
    );
    expect(refused({ CountsApiRateLimit: "0.5" })).toBe(
      "CountsApiRateLimit=0.5: must be at least 1",
    );
    expect(refused({ CountsApiRateLimit: "2.5" })).toBe("accepted");
    // The template's Rules too, as CloudFormation checks them before making anything.
    expect(refused({ RsvpTopicName: "meetup-dlq" })).toBe(
      "TopicsHaveTheirOwnNames: RsvpTopicName and DeadLetterTopicName must differ.",
    );
    expect(refused({ CountsFailedTopicName: "meetup" })).toBe("accepted");
    expect(
      refused({ CountsFailedTopicName: "meetup", CityCountsFailureDestination: "kafka" }),
    ).toMatch(/^FailedRecordsTopicHasItsOwnName: CountsFailedTopicName must differ/);
    expect(refused({ ExistingVpcId: "vpc-0123abcd" })).toMatch(
      /^ExistingVpcNeedsTwoSubnets: ExistingVpcId needs ExistingPrivateSubnetIds/,
    );
    expect(
      refused({ ExistingVpcId: "vpc-0123abcd", ExistingPrivateSubnetIds: "subnet-1,subnet-2" }),
    ).toBe("accepted");
  });

  it("evaluates conditions as CloudFormation does, literal lists included", () => {
    const template = {
      Parameters: {
        Zones: { Type: "CommaDelimitedList", Default: " a , b" },
        Name: { Type: "String", Default: "b" },
      },
      Conditions: {
        Joined: { "Fn::Equals": [{ "Fn::Join": ["-", ["a", { Ref: "Name" }]] }, "a-b"] },
        ListedZone: { "Fn::Contains": [{ Ref: "Zones" }, "b"] },
        LiteralList: { "Fn::Contains": [["x", { Ref: "Name" }], "b"] },
        NoZones: { "Fn::Equals": [{ "Fn::Join": ["", { Ref: "Zones" }] }, ""] },
        Both: { "Fn::And": [{ Condition: "Joined" }, { "Fn::Not": [{ Condition: "NoZones" }] }] },
      },
      Resources: {},
    };
    for (const name of ["Joined", "ListedZone", "LiteralList", "Both"])
      expect(conditionHolds(name, template), name).toBe(true);
    expect(conditionHolds("NoZones", template)).toBe(false);
  });
});
