/**
 * `npm test`: every check and every test, in the order that fails fastest.
 *
 *   1. setup      the Python venv, the Kafka jars and Chromium (first use only; npm ci ran before)
 *   2. typecheck  tsc --noEmit (strict, noUncheckedIndexedAccess)
 *   3. lint       biome check (lint + format)
 *   4. cfn-lint   template.yaml
 *   5. sam        sam validate --lint (offline, no AWS credentials)
 *      checkov    checkov on template.yaml (offline): no failed check; skips are in the template
 *      sam build  sam build --cached into .cache/sam-build (test/integration/sam-build.test.ts reads it)
 *   6. spark      pytest: the Spark job on a real local Spark
 *   7. tests      vitest: unit tests, then integration tests on a real Kafka broker and moto
 *
 * Arguments after `--` go to vitest (`npm test -- test/unit`). Ends with one line
 * "npm-test: N passed, N failed, N skipped" counting the checks and the tests.
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { ensureChromium } from "../setup/chromium.js";
import { dependenciesHash } from "../setup/dependencies-hash.mjs";
import { ensureKafkaJars } from "../setup/kafka-jars.js";
import { cacheDir, repoRoot, templatePath, venvBin } from "../setup/paths.js";
import { checkovBin, ensureCheckovVenv, ensurePythonVenv } from "../setup/python-venv.js";
import { ignoreInheritedParameterOverrides } from "../stack/template-model.js";
import { orExit } from "./args.js";

const vitestArgs = process.argv.slice(2);
// The tests hold the template's defaults: a shell's `npm start` parameter overrides stay out.
ignoreInheritedParameterOverrides("test");
const say = (line: string) => process.stderr.write(`[test] ${line}\n`);

interface Step {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Runs just before the command. */
  prepare?: () => void;
}

/** Offline and credential-free: SAM and cfn-lint must not reach for a real AWS account. */
const offlineAwsEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_"))),
  SAM_CLI_TELEMETRY: "0",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_REGION: "us-east-1",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
};

const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
const samBuildDir = join(cacheDir, "sam-build");
const samBuildContext = join(cacheDir, "sam-context");
const samCacheDir = join(cacheDir, "sam-cache");

/**
 * The repository as `sam build` should see it: every top-level entry linked, except `.cache`
 * and `.git`. With `CodeUri: ./`, SAM copies the code folder (all but node_modules and .git, at
 * any depth, following links) once per function; from the repository itself that copy includes
 * `.cache`, about 1.5 GB of venvs: 77 s of copying per function, 6 minutes for the
 * build; from this context it copies under a second. The output is the same: no function reads
 * `.cache`.
 */
function linkSamBuildContext(): void {
  dropSamCacheOnNewDependencies();
  rmSync(samBuildContext, { recursive: true, force: true });
  mkdirSync(samBuildContext, { recursive: true });
  for (const entry of readdirSync(repoRoot)) {
    if (entry === ".cache" || entry === ".git") continue;
    // The template is copied: SAM resolves a linked template to its real folder, the repository.
    if (entry === "template.yaml") copyFileSync(templatePath, join(samBuildContext, entry));
    else symlinkSync(join(repoRoot, entry), join(samBuildContext, entry));
  }
}

/**
 * `sam build --cached` reinstalls a function's dependencies only when its package.json changes,
 * so a changed lock file or patch (patches/, applied by the install's postinstall) would leave
 * the bundles built against the old node_modules: the cache goes when either changed.
 */
function dropSamCacheOnNewDependencies(): void {
  const key = dependenciesHash(repoRoot);
  const keyFile = join(samCacheDir, ".dependencies.sha256");
  if (existsSync(keyFile) && readFileSync(keyFile, "utf8").trim() === key) return;
  rmSync(samCacheDir, { recursive: true, force: true });
  mkdirSync(samCacheDir, { recursive: true });
  writeFileSync(keyFile, `${key}\n`);
}

const checks: Step[] = [
  { name: "typecheck (tsc --noEmit)", command: bin("tsc"), args: ["--noEmit"] },
  { name: "lint + format (biome check)", command: bin("biome"), args: ["check", "."] },
  {
    name: "cfn-lint template.yaml",
    command: venvBin("cfn-lint"),
    args: [templatePath],
    env: offlineAwsEnv,
  },
  {
    name: "sam validate --lint",
    command: venvBin("sam"),
    args: ["validate", "--lint", "--template-file", templatePath],
    env: offlineAwsEnv,
  },
  {
    // Every check of checkov's CloudFormation framework (it reads SAM templates too); a finding
    // that does not apply is skipped in template.yaml, next to its resource, with the reason.
    // Offline: no platform download (--skip-download, BC_SKIP_MAPPING), no version check.
    name: "checkov template.yaml",
    command: checkovBin,
    args: [
      "--file",
      templatePath,
      "--framework",
      "cloudformation",
      "--quiet",
      "--compact",
      "--skip-download",
    ],
    env: {
      ...offlineAwsEnv,
      BC_SKIP_MAPPING: "TRUE",
      CKV_SKIP_PACKAGE_UPDATE_CHECK: "TRUE",
      LOG_LEVEL: "WARNING",
    },
  },
  {
    // The deployable build: esbuild for the functions (SAM runs the esbuild on PATH), the
    // Makefile of SiteContentFunction, npm install of the layer (needs the npm registry).
    name: "sam build",
    command: venvBin("sam"),
    prepare: linkSamBuildContext,
    args: [
      "build",
      "--template-file",
      join(samBuildContext, "template.yaml"),
      "--build-dir",
      samBuildDir,
      "--cached",
      "--cache-dir",
      samCacheDir,
    ],
    env: {
      ...offlineAwsEnv,
      PATH: `${join(repoRoot, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}`,
    },
  },
];

function run(step: Step): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    say(`${step.name}...`);
    step.prepare?.();
    const child = spawn(step.command, step.args, {
      cwd: repoRoot,
      env: step.env ?? process.env,
      stdio: "inherit",
    });
    child.on("error", (error) => {
      say(`${step.name}: could not run: ${error.message}`);
      resolve(false);
    });
    child.on("exit", (code) => {
      say(
        `${step.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      resolve(code === 0);
    });
  });
}

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { assertionResults: { fullName: string; status: string }[] }[];
}

await orExit(
  (async () => {
    // Chromium first: on a machine where it cannot be installed, say so before minutes of
    // installing the rest.
    await ensureChromium();
    await ensurePythonVenv();
    await ensureCheckovVenv();
    await ensureKafkaJars();
  })(),
  say,
  "could not install what the tests need",
);

let checksPassed = 0;
let checksFailed = 0;
for (const check of checks) {
  if (await run(check)) checksPassed += 1;
  else checksFailed += 1;
}

/** Runs a test runner that writes a report file; the report's text, undefined when it wrote none. */
async function runReported(
  step: Step,
  reportPath: string,
): Promise<{ ok: boolean; report: string | undefined }> {
  rmSync(reportPath, { force: true });
  const ok = await run(step);
  try {
    return { ok, report: readFileSync(reportPath, "utf8") };
  } catch {
    return { ok, report: undefined };
  }
}

// The Spark job's tests: pytest on a real local Spark (pyspark in the venv).
const pytestReport = join(cacheDir, "pytest-report.xml");
const pytest = ["-m", "pytest", "-q", "-p", "no:cacheprovider"];
const spark = await runReported(
  {
    name: "spark job tests (pytest on local Spark)",
    command: venvBin("python"),
    args: [...pytest, `--junitxml=${pytestReport}`, "spark/tests"],
    env: { ...process.env, SPARK_LOCAL_IP: "127.0.0.1", PYTHONDONTWRITEBYTECODE: "1" },
  },
  pytestReport,
);
const attribute = (name: string) =>
  Number(spark.report?.match(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`))?.[1] ?? 0);
const sparkOk = spark.ok;
const sparkTests = attribute("tests");
const sparkFailed = attribute("failures") + attribute("errors");
const sparkSkipped = attribute("skipped");

const vitestReport = join(cacheDir, "vitest-report.json");
const vitestReporters = ["--reporter=default", "--reporter=json"];
const vitest = await runReported(
  {
    name: "tests (vitest: unit, then integration on Kafka + moto)",
    command: bin("vitest"),
    args: ["run", ...vitestReporters, `--outputFile.json=${vitestReport}`, ...vitestArgs],
  },
  vitestReport,
);
const testsOk = vitest.ok;
let report: VitestReport | undefined;
try {
  report = vitest.report === undefined ? undefined : (JSON.parse(vitest.report) as VitestReport);
} catch {
  // A report cut short: as if none.
}
if (!report) say("vitest wrote no report: it failed before running tests");
const passed =
  checksPassed + (report?.numPassedTests ?? 0) + (sparkTests - sparkFailed - sparkSkipped);
// No report, or a non-zero exit without a failed test (a crashed setup, an unhandled error),
// is one failure of its own.
const testsFailed = report?.numFailedTests ?? 0;
const runFailed = !testsOk && testsFailed === 0 ? 1 : 0;
const failed =
  checksFailed + testsFailed + runFailed + sparkFailed + (!sparkOk && sparkFailed === 0 ? 1 : 0);
const skippedTests = (report?.testResults ?? []).flatMap((file) =>
  file.assertionResults.filter((test) => test.status === "skipped" || test.status === "pending"),
);
for (const test of skippedTests) say(`skipped: ${test.fullName}`);
process.stdout.write(
  `\nnpm-test: ${passed} passed, ${failed} failed, ${skippedTests.length + sparkSkipped} skipped\n`,
);
process.exit(failed === 0 ? 0 : 1);
