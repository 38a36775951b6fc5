/**
 * network-zones Lambda, the service token of the NetworkZones custom resource in template.yaml:
 * picks the two Availability Zones of the stack's subnets by zone ID when the AvailabilityZones
 * parameter is empty. See ./pick-zones.ts.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { answerCustomResource, logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { applyEvent } from "./pick-zones.js";

export const logger = createLogger("network-zones");
const ec2 = new EC2Client({});

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    answerCustomResource(event, context, () => applyEvent(event, { ec2, log }), { fetch, log }),
  );
