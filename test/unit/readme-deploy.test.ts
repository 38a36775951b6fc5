/**
 * The deploy guide (docs/deploying.md, linked from the README's "Deploy") against template.yaml:
 * a user reads the parameters, outputs and alarms there, so a parameter added, renamed or
 * re-defaulted in the template without the guide (or the other way round) fails here. The
 * commands a user copies (the README's, the guide's, every doc's) name the Region.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../local/setup/paths.js";
import {
  conditionHolds,
  readTemplate,
  withParameterValues,
} from "../../local/stack/template-model.js";

const template = readTemplate() as ReturnType<typeof readTemplate> & {
  Outputs: Record<string, unknown>;
};
const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
/** The guide, from a newline, so that its first heading is found like every other. */
const guide = `\n${readFileSync(join(repoRoot, "docs", "deploying.md"), "utf8")}`;
/** Everything a user reads: the README and every doc. */
const allDocs = [
  readme,
  ...readdirSync(join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => readFileSync(join(repoRoot, "docs", name), "utf8")),
].join("\n");

/** The text of a section of the guide, from its heading to the next heading of the same or higher level. */
function section(heading: string, text = guide): string {
  const level = heading.match(/^#+/)?.[0].length ?? 2;
  const start = text.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`no "${heading}"`);
  const rest = text.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next === -1 ? rest : rest.slice(0, next);
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1] ?? "");
const tableRows = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim()) // tables inside list items are indented
    .filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
    .slice(1) // the header
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );

describe("docs/deploying.md and the README's Deploy", () => {
  const deploying = section("# Deploying");

  it("lists every parameter of the template with its default, and no other", () => {
    const rows = tableRows(section("## Parameters"));
    const listed = new Map<string, string>();
    for (const [names = "", defaults = ""] of rows) {
      const parameters = ticked(names);
      const values = defaults === "empty" ? parameters.map(() => "") : ticked(defaults);
      expect(values.length, `defaults of ${names}`).toBe(parameters.length);
      parameters.forEach((name, i) => {
        listed.set(name, values[i] ?? "");
      });
    }
    const declared = Object.fromEntries(
      Object.entries(template.Parameters ?? {}).map(([name, p]) => [name, String(p.Default ?? "")]),
    );
    expect(Object.fromEntries(listed)).toEqual(declared);
  });

  it("names every output of the template, and no other", () => {
    const paragraph = deploying.slice(deploying.indexOf("Outputs: `"));
    const named = ticked(paragraph.slice(0, paragraph.indexOf("\n\n")));
    expect(named.sort()).toEqual(Object.keys(template.Outputs).sort());
  });

  it("describes every alarm of the template", () => {
    const alarms = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === "AWS::CloudWatch::Alarm")
      .map(([id]) => id);
    const described = tableRows(deploying)
      .map(([first = ""]) => ticked(first)[0] ?? "")
      .filter((name) => name.endsWith("Alarm"));
    expect(described.sort()).toEqual(alarms.sort());
  });

  it("counts the alarms and their metrics the cost section bills, with and without an ingest image", () => {
    /** Alarms the template makes with these parameter values, and the metrics they watch. */
    const alarmsWith = (values: Record<string, string>) => {
      // A copy: withParameterValues sets the defaults of the template it is given.
      const withValues = withParameterValues(structuredClone(template), values);
      const alarms = Object.values(withValues.Resources).filter((resource) => {
        const { Condition } = resource as { Condition?: string };
        return (
          resource.Type === "AWS::CloudWatch::Alarm" &&
          (Condition === undefined || conditionHolds(Condition, withValues))
        );
      });
      const metricsOf = (properties: Record<string, unknown>) =>
        properties.MetricName !== undefined
          ? 1
          : ((properties.Metrics as { MetricStat?: unknown }[] | undefined) ?? []).filter(
              (metric) => metric.MetricStat !== undefined,
            ).length;
      const metrics = alarms.reduce(
        (sum, alarm) => sum + metricsOf((alarm.Properties ?? {}) as Record<string, unknown>),
        0,
      );
      return [alarms.length, metrics];
    };
    const costs = section("## What it costs");
    const billed = /\| alarms \((\d+), on (\d+) metrics\)/.exec(costs);
    // The cost table prices a deploy with an ingest image and the replay feed.
    expect(billed?.slice(1).map(Number)).toEqual(
      alarmsWith({
        IngestImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/ingest:1",
        ReplaySourceKey: "recordings/feed.jsonl",
      }),
    );
    const withoutImage = /no ingest alarms \((\d+) alarms on (\d+) metrics\)/.exec(
      costs.replace(/\s+/g, " "),
    );
    expect(withoutImage?.slice(1).map(Number)).toEqual(alarmsWith({}));
  });

  it("names the Region in every aws command, and answers SAM's question about the open API", () => {
    // Without --region (or a profile's default) the CLI fails or, worse, looks in another
    // Region and finds no stack.
    const commands = [...allDocs.matchAll(/(?:^|[\s`(])aws ([a-z0-9-]+) ([a-z0-9-]+)[^\n`]*/gm)];
    expect(commands.length).toBeGreaterThan(5);
    for (const [command] of commands) expect(command, command).toContain('--region "$REGION"');
    expect(deploying).toContain("CountsApiFunction has no authentication. Is this okay? [y/N]");
    // SAM CLI asks once per Api or HttpApi event of a function without Auth (samcli
    // commands/deploy/auth_utils.py, auth_per_resource), and a N stops the deploy: the guide
    // says how many times, and the changeset question, whose default is N, gets its answer too.
    const events = Object.values(
      (
        template.Resources.CountsApiFunction?.Properties as
          | { Events: Record<string, unknown> }
          | undefined
      )?.Events ?? {},
    ) as { Type: string; Properties: { Auth?: unknown } }[];
    const unauthenticated = events.filter((e) => e.Type === "HttpApi" && !e.Properties.Auth);
    expect(unauthenticated).toHaveLength(2);
    expect(deploying).toMatch(/Is this okay\? \[y\/N\]" twice/);
    expect(deploying).toContain('"Deploy this changeset?\n[y/N]", whose default is no: answer `y`');
    expect(readme).toMatch(/Answer `y` both times/);
    // SAM's esbuild step installs production dependencies only and finds esbuild on the PATH:
    // a bare `sam build` fails with "Cannot find esbuild", so no doc tells a user to run one.
    for (const text of [allDocs, readFileSync(join(repoRoot, "samconfig.toml"), "utf8")])
      expect(text).not.toMatch(/plain `sam build/);
    const short = section("## Deploy", `\n${readme}`);
    expect(short).toContain("sam deploy --guided");
    // ECS API Reference, CreateCluster: ECS "attempts to create the Amazon ECS service-linked
    // role" itself; in an account that never ran ECS the new role may not be usable yet and the
    // stack's cluster fails ("Unable to assume the service linked role"), so both guides make
    // it before the first deploy.
    const makeRole =
      'aws iam create-service-linked-role --region "$REGION" --aws-service-name ecs.amazonaws.com';
    for (const guide of [short, section("## Build and deploy")])
      expect(guide.indexOf(makeRole), guide).toBeGreaterThan(-1);
    for (const guide of [short, section("## Build and deploy")])
      expect(guide.indexOf(makeRole)).toBeLessThan(guide.indexOf("sam deploy --guided"));
    expect(short).toContain("docs/deploying.md#build-and-deploy");
    expect(section("## Clean up", `\n${readme}`)).toContain(
      'sam delete --stack-name rsvp-atlas --region "$REGION"',
    );
  });

  it("adds up the cost tables: the idle total is the sum of its rows, the daily figure adds a run", () => {
    const dollars = (cell: string) => Number(/\$(\d+\.\d+)/.exec(cell)?.[1] ?? Number.NaN);
    const costs = section("## What it costs");
    const rows = costs
      .split("\n")
      .filter((line) => line.startsWith("| "))
      .map((line) => line.split("|").map((cell) => cell.trim()));
    const totalAt = rows.findIndex((cells) => cells[1] === "**idle total**");
    const total = rows[totalAt];
    const always = rows.slice(0, totalAt).filter((cells) => /^~?\$/.test(cells[3] ?? ""));
    const sum = always.reduce((acc, cells) => acc + dollars(cells[3] ?? ""), 0);
    expect(always.length).toBeGreaterThan(8);
    expect(Math.abs(dollars(total?.[3] ?? "") - sum)).toBeLessThan(0.05);
    const perRun = rows.find((cells) => cells[1] === "**per run**");
    const daily = Number(/About \$(\d+\.\d+) a day with the daily batch/.exec(costs)?.[1]);
    expect(Math.abs(daily - (sum + dollars(perRun?.[3] ?? "")))).toBeLessThan(0.05);
    const standard = rows.find((cells) => cells[1]?.startsWith("with `KafkaSetting` standard"));
    const [, extra, withStandard] =
      /\+\$(\d+\.\d+) \(\*\*~\$(\d+\.\d+)\*\*\)/.exec(standard?.[3] ?? "") ?? [];
    expect(Math.abs(Number(withStandard) - (sum + Number(extra)))).toBeLessThan(0.05);
  });

  it("uses only npm scripts that exist, in the guide and every other doc", () => {
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    const used = [...allDocs.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1] ?? "");
    expect(used.length).toBeGreaterThan(0);
    for (const script of used) expect(scripts, `npm run ${script}`).toHaveProperty([script]);
  });
});
