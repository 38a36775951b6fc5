import {
  type CfnParameter,
  parameterProblem,
  readTemplate,
} from "../../local/stack/template-model.js";

/** Every whole number from -BELOW to ABOVE is tried; beyond, the bound is searched for. */
const BELOW = 1_000;
const ABOVE = 1_000_000;
/** Past this magnitude (10^18) a parameter is taken to have no bound on that side. */
const FARTHEST = 10n ** 18n;

/**
 * The whole numbers template.yaml's parameter `name` takes, as [least, most] (±Infinity: no
 * bound within 10^18), found by trying each as CloudFormation checks a value: every one from
 * -1,000 to 1,000,000, and past those a search for the bound with spot checks. Throws if what
 * it takes is not one unbroken run of whole numbers written plainly, so a pattern with a gap,
 * or one taking a fraction, a sign, a leading zero or a space, fails the test that asks.
 */
export function wholeNumberRange(name: string): [number, number] {
  const parameter = readTemplate(undefined, "").Parameters?.[name];
  if (!parameter) throw new Error(`template.yaml has no parameter ${name}`);
  const takes = (value: bigint | number | string) =>
    parameterProblem(parameter as CfnParameter, String(value)) === undefined;
  const taken: number[] = [];
  for (let n = -BELOW; n <= ABOVE; n += 1) if (takes(n)) taken.push(n);
  const least = taken[0];
  const most = taken.at(-1);
  if (least === undefined || most === undefined) throw new Error(`${name} takes no whole number`);
  if (taken.length !== most - least + 1) throw new Error(`${name} takes whole numbers with gaps`);
  const mid = String(Math.max(least, Math.min(most, 5)));
  for (const odd of [
    `${mid}.0`,
    `${mid}.5`,
    `+${mid}`,
    ` ${mid}`,
    `${mid} `,
    `0${mid}`,
    `${mid}e0`,
    "",
    "-0",
  ]) {
    if (takes(odd)) throw new Error(`${name} takes ${JSON.stringify(odd)}`);
  }
  const beyond = (from: bigint, sign: 1n | -1n): number => {
    // The last taken number counting away from `from` (taken), checked to be unbroken.
    let inside = from;
    let outside = from * 10n;
    while (takes(outside)) {
      if (outside * sign >= FARTHEST) return sign > 0n ? Infinity : -Infinity;
      inside = outside;
      outside *= 10n;
    }
    while ((outside - inside) * sign > 1n) {
      const middle = (inside + outside) / 2n;
      if (takes(middle)) inside = middle;
      else outside = middle;
    }
    const distance = (inside - from) * sign;
    for (let step = 1n; step < distance; step = step * 3n + 1n) {
      if (!takes(inside - step * sign)) throw new Error(`${name}: a gap before ${inside}`);
    }
    return Number(inside);
  };
  return [
    least === -BELOW ? beyond(BigInt(-BELOW), -1n) : least,
    most === ABOVE ? beyond(BigInt(ABOVE), 1n) : most,
  ];
}
