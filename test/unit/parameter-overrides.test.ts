/**
 * `npm start -- --parameter-overrides`: the local run takes template parameters as `sam deploy`
 * does, and only values CloudFormation would take (AWS CloudFormation User Guide, "Parameters
 * section syntax": AllowedPattern, AllowedValues, MinValue/MaxValue for Number, MinLength/
 * MaxLength for String).
 */
import { describe, expect, it } from "vitest";
import {
  eventSourceControls,
  functionEnvironment,
  InvalidParameterError,
  loadTemplateModel,
  parseParameterOverrides,
  readTemplate,
  withParameterValues,
} from "../../local/stack/template-model.js";

describe("parameter overrides for local runs", () => {
  it("reads sam deploy's Name=Value form, quoted values with spaces included", () => {
    expect(parseParameterOverrides("")).toEqual({});
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
    });
    expect(
      functionEnvironment("CityCountsFunction", { CityCountsTable: "t" }, template),
    ).toMatchObject({ RSVP_STATE_TTL_DAYS: "30" });
    expect(loadTemplateModel(template).topics.map((topic) => topic.name)).toContain("rsvps");
    // Without overrides: the defaults, as every test and npm start without the flag use them.
    expect(
      eventSourceControls("CityCountsFunction", "RsvpTopic", readTemplate(undefined, "")),
    ).toMatchObject({
      batchingWindowMs: 500,
      onFailure: { kind: "s3" },
    });
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
    expect(refused({ CityCountsBatchingWindowSeconds: "301" })).toBe(
      "CityCountsBatchingWindowSeconds=301: must be at most 300",
    );
    expect(refused({ CityCountsMaximumRetryAttempts: "-2" })).toBe(
      "CityCountsMaximumRetryAttempts=-2: must be at least 0",
    );
    expect(refused({ CityCountsBatchSize: "many" })).toBe(
      "CityCountsBatchSize=many: must be a number",
    );
    expect(refused({ NoSuchParameter: "1", DedupHorizonDays: "1" })).toBe(
      "NoSuchParameter: template.yaml has no such parameter; DedupHorizonDays=1: must be at least 2",
    );
    expect(refused({ DedupHorizonDays: "21", RsvpTopicName: "rsvps" })).toBe("accepted");
  });
});
