/**
 * network-zones Lambda, the service token of two custom resources in template.yaml: NetworkZones
 * picks the two Availability Zones of the stack's subnets by zone ID when the AvailabilityZones
 * parameter is empty (./pick-zones.ts); NetworkCheck checks the zones or the existing subnets
 * the user names otherwise, before anything is built on them (./check-network.ts).
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { answerCustomResource, logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { applyCheckEvent } from "./check-network.js";
import { whileRoleSettles } from "./new-role.js";
import { applyEvent } from "./pick-zones.js";

export const logger = createLogger("network-zones");
const ec2 = new EC2Client({});

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    answerCustomResource(
      event,
      context,
      () =>
        whileRoleSettles(
          async () => {
            if (event.ResourceType === "Custom::NetworkCheck")
              return applyCheckEvent(event, { ec2, log });
            if (event.ResourceType === "Custom::NetworkZones")
              return applyEvent(event, { ec2, log });
            throw new Error(`${event.ResourceType}: not a resource this function knows`);
          },
          { log },
        ),
      { fetch, log },
    ),
  );
