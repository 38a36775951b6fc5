import type { Logger } from "@aws-lambda-powertools/logger";
import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { CALLER_RETRIED_GROUP_PREFIX, kafkaLogCreator } from "../../functions/shared/kafka-log.js";

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
  it("logs what kafkajs retries or hands to its caller as a warning, and a consumer's crash as an error", () => {
    const { lines, log } = recordingLogger();
    const entry = (namespace: string, level: logLevel, message: string) =>
      log({ namespace, level, label: "", log: { message, timestamp: "", logger: "kafkajs" } });
    // What a broker restart prints (kafkajs 2.2.4's own messages): each reaches a caller that
    // retries it (the ingest's senders log "sending failed; retrying") or reports it.
    entry("Connection", logLevel.ERROR, "Response InitProducerId(key: 22, version: 1)");
    entry("Connection", logLevel.ERROR, "Connection error: connect ECONNREFUSED");
    entry("BrokerPool", logLevel.ERROR, "Failed to connect to seed broker, trying another broker");
    entry("Producer", logLevel.ERROR, "Failed to send messages: Connection error");
    // The consumer's own loop: no caller of ours hears of it.
    entry("Consumer", logLevel.ERROR, "Crash: KafkaJSNumberOfRetriesExceeded");
    entry("Runner", logLevel.ERROR, "Error when calling eachBatch");
    entry("Consumer", logLevel.WARN, "Restarting the consumer");
    entry("Consumer", logLevel.INFO, "Starting");
    entry("Connection", logLevel.DEBUG, "Request Metadata");
    expect(lines).toEqual([
      ["warn", "Response InitProducerId(key: 22, version: 1)"],
      ["warn", "Connection error: connect ECONNREFUSED"],
      ["warn", "Failed to connect to seed broker, trying another broker"],
      ["warn", "Failed to send messages: Connection error"],
      ["error", "Crash: KafkaJSNumberOfRetriesExceeded"],
      ["error", "Error when calling eachBatch"],
      ["warn", "Restarting the consumer"],
      ["info", "Starting"],
      ["debug", "Request Metadata"],
    ]);
  });

  it("logs the crash of a consumer whose caller retries it (the ingest's resume read) as a warning", () => {
    const { lines, log } = recordingLogger();
    const crash = (groupId: string) =>
      log({
        namespace: "Consumer",
        level: logLevel.ERROR,
        label: "",
        log: { message: `Crash in ${groupId}`, timestamp: "", logger: "kafkajs", groupId },
      });
    crash(`${CALLER_RETRIED_GROUP_PREFIX}0b7c`);
    crash("rsvp-atlas-city-counts");
    expect(lines).toEqual([
      ["warn", `Crash in ${CALLER_RETRIED_GROUP_PREFIX}0b7c`],
      ["error", "Crash in rsvp-atlas-city-counts"],
    ]);
  });
});
