/**
 * Every Lambda handler is promise-based: `(event, context)`, no callback. The nodejs24.x runtime
 * (template.yaml's Globals) runs only such handlers: "Lambda supports callback-based function
 * handlers for Node.js 22 and earlier runtimes only" (Lambda Developer Guide, "Define Lambda
 * function handler in Node.js", and the runtime's `callbackWaitsForEmptyEventLoop`). Each
 * function's entry module is loaded with the environment the template gives it, and the export
 * its Handler names is checked.
 */
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import { readTemplate } from "../../local/stack/template-model.js";
import { templateFunctions } from "../support/template-compute.js";

// esbuild bundles the Spark job as text (`Loader: .py=text`); vitest has no such loader.
vi.mock(import("../../spark/curate_rsvps.py"), () => ({ default: "" }));

const template = readTemplate();

/** A stand-in for what CloudFormation would set: literals as they are, a parameter's default,
 * a resource's or a pseudo parameter's name for a reference, `${...}` of a Sub replaced so. */
function standInValue(value: unknown): string {
  if (["string", "number", "boolean"].includes(typeof value)) return String(value);
  const { Ref, "Fn::Sub": sub } = (value ?? {}) as { Ref?: string; "Fn::Sub"?: unknown };
  if (Ref !== undefined) return String(template.Parameters?.[Ref]?.Default ?? Ref);
  if (typeof sub === "string")
    return sub.replace(/\$\{([^}]+)\}/g, (_, name: string) => standInValue({ Ref: name }));
  return "stand-in";
}

describe("the Lambda handlers, for the nodejs24.x runtime", () => {
  it("the runtime is nodejs24.x", () => {
    const globals = (template as unknown as { Globals: { Function: { Runtime: string } } }).Globals;
    expect(globals.Function.Runtime).toBe("nodejs24.x");
  });

  it.each(templateFunctions(template).map((f) => [f.logicalId, f] as const))(
    "%s exports a handler of (event, context) and no callback",
    async (_logicalId, { handler, entryPoint, environment }) => {
      for (const [name, value] of Object.entries(environment))
        process.env[name] = standInValue(value);
      vi.resetModules();
      const module = (await import(join(repoRoot, entryPoint))) as Record<string, unknown>;
      const exported = module[handler.split(".").at(-1) ?? ""];
      expect(typeof exported, `${entryPoint} exports ${handler}`).toBe("function");
      expect((exported as (...args: unknown[]) => unknown).length).toBeLessThanOrEqual(2);
    },
  );
});
