/**
 * stack-cleanup Lambda, the code of the five cleanup custom resources in template.yaml (what `sam
 * delete` needs done before CloudFormation can delete the rest), as two functions:
 * BucketCleanupFunction for the buckets' cleanup, whose role names only the buckets so that it
 * exists before anything writes to them, and StackCleanupFunction for the others:
 * - StopDailyBatchOnDelete (Custom::StopDailyBatch): stops a running daily batch and terminates
 *   its EMR clusters, first of all (./daily-batch.ts);
 * - BucketsEmptiedOnDelete (Custom::EmptyBuckets): empties the stack's buckets, every version,
 *   after their writers are gone (./empty-buckets.ts);
 * - EmrSecurityGroupRules (Custom::EmrSecurityGroupRules): revokes the rules EMR added to the
 *   daily batch's security groups, which refer to each other (./security-group-rules.ts);
 * - KafkaNetworkInterfacesGone (Custom::KafkaNetworkInterfacesGone): waits until the MSK event
 *   source's network interfaces have left the brokers' group (./network-interfaces.ts);
 * - TaskDefinitionsOnDelete (Custom::DeleteTaskDefinitions): deletes the ingest and replay task
 *   definitions' revisions, which CloudFormation only deregisters (./task-definitions.ts).
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { EMRClient } from "@aws-sdk/client-emr";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { answerCustomResource, logCustomResourceExchange } from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { applyStopDailyBatchEvent } from "./daily-batch.js";
import { applyEvent as applyBucketsEvent } from "./empty-buckets.js";
import { applyNetworkInterfacesEvent } from "./network-interfaces.js";
import { applySecurityGroupsEvent } from "./security-group-rules.js";
import { stackFate } from "./stack-going.js";
import { applyTaskDefinitionsEvent } from "./task-definitions.js";

export const logger = createLogger("stack-cleanup");
const s3 = new S3Client({});
const ec2 = new EC2Client({});
const ecs = new ECSClient({});
const emr = new EMRClient({});
const sfn = new SFNClient({});
const cloudformation = new CloudFormationClient({});

/**
 * Quiet for 5 minutes: for writes authorized before a bucket's refusal took effect (a policy
 * may take a moment), and, where no refusal could be put, past Firehose's 300 s buffer
 * (empty-buckets.ts).
 */
export const QUIET_MS = 300_000;

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    answerCustomResource(
      event,
      context,
      async () => {
        // A Delete while the stack stays (a replacement, an update's rollback) cleans nothing.
        let stackGoingConfirmed = false;
        if (event.RequestType === "Delete") {
          const fate = await stackFate(cloudformation, event.StackId, log);
          if (fate.kept !== undefined) {
            log("not the stack's delete: nothing cleaned up", { stackStatus: fate.kept });
            return { PhysicalResourceId: event.PhysicalResourceId, Data: { Skipped: fate.kept } };
          }
          stackGoingConfirmed = fate.confirmed;
        }
        // The waits: a look every 15 s, and a minute left to answer before the function's 15
        // minutes are up.
        const polling = {
          log,
          pollMs: 15_000,
          deadline: Date.now() + context.getRemainingTimeInMillis() - 60_000,
        };
        return event.ResourceType === "Custom::StopDailyBatch"
          ? applyStopDailyBatchEvent(event, { sfn, emr, ...polling })
          : event.ResourceType === "Custom::EmrSecurityGroupRules"
            ? applySecurityGroupsEvent(event, { ec2, log })
            : event.ResourceType === "Custom::KafkaNetworkInterfacesGone"
              ? applyNetworkInterfacesEvent(event, { ec2, ...polling })
              : event.ResourceType === "Custom::DeleteTaskDefinitions"
                ? applyTaskDefinitionsEvent(event, { ecs, log })
                : applyBucketsEvent(event, {
                    s3,
                    log,
                    // Replacing the buckets' policies only when the stack is surely going: its
                    // status unread, an update's replacement would lose the site's and the
                    // flow log's grants.
                    refuseNewObjects: stackGoingConfirmed,
                    quietMs: QUIET_MS,
                    passIntervalMs: 20_000,
                    // Leave time to answer before the function's 15 minutes are up.
                    deadlineMs: context.getRemainingTimeInMillis() - 60_000,
                  });
      },
      { fetch, log },
    ),
  );
