/**
 * The one logger of rsvp-atlas (Powertools for AWS Lambda, structured JSON), shared by the
 * Lambda handlers, the Fargate ingest task and the local tools, so a log line reads the same
 * wherever it was written. Level from POWERTOOLS_LOG_LEVEL, service from POWERTOOLS_SERVICE_NAME.
 */
import { Logger } from "@aws-lambda-powertools/logger";

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName });
}
