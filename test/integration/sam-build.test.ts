/**
 * The deployable build: what `sam build` (a step of npm test, into .cache/sam-build) made of
 * template.yaml. Every function's handler file is there and exports the handler the template
 * names; the layer holds the packages the batch bundles leave External. (That the template
 * gives each handler the environment its configuration needs is test/unit/env-config.test.ts.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheDir } from "../../local/setup/paths.js";
import { readTemplate } from "../../local/stack/template-model.js";
import { templateFunctions } from "../support/template-compute.js";

const buildDir = join(cacheDir, "sam-build");
const built = existsSync(join(buildDir, "template.yaml"));
const template = readTemplate();
const functions = templateFunctions(template);

/** The names a minified ES module exports: `export{a as handler,b}` and `export function x`. */
function exportedNames(bundle: string): Set<string> {
  const names = new Set<string>();
  for (const match of bundle.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const part of (match[1] ?? "").split(",")) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name);
    }
  }
  for (const match of bundle.matchAll(
    /export\s+(?:async\s+)?(?:function|const|let|var)\s+(\w+)/g,
  )) {
    if (match[1]) names.add(match[1]);
  }
  return names;
}

describe("the sam build output (.cache/sam-build)", () => {
  if (!built) {
    // A developer running vitest alone, without npm test's build step: say so, check nothing.
    it.skip("skipped: .cache/sam-build is absent (npm test's `sam build` step did not run)", () => {});
    return;
  }

  it("lists every function of template.yaml", () => {
    expect(functions.map((f) => f.logicalId).sort()).toEqual([
      "BatchRangeFunction",
      "BucketCleanupFunction",
      "CityCountsFunction",
      "ClusterWatchFunction",
      "ClusteringFunction",
      "CountsApiFunction",
      "DeployArtifactsFunction",
      "KafkaTopicsFunction",
      "NetworkZonesFunction",
      "RenderMapFunction",
      "SiteContentFunction",
      "StackCleanupFunction",
    ]);
  });

  it.each(functions)(
    "has $logicalId's handler file, exporting the handler the template names",
    ({ logicalId, handler }) => {
      const [file, exportName] = handler.split(".");
      const bundlePath = join(buildDir, logicalId, `${file}.mjs`);
      expect(existsSync(bundlePath), bundlePath).toBe(true);
      expect([...exportedNames(readFileSync(bundlePath, "utf8"))], bundlePath).toContain(
        exportName,
      );
    },
  );

  it("bundles kafkajs with its patch (patches/kafkajs+2.2.4.patch) into the topics Lambda", () => {
    const bundle = readFileSync(join(buildDir, "KafkaTopicsFunction", "handler.mjs"), "utf8");
    // The throttle check's delay, minified: setTimeout(() => {...}, Math.max(1, scheduleAt)).
    expect(bundle).toMatch(
      /throttleCheckTimeoutId=null,this\.checkPendingRequests\(\)\},Math\.max\(1,\w+\)\)/,
    );
  });

  it("builds the layer with the packages the batch bundles leave External", () => {
    const layer = join(buildDir, "AtlasDataLayer", "nodejs", "node_modules");
    for (const id of ["ClusteringFunction", "RenderMapFunction"]) {
      const external =
        (
          template.Resources[id] as {
            Metadata?: { BuildProperties?: { External?: string[] } };
          }
        ).Metadata?.BuildProperties?.External ?? [];
      expect(external.length, id).toBeGreaterThan(0);
      for (const name of external) {
        expect(existsSync(join(layer, name, "package.json")), `${id}: ${name}`).toBe(true);
      }
    }
  });
});
