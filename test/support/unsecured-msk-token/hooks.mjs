/**
 * Module resolve hook (see ./register.mjs): `aws-msk-iam-sasl-signer-js` resolves to
 * ./signer.mjs; every other specifier goes down the chain untouched (to tsx, then Node).
 */

const SIGNER = "aws-msk-iam-sasl-signer-js";
const REPLACEMENT = new URL("./signer.mjs", import.meta.url).href;

/** @type {import("node:module").ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === SIGNER) return { url: REPLACEMENT, format: "module", shortCircuit: true };
  return nextResolve(specifier, context);
}
