/**
 * Every function and task of template.yaml gets the environment its configuration asks for.
 * Handlers and tasks read their configuration with functions/shared/config.ts's readConfig and a
 * zod schema; here readConfig is replaced by one that hands the schema over and stops the module
 * there, each entry module is loaded, and its schema is held against the variables the template
 * gives that function or container:
 *
 * - each variable the schema requires (no default, not optional) is set;
 * - each variable set is one the schema or the runtime reads: a misspelt name would otherwise
 *   leave the schema's default silently in force;
 * - each value the template states (a literal, or a parameter's default) passes the schema.
 */
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { repoRoot } from "../../local/setup/paths.js";
import { readTemplate } from "../../local/stack/template-model.js";
import { templateContainers, templateFunctions } from "../support/template-compute.js";

const read = vi.hoisted(() => ({
  schema: undefined as z.ZodType | undefined,
  /** Thrown by the stand-in readConfig: the module's configuration was read, and nothing after. */
  Stop: class ConfigurationRead extends Error {},
}));

vi.mock(import("../../functions/shared/config.js"), async (importOriginal) => ({
  ...(await importOriginal()),
  readConfig: ((schema: z.ZodType) => {
    read.schema = schema;
    throw new read.Stop("configuration read");
  }) as never,
}));
// esbuild bundles the Spark job as text (`Loader: .py=text`); vitest has no such loader.
vi.mock(import("../../spark/curate_rsvps.py"), () => ({ default: "" }));

const template = readTemplate();

/**
 * Variables read by the runtime rather than by a schema, which the template may set on anything:
 * `Globals` gives every function the first two.
 */
const RUNTIME_VARIABLES: Record<string, string> = {
  NODE_OPTIONS: "node itself (--enable-source-maps)",
  POWERTOOLS_LOG_LEVEL: "Powertools' logger",
  POWERTOOLS_SERVICE_NAME: "Powertools' logger, through functions/shared/logger.ts",
};

/** The module each container's command runs: `<name>.mjs` is tasks/<name>/main.ts, bundled. */
const CONTAINER_ENTRY_POINTS: Record<string, string> = {
  // tasks/Dockerfile's CMD, ingest.mjs: the ingest task definition keeps it.
  IngestTaskDefinition: "tasks/ingest/main.ts",
  ReplayFeedTaskDefinition: "tasks/replay-feed/main.ts",
};

/** Functions that read their configuration per request, not at import: how to make them read it. */
const READ_PER_REQUEST: Record<string, (module: Record<string, unknown>) => Promise<unknown>> = {
  // So that a bad configuration is answered FAILED to CloudFormation (see its handler).
  KafkaTopicsFunction: (module) => (module.adminFromEnvironment as () => Promise<unknown>)(),
};

interface Deployed {
  /** The function's logical id, or the task definition's. */
  id: string;
  entryPoint: string;
  /** What the template sets, and the value where the template states it here. */
  variables: Map<string, unknown>;
}

const deployed: Deployed[] = [
  ...templateFunctions(template).map(({ logicalId, entryPoint, environment }) => ({
    id: logicalId,
    entryPoint,
    variables: new Map(Object.entries(environment)),
  })),
  ...templateContainers(template).map(({ logicalId, environment, secrets }) => ({
    id: logicalId,
    entryPoint: CONTAINER_ENTRY_POINTS[logicalId] ?? `(no entry point known for ${logicalId})`,
    variables: new Map([
      ...Object.entries(environment),
      ...secrets.map((name): [string, unknown] => [name, { Secret: name }]),
    ]),
  })),
];

/** The schema `entryPoint` reads its configuration with; undefined if it reads none. */
async function configurationOf(id: string, entryPoint: string): Promise<z.ZodType | undefined> {
  read.schema = undefined;
  vi.resetModules();
  try {
    const module = (await import(join(repoRoot, entryPoint))) as Record<string, unknown>;
    await READ_PER_REQUEST[id]?.(module);
  } catch (error) {
    if (!(error instanceof read.Stop)) throw error;
  }
  return read.schema;
}

/** The variables of an object schema (behind a `.transform`, too), each with its own schema. */
function variablesOf(schema: z.ZodType): Record<string, z.ZodType> {
  const def = schema.def as { type: string; shape?: Record<string, z.ZodType>; in?: z.ZodType };
  if (def.type === "object" && def.shape) return def.shape;
  if (def.type === "pipe" && def.in) return variablesOf(def.in);
  throw new Error(`a configuration schema of type ${def.type}: expected an object`);
}

/** A variable the schema can do without: it has a default or is optional. */
const optional = (variable: z.ZodType) => variable.safeParse(undefined).success;

/** The value a deploy with the template's defaults gives, where the template states it. */
function statedValue(value: unknown): string | undefined {
  if (["string", "number", "boolean"].includes(typeof value)) return String(value);
  const ref = (value as { Ref?: unknown } | null)?.Ref;
  const parameter = typeof ref === "string" ? template.Parameters?.[ref] : undefined;
  return parameter?.Default === undefined ? undefined : String(parameter.Default);
}

const schemas = new Map<string, Record<string, z.ZodType> | undefined>();
for (const { id, entryPoint } of deployed) {
  const schema = await configurationOf(id, entryPoint);
  schemas.set(id, schema && variablesOf(schema));
}

describe("the configuration of each function and task, against template.yaml", () => {
  it("finds the configuration schema of every one that reads configuration (the harness itself)", () => {
    const withSchema = deployed.filter(({ id }) => schemas.get(id)).map(({ id }) => id);
    expect(withSchema.sort()).toEqual([
      "BatchRangeFunction",
      "CityCountsFunction",
      "ClusterWatchFunction",
      "ClusteringFunction",
      "CountsApiFunction",
      "IngestTaskDefinition",
      "KafkaTopicsFunction",
      "RenderMapFunction",
      "ReplayFeedTaskDefinition",
    ]);
    const clustering = schemas.get("ClusteringFunction") ?? {};
    const required = Object.keys(clustering).filter(
      (name) => !optional(clustering[name] as z.ZodType),
    );
    expect(required.sort()).toEqual(["BATCH_BUCKET", "CURATED_BUCKET"]);
    expect(Object.keys(clustering)).toEqual(expect.arrayContaining(["K_MIN", "K_MAX"]));
    // The template's range of k (ClusteringKMin/KMax, 2..120): what it allows, the Lambda takes.
    for (const name of ["K_MIN", "K_MAX"]) {
      const variable = clustering[name] as z.ZodType;
      expect(variable.safeParse("120").success, name).toBe(true);
      expect(variable.safeParse("121").success, name).toBe(false);
    }
  });

  it("knows the entry point of every container of the template", () => {
    expect(
      templateContainers(template)
        .map((c) => c.logicalId)
        .sort(),
    ).toEqual(Object.keys(CONTAINER_ENTRY_POINTS).sort());
  });

  it.each(deployed)("gives $id every variable its configuration requires", ({ id, variables }) => {
    const schema = schemas.get(id) ?? {};
    for (const [name, variable] of Object.entries(schema)) {
      if (optional(variable)) continue;
      expect(variables.has(name), `${id} requires ${name}: template.yaml does not set it`).toBe(
        true,
      );
    }
  });

  it.each(deployed)("sets on $id no variable that nothing reads", ({ id, variables }) => {
    const schema = schemas.get(id) ?? {};
    for (const name of variables.keys()) {
      expect(
        name in schema || name in RUNTIME_VARIABLES,
        `template.yaml sets ${name} on ${id}, which neither its configuration nor the runtime reads`,
      ).toBe(true);
    }
  });

  it.each(deployed)("gives $id only values its configuration accepts", ({ id, variables }) => {
    const schema = schemas.get(id) ?? {};
    for (const [name, value] of variables) {
      const stated = statedValue(value);
      const variable = schema[name];
      if (stated === undefined || variable === undefined) continue;
      const result = variable.safeParse(stated);
      expect(result.success, `${id}: ${name}=${stated}: ${result.error?.message}`).toBe(true);
    }
  });
});
