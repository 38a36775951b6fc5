import type { Logger } from "@aws-lambda-powertools/logger";
import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaLogCreator } from "../../functions/shared/kafka-log.js";

function recordingLogger() {
  const lines: [string, string][] = [];
  const at = (level: string) => (message: string) => void lines.push([level, message]);
  const logger = {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
  } as unknown as Logger;
  return { lines, log: kafkaLogCreator(logger)(logLevel.DEBUG) };
}

describe("kafkaLogCreator", () => {
  it("logs a broker's error answer, which kafkajs retries or hands to the caller, as a warning", () => {
    const { lines, log } = recordingLogger();
    const entry = (namespace: string, level: logLevel, message: string) =>
      log({ namespace, level, label: "", log: { message, timestamp: "", logger: "kafkajs" } });
    entry("Connection", logLevel.ERROR, "Response InitProducerId(key: 22, version: 1)");
    entry("Connection", logLevel.ERROR, "Connection error: connect ECONNREFUSED");
    entry("Consumer", logLevel.ERROR, "Crash: KafkaJSNumberOfRetriesExceeded");
    entry("Consumer", logLevel.INFO, "Starting");
    expect(lines).toEqual([
      ["warn", "Response InitProducerId(key: 22, version: 1)"],
      ["error", "Connection error: connect ECONNREFUSED"],
      ["error", "Crash: KafkaJSNumberOfRetriesExceeded"],
      ["info", "Starting"],
    ]);
  });
});
