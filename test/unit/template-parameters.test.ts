/**
 * What template.yaml's parameters accept, against what takes their values: a value a parameter
 * lets through but the code or the service behind it refuses fails a deploy halfway (a task
 * that stops at start fails its service's circuit breaker, a custom resource answers FAILED).
 * CloudFormation matches AllowedPattern against the whole value (AWS CloudFormation User Guide,
 * "Parameters section syntax"); cfn-lint cannot see these, the values being parameters.
 */
import { describe, expect, it } from "vitest";
import { readProperties } from "../../functions/kafka-topics/topics-resource.js";
import { readTemplate, withParameterValues } from "../../local/stack/template-model.js";
import { ingestConfigSchema } from "../../tasks/ingest/config.js";
import { parsePacing } from "../../tasks/replay-feed/config.js";
import { wholeNumberRange } from "../support/whole-number-range.js";

const template = readTemplate(undefined, "");
/** Whether CloudFormation would take `value` for `name` (with `others`, for the Rules). */
const accepts = (name: string, value: string, others: Record<string, string> = {}): boolean => {
  try {
    withParameterValues(readTemplate(undefined, ""), { ...others, [name]: value });
    return true;
  } catch {
    return false;
  }
};

describe("template.yaml's parameters", () => {
  it("each accept their own default", () => {
    for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
      expect(accepts(name, String(parameter.Default ?? "")), name).toBe(true);
    }
  });

  it("FeedUrl: only URLs the ingest task takes (else it stops at start)", () => {
    const taskTakes = (url: string) => ingestConfigSchema.shape.FEED_URL.safeParse(url).success;
    const good = [
      "",
      "wss://stream.example.com/2/rsvps",
      "ws://10.0.1.7:8080/",
      "ws://replay.rsvp-atlas.local:8080",
      "wss://feed.example.org:443/path?since=1#x",
      "ws://[::1]:8080/",
      "wss://[2001:db8::1]/rsvps",
      "wss://user:pw@feed.example.com/x",
      "ws://1.2.3.4:8080/",
    ];
    const bad = [
      "http://example.com/",
      "ws://exa mple.com/",
      "ws://host:99999/",
      "ws://host:0/",
      "wss://:443/",
      "ws://",
      " wss://example.com/",
      "ws://a<b/",
      "ws://a%zz/",
      "ws://999.1.1.1/",
      "ws://host\u00a0x/",
      "ws://host/\u00a0",
    ];
    for (const url of good) expect(accepts("FeedUrl", url), url).toBe(true);
    for (const url of bad) expect(accepts("FeedUrl", url), url).toBe(false);
    for (const url of [...good, ...bad].filter((u) => u !== "" && accepts("FeedUrl", u))) {
      expect(taskTakes(url), url).toBe(true);
    }
  });

  it("ReplayPacing: only what the replay task's parsePacing takes", () => {
    const taskTakes = (value: string) => {
      try {
        parsePacing(value);
        return true;
      } catch {
        return false;
      }
    };
    const good = ["recorded:60", "recorded:0.5", "rate:25", "rate:.5", "rate:2.", "asap"];
    const bad = ["rate:0", "recorded:0.0", "rate:.", "recorded:1.2.3", "rate:-1", "fast"];
    for (const value of good) expect(accepts("ReplayPacing", value), value).toBe(true);
    for (const value of bad) expect(accepts("ReplayPacing", value), value).toBe(false);
    for (const value of [...good, ...bad, "rate: 5", "recorded:1e3"]) {
      if (accepts("ReplayPacing", value)) expect(taskTakes(value), value).toBe(true);
    }
    for (const value of bad) expect(taskTakes(value), value).toBe(false);
  });

  it("topic names: only what the topics resource creates, each at most 249 characters", () => {
    const created = (name: string) => {
      try {
        readProperties({
          ServiceToken: "arn",
          Topics: [{ Name: name, Partitions: "1", ReplicationFactor: "2" }],
        });
        return true;
      } catch {
        return false;
      }
    };
    for (const parameter of ["RsvpTopicName", "DeadLetterTopicName", "CountsFailedTopicName"]) {
      for (const name of ["meetup-x", ".", "..", ".x", "a".repeat(249), "a".repeat(250), "a b"]) {
        if (accepts(parameter, name)) expect(created(name), `${parameter}=${name}`).toBe(true);
      }
      expect(accepts(parameter, "a".repeat(250)), parameter).toBe(false);
      expect(accepts(parameter, "."), parameter).toBe(false);
    }
  });

  it("keeps the topics' names apart (the topics resource refuses a name twice)", () => {
    // CloudFormation Rules: checked before any resource is made.
    const rules = (template as { Rules?: Record<string, unknown> }).Rules ?? {};
    expect(rules.TopicsHaveTheirOwnNames).toEqual({
      Assertions: [
        {
          Assert: {
            "Fn::Not": [
              { "Fn::Equals": [{ Ref: "RsvpTopicName" }, { Ref: "DeadLetterTopicName" }] },
            ],
          },
          AssertDescription: "RsvpTopicName and DeadLetterTopicName must differ.",
        },
      ],
    });
    expect(rules.FailedRecordsTopicHasItsOwnName).toMatchObject({
      RuleCondition: { "Fn::Equals": [{ Ref: "CityCountsFailureDestination" }, "kafka"] },
      Assertions: [
        {
          Assert: {
            "Fn::Not": [
              {
                "Fn::Or": [
                  { "Fn::Equals": [{ Ref: "CountsFailedTopicName" }, { Ref: "RsvpTopicName" }] },
                  {
                    "Fn::Equals": [
                      { Ref: "CountsFailedTopicName" },
                      { Ref: "DeadLetterTopicName" },
                    ],
                  },
                ],
              },
            ],
          },
        },
      ],
    });
  });

  it("IngestImageUri: an ECR image by tag or digest, no space, at most 255 characters", () => {
    // Amazon ECS API reference, ContainerDefinition image: up to 255 letters, numbers, hyphens,
    // underscores, colons, periods, forward slashes and number signs.
    const repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rsvp-atlas-ingest";
    // An image needs a feed (Rule IngestNeedsAFeed).
    const withFeed = { FeedUrl: "wss://feed.example.com/" };
    expect(accepts("IngestImageUri", "", withFeed)).toBe(true);
    expect(accepts("IngestImageUri", `${repo}:v1.2_3`, withFeed)).toBe(true);
    expect(accepts("IngestImageUri", `${repo}@sha256:${"a".repeat(64)}`, withFeed)).toBe(true);
    expect(accepts("IngestImageUri", `${repo}:v1@sha256:${"a".repeat(64)}`, withFeed)).toBe(true);
    // Untagged: ECS pulls latest. Other ECR registry endpoints (AWS General Reference, "Amazon
    // ECR endpoints and quotas": dkr.ecr and dkr.ecr-fips under amazonaws.com, dkr-ecr and
    // dkr-ecr-fips dual-stack under on.aws; China under amazonaws.com.cn).
    expect(accepts("IngestImageUri", repo, withFeed)).toBe(true);
    for (const registry of [
      "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
      "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
      "123456789012.dkr-ecr.eu-west-1.on.aws",
      "123456789012.dkr-ecr-fips.us-east-2.on.aws",
    ]) {
      expect(accepts("IngestImageUri", `${registry}/ingest:v1`, withFeed), registry).toBe(true);
    }
    expect(accepts("IngestImageUri", `${repo}:v 1`, withFeed)).toBe(false);
    expect(accepts("IngestImageUri", ` ${repo}:v1`, withFeed)).toBe(false);
    // ECR image tags: at most 128 characters.
    expect(accepts("IngestImageUri", `${repo}:${"t".repeat(128)}`, withFeed)).toBe(true);
    expect(accepts("IngestImageUri", `${repo}:${"t".repeat(129)}`, withFeed)).toBe(false);
    expect(accepts("IngestImageUri", `${repo}/${"x".repeat(200)}:v1`, withFeed)).toBe(false);
  });

  // About 7 s of pattern checks alone, and over the unit default of 20 s beside other test files
  // and a CI run on two cores: its own limit.
  it("counts, sizes and durations: whole numbers in range, written plainly", () => {
    // A CloudFormation Number is "an integer or float" (User Guide, "Parameters section
    // syntax"): 2.5 or -1.0 would pass it and fail halfway, at the resource (an Integer
    // property), in a Lambda's config (z.int()) or, for the daily batch, only when the state
    // machine hands States.StringToJson's 3600.5 to EMR. So each is a String whose
    // AllowedPattern spells its range. Bounds from the services: Lambda Developer Guide, "All
    // Amazon MSK event source configuration parameters" and CreateEventSourceMapping (BatchSize
    // 1-10,000; MaximumBatchingWindowInSeconds 0-300; MaximumRetryAttempts 0-10,000 or -1,
    // left out; pollers 1-200 and 1-2,000); EMR API reference, AutoTerminationPolicy
    // (IdleTimeout 60-604,800 s). The rest are this stack's own choices.
    const ranges: Record<string, [number, number]> = {
      // MSK Developer Guide, "Best practices for Standard brokers": a kafka.t3.small broker
      // holds at most 300 partitions (leaders and followers) for update operations to work;
      // three topics, replication factor 2 on two brokers, plus 50 of consumer offsets.
      TopicPartitions: [1, 64],
      DedupHorizonDays: [2, 999999999],
      RsvpTopicRetentionHours: [1, 999999999],
      CityCountsBatchingWindowSeconds: [-1, 300],
      CityCountsMaximumRetryAttempts: [0, 10000],
      CityCountsMinimumPollers: [1, 200],
      CityCountsMaximumPollers: [1, 2000],
      CityCountsLagAlarmRecords: [1, 999999999],
      CityCountsBatchSize: [1, 10000],
      CountsApiEdgeCacheSeconds: [1, 60],
      RawDataRetentionDays: [1, 999999999],
      BatchOutputRetentionDays: [1, 999999999],
      EmrCoreInstanceCount: [1, 50],
      EmrTaskInstanceCount: [0, 100],
      EmrIdleTimeoutSeconds: [60, 604800],
      ClusteringKMin: [2, 120],
      ClusteringKMax: [2, 120],
      ClusteringSeed: [-999999999999999, 999999999999999],
      DeadLetterAlarmThreshold: [1, 999999999],
      EmrClusterMaxAgeMinutes: [30, 999999999],
    };
    for (const [name, range] of Object.entries(ranges)) {
      expect(wholeNumberRange(name), name).toEqual(range);
    }
    // The seed stays a safe JavaScript integer (the clustering Lambda reads it with zod).
    expect(accepts("ClusteringSeed", "-999999999999999")).toBe(true);
    expect(accepts("ClusteringSeed", "9999999999999999")).toBe(false);
    // The one Number left takes a fraction where it goes: an HTTP API stage's
    // ThrottlingRateLimit is a Number, a double in the API (CloudFormation Template Reference,
    // AWS::ApiGatewayV2::Stage RouteSettings).
    const numbers = Object.entries(template.Parameters ?? {}).filter(
      ([, parameter]) => parameter.Type === "Number",
    );
    expect(numbers.map(([name]) => name)).toEqual(["CountsApiRateLimit"]);
    expect(accepts("CountsApiRateLimit", "2.5")).toBe(true);
    // LogRetentionDays: the values CloudWatch Logs takes (CloudWatch Logs API Reference,
    // PutRetentionPolicy, retentionInDays: "Possible values are ..."), listed as strings.
    expect(template.Parameters?.LogRetentionDays?.AllowedValues).toEqual(
      [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
        3288, 3653,
      ].map(String),
    );
    expect(accepts("LogRetentionDays", "30")).toBe(true);
    expect(accepts("LogRetentionDays", "30.0")).toBe(false);
  }, 60_000);

  it("ExistingVpcId and the EMR instance types: only values of their forms", () => {
    // EC2 ids: 8 or 17 hexadecimal digits after the prefix (Amazon EC2 User Guide, "Resource
    // IDs": 8 characters before 2016, 17 since); EMR instance types (family.size)
    // go into the state machine's JSON through DefinitionSubstitutions.
    const subnets = { ExistingPrivateSubnetIds: "subnet-1,subnet-2" };
    expect(accepts("ExistingVpcId", `vpc-${"a".repeat(8)}`, subnets)).toBe(true);
    expect(accepts("ExistingVpcId", `vpc-${"a".repeat(17)}`, subnets)).toBe(true);
    expect(accepts("ExistingVpcId", `vpc-${"a".repeat(12)}`, subnets)).toBe(false);
    for (const digits of [8, 17])
      expect(accepts("EmrSubnetId", `subnet-${"0".repeat(digits)}`)).toBe(true);
    for (const digits of [7, 12, 18])
      expect(accepts("EmrSubnetId", `subnet-${"0".repeat(digits)}`)).toBe(false);
    for (const parameter of [
      "EmrPrimaryInstanceType",
      "EmrCoreInstanceType",
      "EmrTaskInstanceType",
    ]) {
      expect(accepts(parameter, "r7gd.2xlarge"), parameter).toBe(true);
      expect(accepts(parameter, "M7G.XLARGE"), parameter).toBe(false);
      expect(accepts(parameter, 'm7g.xlarge"'), parameter).toBe(false);
    }
  });
});
