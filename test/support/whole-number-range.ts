import {
  type CfnParameter,
  parameterProblem,
  readTemplate,
} from "../../local/stack/template-model.js";

/** Whole numbers are tried from -BELOW to ABOVE; a parameter taking an end has no bound there. */
const BELOW = 1_000;
const ABOVE = 1_000_000;

/**
 * The whole numbers template.yaml's parameter `name` takes, as [least, most], found by trying
 * every one from -1,000 to 1,000,000 as CloudFormation checks a value (±Infinity: it takes that
 * end and 10^12 beyond it). Throws if what it takes is not one unbroken run of whole numbers
 * written plainly, so a pattern with a gap, or one taking a fraction, a sign, a leading zero or
 * a space, fails the test that asks.
 */
export function wholeNumberRange(name: string): [number, number] {
  const parameter = readTemplate(undefined, "").Parameters?.[name];
  if (!parameter) throw new Error(`template.yaml has no parameter ${name}`);
  const takes = (value: string) => parameterProblem(parameter as CfnParameter, value) === undefined;
  const taken: number[] = [];
  for (let n = -BELOW; n <= ABOVE; n += 1) if (takes(String(n))) taken.push(n);
  const least = taken[0];
  const most = taken.at(-1);
  if (least === undefined || most === undefined) throw new Error(`${name} takes no whole number`);
  if (taken.length !== most - least + 1) throw new Error(`${name} takes whole numbers with gaps`);
  const endless = (end: number, far: string) => {
    if (takes(String(end)) !== takes(far)) throw new Error(`${name}: no clear bound near ${end}`);
    return takes(far);
  };
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
  return [
    endless(-BELOW, "-1000000000000") ? Number.NEGATIVE_INFINITY : least,
    endless(ABOVE, "1000000000000") ? Number.POSITIVE_INFINITY : most,
  ];
}
