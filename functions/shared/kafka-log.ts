/**
 * Routes kafkajs's own log lines into the shared Powertools logger, so broker reconnects and
 * retries appear as the same structured JSON as everything else, with the kafkajs namespace.
 *
 * kafkajs logs at ERROR every failure it meets on the way, also the ones it retries itself or
 * hands to its caller: a broker's error answer ("Response InitProducerId ... The coordinator is
 * loading"), a refused connection, a seed broker not reached, a send that failed. A broker
 * restart (MSK patches its brokers one by one) or a task starting while Kafka is down prints
 * them by the dozen, though nothing is lost. Those are WARN here: a producer's or an admin's
 * failure reaches the code that called it, which retries it (the ingest's senders, without
 * limit) or reports it at the level it deserves. A consumer's crash stays ERROR: there kafkajs
 * itself is the caller, and nothing above it says so; except for the ingest's throwaway groups
 * that read its resume point, whose crash ends the read and is retried by the code that asked.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type logCreator, logLevel } from "kafkajs";

/** kafkajs namespaces of the consumer's own loop, whose failures no caller of ours sees. */
const CONSUMER_NAMESPACES = new Set(["Consumer", "ConsumerGroup", "Runner"]);
/** Consumer groups whose crash reaches the code that runs them, which retries it. */
export const CALLER_RETRIED_GROUP_PREFIX = "rsvp-atlas-ingest-resume-";

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _source, ...details } = log;
      const entry = { kafkajs: namespace, ...details };
      const callerRetries =
        typeof details.groupId === "string" &&
        details.groupId.startsWith(CALLER_RETRIED_GROUP_PREFIX);
      if (level === logLevel.ERROR && CONSUMER_NAMESPACES.has(namespace) && !callerRetries)
        logger.error(message, entry);
      else if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(message, entry);
      else if (level === logLevel.INFO) logger.info(message, entry);
      else logger.debug(message, entry);
    };
}
