/**
 * site-content Lambda, the service token of the SiteContent custom resource in template.yaml:
 * publishes the website that `sam build` packaged beside this file (site/, built by
 * functions/site-content/Makefile) into the site bucket, with the config.json that points the page
 * at the counts API. See ./site-content.ts.
 */
import { fileURLToPath } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { handleSiteContent } from "./site-content.js";
import { readSiteFolder } from "./site-folder.js";

export const logger = createLogger("site-content");
const s3 = new S3Client({});

/** The package's site/ folder, next to the bundle (index.mjs) in /var/task. */
export const packagedSiteDir = () => fileURLToPath(new URL("./site/", import.meta.url));

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    handleSiteContent(event, context, {
      s3,
      files: () => readSiteFolder(packagedSiteDir()),
      fetch,
      log,
    }),
  );
