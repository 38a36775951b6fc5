/**
 * template.yaml as CloudFormation would see it for given parameter values: every `Fn::If` taken
 * on its condition and every `AWS::NoValue` removed, so a test can state what a deploy with
 * those values creates instead of matching the conditional structure that produces it. Other
 * intrinsics are left as they are.
 */
import type { CfnTemplate } from "../../local/stack/template-model.js";

type Parameters = Record<string, string>;

/** `value` with its `Fn::If`s decided and `AWS::NoValue`s removed (undefined if it is one). */
export function resolveConditions(
  value: unknown,
  template: CfnTemplate,
  parameters: Parameters = {},
): unknown {
  if (Array.isArray(value)) {
    return value
      .map((item) => resolveConditions(item, template, parameters))
      .filter((item) => item !== undefined);
  }
  if (value === null || typeof value !== "object") return value;
  const node = value as Record<string, unknown>;
  if (node.Ref === "AWS::NoValue") return undefined;
  const branch = node["Fn::If"] as [string, unknown, unknown] | undefined;
  if (branch) {
    const taken = conditionHolds(branch[0], template, parameters) ? branch[1] : branch[2];
    return resolveConditions(taken, template, parameters);
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(node)) {
    const kept = resolveConditions(item, template, parameters);
    if (kept !== undefined) resolved[key] = kept;
  }
  return resolved;
}

/** Does the template's condition `name` hold with these parameters (others at their defaults)? */
export function conditionHolds(
  name: string,
  template: CfnTemplate,
  parameters: Parameters = {},
): boolean {
  const condition = template.Conditions?.[name];
  if (condition === undefined) throw new Error(`no condition ${name} in the template`);
  return Boolean(evaluate(condition, template, parameters));
}

/** A template resource with its conditions decided, or undefined where its Condition fails. */
export function resolvedResource(
  logicalId: string,
  template: CfnTemplate,
  parameters: Parameters = {},
): { Type: string; Properties: Record<string, unknown> } | undefined {
  const resource = template.Resources[logicalId] as
    | { Type: string; Condition?: string; Properties?: Record<string, unknown> }
    | undefined;
  if (!resource) throw new Error(`no ${logicalId} in template.yaml`);
  if (resource.Condition && !conditionHolds(resource.Condition, template, parameters)) {
    return undefined;
  }
  return {
    Type: resource.Type,
    Properties: (resolveConditions(resource.Properties ?? {}, template, parameters) ??
      {}) as Record<string, unknown>,
  };
}

/** The condition functions the template uses, over parameters. */
function evaluate(value: unknown, template: CfnTemplate, parameters: Parameters): unknown {
  if (value === null || typeof value !== "object") return value;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === "string") {
    const parameter = template.Parameters?.[node.Ref];
    if (!parameter) throw new Error(`a condition refers to ${node.Ref}, not a parameter`);
    return parameters[node.Ref] ?? parameter.Default ?? "";
  }
  if (typeof node.Condition === "string")
    return conditionHolds(node.Condition, template, parameters);
  const args = (name: string) => node[name] as unknown[];
  if ("Fn::Equals" in node) {
    const [a, b] = args("Fn::Equals").map((arg) => evaluate(arg, template, parameters));
    return String(a) === String(b);
  }
  if ("Fn::Not" in node) return !evaluate(args("Fn::Not")[0], template, parameters);
  if ("Fn::And" in node) return args("Fn::And").every((arg) => evaluate(arg, template, parameters));
  if ("Fn::Or" in node) return args("Fn::Or").some((arg) => evaluate(arg, template, parameters));
  if ("Fn::Join" in node) {
    const [separator, list] = args("Fn::Join") as [string, unknown];
    const items = evaluate(list, template, parameters);
    return (Array.isArray(items) ? items : String(items).split(",")).join(separator);
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)} in a condition`);
}
