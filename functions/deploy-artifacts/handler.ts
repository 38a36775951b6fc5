/**
 * deploy-artifacts Lambda, the service token of the SparkJobScript custom resource in
 * template.yaml: uploads spark/curate_rsvps.py (bundled here as text by esbuild) to the
 * artifacts bucket under a content-hashed key during the deploy. See ./spark-artifact.ts.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import sparkScript from "../../spark/curate_rsvps.py";
import { logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { handleCustomResource } from "./spark-artifact.js";

export const logger = createLogger("deploy-artifacts");
const s3 = new S3Client({});

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    handleCustomResource(event, context, {
      s3,
      script: sparkScript,
      fileName: "curate_rsvps.py",
      fetch,
      log,
    }),
  );
