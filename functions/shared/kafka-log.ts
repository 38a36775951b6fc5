/**
 * Routes kafkajs's own log lines into the shared Powertools logger, so broker reconnects and
 * retries appear as the same structured JSON as everything else, with the kafkajs namespace.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type logCreator, logLevel } from "kafkajs";

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _source, ...details } = log;
      const entry = { kafkajs: namespace, ...details };
      if (level === logLevel.ERROR) logger.error(message, entry);
      else if (level === logLevel.WARN) logger.warn(message, entry);
      else if (level === logLevel.INFO) logger.info(message, entry);
      else logger.debug(message, entry);
    };
}
