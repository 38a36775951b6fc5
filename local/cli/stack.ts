/**
 * `npm run stack`: starts the local engines, prints where they are, and keeps them up until
 * Ctrl-C or SIGTERM. If an engine crashes, the others are stopped and the exit code is 1.
 *
 * Flags: `--json` prints one machine-readable line when ready (used by the tests);
 * `--exit-when-ready` exits right after that line without calling stop(), which proves that
 * the exit hook alone leaves nothing behind.
 */
import { startLocalStack } from "../stack/stack.js";
import { exitOnSignalsWhileStarting, orExit } from "./args.js";

const json = process.argv.includes("--json");
const exitWhenReady = process.argv.includes("--exit-when-ready");
const progress = (line: string) => process.stderr.write(`[stack] ${line}\n`);

const startingSignals = exitOnSignalsWhileStarting(progress);
const stack = await orExit(
  startLocalStack({ progress, keepRunDir: process.argv.includes("--keep") }),
  progress,
  "could not start the engines",
);
const ready = {
  kafkaBootstrapServer: stack.kafkaBootstrapServer,
  awsEndpoint: stack.aws?.endpoint,
  resources: stack.resources,
  processGroups: stack.processes.map((engine) => ({ name: engine.name, pgid: engine.pid })),
  ports: stack.ports,
  runDir: stack.runDir,
};
if (json) {
  process.stdout.write(`${JSON.stringify(ready)}\n`);
} else {
  progress(`Kafka bootstrap server: ${ready.kafkaBootstrapServer}`);
  progress(`AWS endpoint (moto): ${ready.awsEndpoint}`);
  progress(`resources: ${JSON.stringify(ready.resources)}`);
  progress("up; Ctrl-C stops everything");
}
if (exitWhenReady) process.exit(0);

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  progress("stopping...");
  await stack.stop();
  progress("stopped");
  process.exit(code);
};
startingSignals();
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
void stack.crashed.then((error) => {
  process.stderr.write(`[stack] ${error.message}\n`);
  void shutdown(1);
});
