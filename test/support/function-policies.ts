/**
 * The statements of a SAM function's or state machine's inline policy documents. `Policies`
 * also lists managed policies by ARN (`!Ref FunctionsCreateNoLogGroup`, every function's), which
 * hold no statement of the function's own: they are skipped, so a test reads what the function
 * itself is granted.
 */
export function inlineStatements<Statement = Record<string, unknown>>(
  properties: Record<string, unknown> | undefined,
): Statement[] {
  const policies = properties?.Policies;
  const documents = Array.isArray(policies) ? policies : policies === undefined ? [] : [policies];
  return documents.flatMap((document: unknown) => {
    if (typeof document !== "object" || document === null || !("Statement" in document)) return [];
    const statement = (document as { Statement: Statement | Statement[] }).Statement;
    return Array.isArray(statement) ? statement : [statement];
  });
}
