/**
 * Every function of template.yaml has a sample event in events/ (what `sam local invoke
 * <Function> -e events/<file>.json` and the tests use), and its handler's own validation
 * accepts it. A new function without one fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readProperties as readSparkScriptProperties } from "../../functions/deploy-artifacts/spark-artifact.js";
import { readProperties as readTopicsProperties } from "../../functions/kafka-topics/handler.js";
import { readExcludedZoneIds } from "../../functions/network-zones/pick-zones.js";
import { renderEventSchema } from "../../functions/shared/batch-contract.js";
import { mskEventSchema } from "../../functions/shared/msk-event.js";
import { readProperties as readSiteProperties } from "../../functions/site-content/site-content.js";
import { readProperties as readBucketsToEmpty } from "../../functions/stack-cleanup/empty-buckets.js";
import { readFamilies } from "../../functions/stack-cleanup/task-definitions.js";
import { functionEnvironment, readTemplate } from "../../local/stack/template-model.js";
import { listingS3 } from "../support/listing-s3.js";
import { sampleEvent } from "../support/sample-events.js";
import { templateFunctions } from "../support/template-compute.js";

const template = readTemplate();

/** Sets the environment the template gives `functionId` (names made up), for a handler that
 * reads its configuration at import. */
function templateEnvironment(functionId: string) {
  const names = Object.fromEntries(Object.keys(template.Resources).map((id) => [id, id]));
  // All but the template's log level (INFO): the tests' output keeps vitest.config.ts's.
  const { POWERTOOLS_LOG_LEVEL: _level, ...environment } = functionEnvironment(functionId, names);
  Object.assign(process.env, environment);
}

/** A custom resource request as CloudFormation sends it. */
function customResourceRequest(value: Record<string, unknown>, resourceType: string) {
  expect(value).toMatchObject({
    RequestType: "Create",
    ResourceType: resourceType,
    ResponseURL: expect.stringMatching(/^https:\/\//),
    StackId: expect.stringMatching(/^arn:aws:cloudformation:/),
    RequestId: expect.any(String),
    LogicalResourceId: expect.any(String),
  });
  // The event's properties are the template's, values as CloudFormation passes them (strings).
  const logicalId = value.LogicalResourceId as string;
  const declared = template.Resources[logicalId];
  expect(declared?.Type).toBe(resourceType);
  expect(Object.keys(value.ResourceProperties as object).sort()).toEqual(
    Object.keys(declared?.Properties ?? {}).sort(),
  );
  return value.ResourceProperties as Record<string, unknown>;
}

/** Each function: its event file, and a check through the handler's own validation. */
const events: Record<string, [string, (value: unknown) => Promise<void> | void]> = {
  KafkaTopicsFunction: [
    "kafka-topics-create.json",
    (value) => {
      readTopicsProperties(
        customResourceRequest(value as Record<string, unknown>, "Custom::KafkaTopics"),
      );
    },
  ],
  CityCountsFunction: ["msk-city-counts.json", (value) => void mskEventSchema.parse(value)],
  CountsApiFunction: [
    "http-get-counts.json",
    async (value) => {
      const request = value as { requestContext: { http: { method: string } } } & {
        queryStringParameters: unknown;
      };
      expect(request.requestContext.http.method).toBe("GET");
      templateEnvironment("CountsApiFunction");
      const { countsQuerySchema } = await import("../../functions/counts-api/handler.js");
      countsQuerySchema.parse(request.queryStringParameters);
    },
  ],
  ClusteringFunction: [
    "cluster-venues.json",
    async (value) => {
      templateEnvironment("ClusteringFunction");
      const { clusteringEventSchema } = await import("../../functions/clustering/handler.js");
      expect(clusteringEventSchema.parse(value).range).toBe("2018-05-20..2018-05-26");
    },
  ],
  RenderMapFunction: ["render-map.json", (value) => void renderEventSchema.parse(value)],
  BatchRangeFunction: [
    "batch-range.json",
    async (value) => {
      templateEnvironment("BatchRangeFunction");
      const { checkBatchRange, defaultDependencies } = await import(
        "../../functions/batch-range/handler.js"
      );
      // The raw bucket as the template names it, with one object landed in the range.
      const s3 = listingS3([`${defaultDependencies.raw.prefix}dt=2018-05-21/part-0.gz`]);
      expect(await checkBatchRange(value, { ...defaultDependencies, s3 })).toEqual({
        range: "2018-05-20..2018-05-26",
        all: false,
        first: "2018-05-20",
        last: "2018-05-26",
      });
    },
  ],
  DeployArtifactsFunction: [
    "deploy-artifacts-create.json",
    (value) => {
      readSparkScriptProperties(
        customResourceRequest(value as Record<string, unknown>, "Custom::SparkJobScript"),
      );
    },
  ],
  SiteContentFunction: [
    "site-content-create.json",
    (value) => {
      readSiteProperties(
        customResourceRequest(value as Record<string, unknown>, "Custom::SiteContent"),
      );
    },
  ],
  StackCleanupFunction: [
    "task-definitions-delete.json",
    (value) => {
      const request = value as Record<string, unknown>;
      expect(request.RequestType).toBe("Delete");
      readFamilies(
        customResourceRequest(
          { ...request, RequestType: "Create" },
          "Custom::DeleteTaskDefinitions",
        ),
      );
    },
  ],
  BucketCleanupFunction: [
    "empty-buckets-delete.json",
    (value) => {
      const request = value as Record<string, unknown>;
      expect(request.RequestType).toBe("Delete");
      readBucketsToEmpty(
        customResourceRequest({ ...request, RequestType: "Create" }, "Custom::EmptyBuckets"),
      );
    },
  ],
  NetworkZonesFunction: [
    "network-zones-create.json",
    (value) => {
      readExcludedZoneIds(
        customResourceRequest(value as Record<string, unknown>, "Custom::NetworkZones"),
      );
    },
  ],
  // The schedule sends no Input: the function takes any payload and ignores it.
  ClusterWatchFunction: ["cluster-watch.json", (value) => expect(value).toEqual({})],
};

describe("events/", () => {
  it("has an event for every function of the template, and for no other", () => {
    const functions = templateFunctions(template).map((f) => f.logicalId);
    expect(Object.keys(events).sort()).toEqual(functions.sort());
  });

  it.each(Object.entries(events).map(([id, [file, check]]) => [id, file, check] as const))(
    "%s: its handler accepts %s",
    async (_id, file, check) => {
      await check(sampleEvent<unknown>(file));
    },
  );

  it("lists every event file in its README", () => {
    const readme = readFileSync(new URL("../../events/README.md", import.meta.url), "utf8");
    for (const [id, [file]] of Object.entries(events)) {
      expect(readme).toContain(`\`${file}\``);
      expect(readme).toContain(`\`${id}\``);
    }
  });
});
