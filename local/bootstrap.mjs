// @ts-check
/**
 * Entry point of every npm script (`npm start`, `npm test`, ...).
 *
 * It runs on a fresh clone before node_modules exists, so it is plain JavaScript with no
 * dependencies (still type-checked: tsconfig has checkJs). It only does what must happen before
 * TypeScript can run: check the machine's prerequisites, install npm packages when they are
 * missing or stale, then hand over to the TypeScript command in local/cli/<command>.ts, which
 * installs the rest (Kafka jars, the Python venv) itself.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dependenciesHash } from "./setup/dependencies-hash.mjs";

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const lockMarker = join(repoRoot, "node_modules", ".rsvp-atlas-lock.sha256");

/** What each command needs from the machine beyond Node.js. */
const needs = {
  start: ["java", "maven", "python"],
  // make: `sam build` builds the site-content function with its Makefile.
  test: ["java", "maven", "python", "make"],
  stack: ["java", "maven", "python"],
  synth: [],
  replay: [],
  bench: ["java", "maven", "python"],
  chaos: ["java", "maven", "python"],
  batch: ["java", "python"],
  // Starts the deployed workflow on AWS: Step Functions calls only.
  "batch-aws": [],
  // A dev tool of node_modules/.bin (biome, tsc, tsx, esbuild): `npm run lint` and the like,
  // which on a fresh clone would otherwise fail with "biome: not found".
  tool: [],
};

const [command, ...rest] = process.argv.slice(2);
// `npm start -- --x` arrives without the `--`; a direct `node local/bootstrap.mjs start -- --x` with it.
const args = rest[0] === "--" ? rest.slice(1) : rest;
if (!command || !(command in needs)) {
  fail(`usage: node local/bootstrap.mjs <${Object.keys(needs).join("|")}> [args...]`);
}

checkNode();
const env = { ...process.env };
for (const need of needs[/** @type {keyof typeof needs} */ (command)]) {
  if (need === "java") checkJava();
  if (need === "maven") checkMaven();
  if (need === "make") checkMake();
  if (need === "python") env.RSVP_ATLAS_PYTHON = findPython();
}
installNodeModulesIfStale();
if (command === "tool") runTool(args, env);
else runTypeScriptCommand(command, args, env);

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`\nrsvp-atlas: ${message}\n\n`);
  process.exit(2);
}

/** @param {string} cmd @param {string[]} argv */
function probe(cmd, argv) {
  const result = spawnSync(cmd, argv, { encoding: "utf8" });
  if (result.error || result.status !== 0) return undefined;
  return `${result.stdout}\n${result.stderr}`;
}

function checkNode() {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node.js 20.19 or newer is required; this is ${process.version}.`);
  }
}

function checkJava() {
  const out = probe("java", ["-version"]);
  // "17.0.15" -> 17; the old scheme "1.8.0_392" -> 8.
  const [first = "0", second = "0"] = out?.match(/version "(\d+)(?:\.(\d+))?/)?.slice(1) ?? [];
  const major = first === "1" ? Number(second) : Number(first);
  if (!out)
    fail(
      "Java 17+ is required (it runs the local Kafka broker), but `java` was not found. Install it, e.g. `apt-get install openjdk-17-jre-headless`.",
    );
  if (major < 17)
    fail(`Java 17+ is required (it runs the local Kafka broker); found Java ${major}.`);
  // Spark 3.5 (the pinned pyspark, EMR's Spark) runs on Java 8/11/17 (spark.apache.org/docs/3.5.6);
  // from Java 23 its Hadoop client fails at start (Subject.getSubject needs a security manager).
  if (major >= 23)
    fail(
      `Java ${major} is too new for the local Spark 3.5 (it runs on Java 17; Hadoop's client fails on Java 23+). Put a Java 17 first on PATH, e.g. \`apt-get install openjdk-17-jre-headless\`.`,
    );
  if (major > 17)
    process.stderr.write(
      `rsvp-atlas: Java ${major} found; the local Spark 3.5 is made for Java 17, so the daily batch may fail on it.\n`,
    );
}

function checkMaven() {
  if (!probe("mvn", ["-v"])) {
    fail(
      "Maven is required (it fetches the Kafka broker's jars from Maven Central), but `mvn` was not found. Install it, e.g. `apt-get install maven`.",
    );
  }
}

function checkMake() {
  if (!probe("make", ["--version"])) {
    fail(
      "GNU make is required (`sam build` builds the site-content function with its Makefile), but `make` was not found. Install it, e.g. `apt-get install make`.",
    );
  }
}

/** @returns {string} the path of a Python 3.11+ interpreter */
function findPython() {
  for (const candidate of ["python3.11", "python3.12", "python3.13", "python3"]) {
    // ensurepip too: Debian's python3 has venv but cannot make one without python3-venv.
    const out = probe(candidate, [
      "-c",
      "import sys, venv, ensurepip; print(sys.executable, *sys.version_info[:2])",
    ]);
    if (!out) continue;
    const [executable, major, minor] = out.trim().split(/\s+/);
    if (executable && Number(major) === 3 && Number(minor) >= 11) return executable;
  }
  return fail(
    "Python 3.11+ with the venv and ensurepip modules is required (it runs moto, cfn-lint and the SAM CLI), but none was found as python3.11, python3.12, python3.13 or python3. Install it, e.g. `apt-get install python3.11 python3.11-venv`.",
  );
}

function installNodeModulesIfStale() {
  // The lock file and the patches: a changed patch needs a fresh install to apply it.
  const lockHash = dependenciesHash(repoRoot);
  const installed = existsSync(lockMarker) ? readFileSync(lockMarker, "utf8").trim() : "";
  if (installed === lockHash) return;
  const why = existsSync(join(repoRoot, "node_modules"))
    ? "package-lock.json or patches/ changed"
    : "first run";
  process.stderr.write(`[setup] npm packages: installing with \`npm ci\` (${why})...\n`);
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: repoRoot,
    // npm's output is progress: stderr, so a command's stdout (npm start -- --json) stays clean.
    stdio: ["inherit", 2, 2],
  });
  if (result.status !== 0) fail("`npm ci` failed; see its output above.");
  writeFileSync(lockMarker, `${lockHash}\n`);
  process.stderr.write("[setup] npm packages: done\n");
}

/** @param {string[]} argv the tool's name in node_modules/.bin, then its arguments @param {NodeJS.ProcessEnv} childEnv */
function runTool(argv, childEnv) {
  const [name, ...toolArgs] = argv;
  const bin = join(repoRoot, "node_modules", ".bin", name ?? "");
  if (!name || !existsSync(bin)) fail(`no tool ${JSON.stringify(name ?? "")} in node_modules/.bin`);
  const child = spawn(bin, toolArgs, { cwd: repoRoot, env: childEnv, stdio: "inherit" });
  process.on("SIGINT", () => child.kill("SIGINT"));
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** @param {string} name @param {string[]} argv @param {NodeJS.ProcessEnv} childEnv */
function runTypeScriptCommand(name, argv, childEnv) {
  const script = join(repoRoot, "local", "cli", `${name}.ts`);
  // `--import tsx` runs TypeScript in this one process (the tsx CLI would add a second one).
  const child = spawn(process.execPath, ["--import", "tsx", script, ...argv], {
    cwd: repoRoot,
    // The AWS SDK warns at every start that its 2027 releases will need Node 22; Lambda runs
    // Node 24 and the local tools work on 20.19+, so the notice is switched off.
    // INIT_CWD: where the user ran the command (npm sets it; run directly, this is it), which
    // relative --input/--out paths are taken from (cli/args.ts), not the repository root.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...childEnv,
      INIT_CWD: childEnv.INIT_CWD ?? process.cwd(),
    },
    stdio: "inherit",
  });
  // Signals are passed on, so the child always gets to shut its services down. On Ctrl-C the
  // terminal signals both processes; the child treats the second SIGINT as the same request.
  process.on("SIGINT", () => child.kill("SIGINT"));
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal ? 128 + (signal === "SIGINT" ? 2 : 15) : 1));
  });
}
