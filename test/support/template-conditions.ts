/**
 * template.yaml as CloudFormation would see it for given parameter values: every `Fn::If` taken
 * on its condition and every `AWS::NoValue` removed, so a test can state what a deploy with
 * those values creates instead of matching the conditional structure that produces it. Other
 * intrinsics are left as they are.
 */
import {
  type CfnTemplate,
  conditionHolds as templateConditionHolds,
} from "../../local/stack/template-model.js";

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
  const given = Object.entries(template.Parameters ?? {}).map(([parameter, declared]) => [
    parameter,
    parameter in parameters ? { ...declared, Default: parameters[parameter] } : declared,
  ]);
  return templateConditionHolds(name, { ...template, Parameters: Object.fromEntries(given) });
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
