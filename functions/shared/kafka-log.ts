/**
 * Routes kafkajs's own log lines into the shared Powertools logger, so broker reconnects and
 * retries appear as the same structured JSON as everything else, with the kafkajs namespace.
 *
 * kafkajs logs every error answer of a broker at ERROR ("Response InitProducerId ... The
 * coordinator is loading"), also the ones it retries itself. Those are WARN here: what kafkajs
 * gives up on reaches the caller as an error, which says so where it matters.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type logCreator, logLevel } from "kafkajs";

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _source, ...details } = log;
      const entry = { kafkajs: namespace, ...details };
      const answerItHandles = namespace === "Connection" && message.startsWith("Response ");
      if (level === logLevel.ERROR && !answerItHandles) logger.error(message, entry);
      else if (level === logLevel.ERROR) logger.warn(message, entry);
      else if (level === logLevel.WARN) logger.warn(message, entry);
      else if (level === logLevel.INFO) logger.info(message, entry);
      else logger.debug(message, entry);
    };
}
