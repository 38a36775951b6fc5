/**
 * Runs one of Kafka's own command-line tools (a class of the kafka-tools jar the broker's jars
 * include) and gives back everything it printed, stdout and stderr, or fails with its tail.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KafkaInstall } from "../../local/setup/kafka-jars.js";

/** Warnings and errors only, on stderr: the tools' figures are on stdout. */
const QUIET_LOG4J2 =
  "status = error\nappender.console.type = Console\nappender.console.name = STDERR\nappender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %p %m%n\nrootLogger.level = WARN\nrootLogger.appenderRef.stderr.ref = STDERR\n";

export async function runKafkaTool(
  install: KafkaInstall,
  className: string,
  args: string[],
  workDir: string,
): Promise<string> {
  const log4j = join(workDir, "kafka-tool-log4j2.properties");
  writeFileSync(log4j, QUIET_LOG4J2);
  const java = [
    "-Xmx512m",
    `-Dlog4j2.configurationFile=${log4j}`,
    "-cp",
    join(install.libDir, "*"),
    `org.apache.kafka.tools.${className}`,
    ...args,
  ];
  const tool = className;
  return await new Promise<string>((resolve, reject) => {
    const child = spawn("java", java, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(text)
        : reject(new Error(`${tool} exited with ${code}:\n${text.slice(-2000)}`)),
    );
  });
}
