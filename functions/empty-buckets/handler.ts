/**
 * empty-buckets Lambda, the service token of the EmptyBucketsOnDelete custom resource in
 * template.yaml: on stack delete, empties the stack's buckets (every version) after their
 * writers are gone, so `sam delete` leaves nothing behind. See ./empty-buckets.ts.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { answerCustomResource, logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { applyEvent } from "./empty-buckets.js";

export const logger = createLogger("empty-buckets");
const s3 = new S3Client({});

/** Quiet for 5 minutes: past Firehose's 300 s buffer and a flow log's last 60 s interval. */
export const QUIET_MS = 300_000;

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    answerCustomResource(
      event,
      context,
      () =>
        applyEvent(event, {
          s3,
          log,
          quietMs: QUIET_MS,
          passIntervalMs: 20_000,
          // Leave time to answer before the function's 15 minutes are up.
          deadlineMs: context.getRemainingTimeInMillis() - 60_000,
        }),
      { fetch, log },
    ),
  );
