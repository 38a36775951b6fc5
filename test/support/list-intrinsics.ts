/**
 * A small evaluator of the intrinsic functions the template picks list items with (`Ref` of a
 * list parameter, `Fn::Join`, `Fn::Split`, `Fn::Select`), failing as CloudFormation does where
 * Fn::Select's index is out of bounds ("Fn::Select does not check for null values or if the
 * index is out of bounds of the array. Both conditions will result in a stack error",
 * CloudFormation template reference, Fn::Select). A list parameter's value is split on commas,
 * so an empty one is [""], as CloudFormation passes a CommaDelimitedList left empty.
 */
export type ListValue = string | string[];

export function evaluateListPick(
  expression: unknown,
  parameters: Record<string, string>,
): ListValue {
  if (typeof expression === "string") return expression;
  if (Array.isArray(expression))
    return expression.map((item) => {
      const value = evaluateListPick(item, parameters);
      if (typeof value !== "string") throw new Error("a list inside a list");
      return value;
    });
  const [name, argument] = Object.entries(expression as Record<string, unknown>)[0] ?? [];
  switch (name) {
    case "Ref": {
      const value = parameters[argument as string];
      if (value === undefined) throw new Error(`no value for ${String(argument)}`);
      return value.split(",");
    }
    case "Fn::Join": {
      const [delimiter, items] = argument as [string, unknown];
      const list = evaluateListPick(items, parameters);
      if (!Array.isArray(list)) throw new Error("Fn::Join of a string");
      return list.join(delimiter);
    }
    case "Fn::Split": {
      const [delimiter, text] = argument as [string, unknown];
      const value = evaluateListPick(text, parameters);
      if (typeof value !== "string") throw new Error("Fn::Split of a list");
      return value.split(delimiter);
    }
    case "Fn::Select": {
      const [index, items] = argument as [number | string, unknown];
      const list = evaluateListPick(items, parameters);
      const at = Number(index);
      if (!Array.isArray(list) || at < 0 || at >= list.length)
        throw new Error(`Fn::Select cannot select nonexistent value at index ${at}`);
      return list[at] as string;
    }
    default:
      throw new Error(`${String(name)}: not evaluated here`);
  }
}

/**
 * Every `Fn::Select` of an index above 0 straight into a list parameter (`Ref`): where the
 * parameter may be shorter, such a pick fails the stack even in an `Fn::If` branch not taken,
 * unless CloudFormation skips that branch, which no document says.
 */
export function bareListPicks(node: unknown, listParameters: Set<string>, found: string[] = []) {
  if (Array.isArray(node)) for (const item of node) bareListPicks(item, listParameters, found);
  else if (node !== null && typeof node === "object") {
    const select = (node as Record<string, unknown>)["Fn::Select"];
    if (Array.isArray(select)) {
      const [index, list] = select as [unknown, { Ref?: string }];
      if (Number(index) > 0 && list?.Ref && listParameters.has(list.Ref))
        found.push(`${String(index)} of ${list.Ref}`);
    }
    for (const value of Object.values(node)) bareListPicks(value, listParameters, found);
  }
  return found;
}
