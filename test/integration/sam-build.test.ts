/**
 * The deployable build: what `sam build` (a step of npm test, into .cache/sam-build) made of
 * template.yaml. Every function's handler file is there and exports the handler the template
 * names; every environment variable a handler reads is set by the template or has a default;
 * the layer holds the packages the batch bundles leave External.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheDir, repoRoot } from "../../local/setup/paths.js";
import { readTemplate } from "../../local/stack/template-model.js";

const buildDir = join(cacheDir, "sam-build");
const built = existsSync(join(buildDir, "template.yaml"));
const template = readTemplate();

interface FunctionSpec {
  logicalId: string;
  /** "handler.handler": the file handler.mjs, its export handler. */
  handler: string;
  /** The TypeScript module the bundle is built from. */
  entryPoint: string;
  variables: Set<string>;
}

const globalVariables = Object.keys(
  (template as { Globals?: { Function?: { Environment?: { Variables?: object } } } }).Globals
    ?.Function?.Environment?.Variables ?? {},
);

const functions: FunctionSpec[] = Object.entries(template.Resources)
  .filter(([, resource]) => resource.Type === "AWS::Serverless::Function")
  .map(([logicalId, resource]) => {
    const properties = (resource.Properties ?? {}) as {
      Handler: string;
      CodeUri: string;
      Environment?: { Variables?: object };
    };
    const metadata = (resource as { Metadata?: { BuildProperties?: { EntryPoints?: string[] } } })
      .Metadata;
    // esbuild functions name their entry point; the makefile one bundles <CodeUri>/handler.ts.
    const entryPoint =
      metadata?.BuildProperties?.EntryPoints?.[0] ?? join(properties.CodeUri, "handler.ts");
    return {
      logicalId,
      handler: properties.Handler,
      entryPoint,
      variables: new Set([
        ...globalVariables,
        ...Object.keys(properties.Environment?.Variables ?? {}),
      ]),
    };
  });

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

/** The entry module and every module of functions/ it imports, transitively (relative imports). */
function sourcesOf(entryPoint: string): Map<string, string> {
  const sources = new Map<string, string>();
  const visit = (path: string) => {
    if (sources.has(path) || !existsSync(path)) return;
    const text = readFileSync(path, "utf8");
    sources.set(path, text);
    for (const match of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) {
      visit(resolve(dirname(path), `${match[1]}.ts`));
    }
  };
  visit(join(repoRoot, entryPoint));
  return sources;
}

interface Read {
  name: string;
  /** A default in the zod schema, or a `??` fallback after process.env.X. */
  optional: boolean;
  where: string;
}

/** Every variable a module reads: the keys of readConfig(z.object({...})) and process.env.X. */
function variablesRead(sources: Map<string, string>): Read[] {
  const reads: Read[] = [];
  for (const [path, text] of sources) {
    const where = path.slice(repoRoot.length + 1);
    for (const call of text.matchAll(/readConfig\(\s*z\s*\.object\(\{([\s\S]*?)\}\)/g)) {
      // One entry per KEY: up to the next KEY (the schema's keys are the variables' names).
      const body = call[1] ?? "";
      const keys = [...body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)];
      keys.forEach((key, index) => {
        const end = keys[index + 1]?.index ?? body.length;
        const definition = body.slice(key.index ?? 0, end);
        reads.push({ name: key[1] ?? "", optional: /\.default\(/.test(definition), where });
      });
    }
    for (const match of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)(\s*\?\?)?/g)) {
      reads.push({ name: match[1] ?? "", optional: match[2] !== undefined, where });
    }
  }
  return reads;
}

/**
 * Variables a handler reads that the template rightly leaves unset, each with why. Anything
 * else a handler reads without a default must be set by the template.
 */
const unsetOnAws: Record<string, string> = {
  // The local stack points the SDK at moto; on AWS the SDK's own endpoints are right.
  AWS_ENDPOINT_URL: "set only by the local stack (moto)",
};

describe("the sam build output (.cache/sam-build)", () => {
  if (!built) {
    // A developer running vitest alone, without npm test's build step: say so, check nothing.
    it.skip("skipped: .cache/sam-build is absent (npm test's `sam build` step did not run)", () => {});
    return;
  }

  it("lists every function of template.yaml", () => {
    expect(functions.map((f) => f.logicalId).sort()).toEqual([
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

  it.each(functions)(
    "gives $logicalId every variable its handler reads without a default",
    ({ entryPoint, variables }) => {
      const sources = sourcesOf(entryPoint);
      expect(sources.size, entryPoint).toBeGreaterThan(0);
      for (const read of variablesRead(sources)) {
        if (read.optional || read.name in unsetOnAws) continue;
        expect(variables.has(read.name), `${read.name} (read in ${read.where})`).toBe(true);
      }
    },
  );

  it("finds the variables of a handler's config schema (the scan itself)", () => {
    const reads = variablesRead(sourcesOf("functions/clustering/handler.ts"));
    const required = reads.filter((r) => !r.optional).map((r) => r.name);
    expect(required).toEqual(expect.arrayContaining(["CURATED_BUCKET", "BATCH_BUCKET"]));
    expect(reads.find((r) => r.name === "K_MIN")?.optional).toBe(true);
    expect(reads.find((r) => r.name === "POWERTOOLS_SERVICE_NAME")?.optional).toBe(true);
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
