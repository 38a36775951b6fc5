/**
 * stack-cleanup Lambda, the code of the six cleanup custom resources in template.yaml (what `sam
 * delete` needs done before CloudFormation can delete the rest), as two functions:
 * BucketCleanupFunction for the buckets' cleanup, whose role names only the buckets so that it
 * exists before anything writes to them, and StackCleanupFunction for the others:
 * - StopDailyBatchOnDelete (Custom::StopDailyBatch): stops a running daily batch and terminates
 *   its EMR clusters, first of all (./daily-batch.ts);
 * - BucketsEmptiedOnDelete (Custom::EmptyBuckets): empties the stack's buckets, every version,
 *   after their writers are gone (./empty-buckets.ts);
 * - EmrSecurityGroupRules (Custom::EmrSecurityGroupRules): deletes the service endpoint EMR may
 *   have made in the daily batch's security groups and revokes the rules EMR added to them,
 *   which refer to each other (./security-group-rules.ts);
 * - KafkaNetworkInterfacesGone (Custom::KafkaNetworkInterfacesGone): waits until the MSK event
 *   source's network interfaces have left the brokers' group (./network-interfaces.ts);
 * - TaskDefinitionsOnDelete (Custom::DeleteTaskDefinitions): deletes the ingest and replay task
 *   definitions' revisions, which CloudFormation only deregisters (./task-definitions.ts);
 * - FeedInstancesGone (Custom::FeedInstancesGone): deregisters what the replay feed's Cloud Map
 *   service still lists once its ECS service is gone, and waits until it lists nothing
 *   (./feed-instances.ts).
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { EMRClient } from "@aws-sdk/client-emr";
import { S3Client } from "@aws-sdk/client-s3";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import {
  answerCustomResource,
  type CustomResourceLog,
  type CustomResourceResult,
  logCustomResourceExchange,
} from "../shared/custom-resource.js";
import { createLogger } from "../shared/logger.js";
import { applyStopDailyBatchEvent } from "./daily-batch.js";
import { applyEvent as applyBucketsEvent, readProperties as readBuckets } from "./empty-buckets.js";
import { applyFeedInstancesEvent } from "./feed-instances.js";
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
const serviceDiscovery = new ServiceDiscoveryClient({});

/**
 * Quiet for 5 minutes: for writes authorized before a bucket's refusal took effect (a policy
 * may take a moment), and, where no refusal could be put, past Firehose's 300 s buffer
 * (empty-buckets.ts).
 */
export const QUIET_MS = 300_000;

/** The clients the cleanups call; the handler's own at module scope, a test's mocks. */
export interface CleanupClients {
  s3: S3Client;
  ec2: EC2Client;
  ecs: ECSClient;
  emr: EMRClient;
  sfn: SFNClient;
  cloudformation: CloudFormationClient;
  serviceDiscovery: ServiceDiscoveryClient;
}

/**
 * One cleanup resource's request, answered by its cleanup. A Delete while the stack stays (a
 * replacement, an update's rollback) cleans nothing, but for the feed's Cloud Map instances. The buckets' cleanup throws away data for
 * good, so it empties only a stack whose status was read as going: unread, its Delete fails
 * (`sam delete` again; an update's cleanup skips a failed delete), where the other cleanups,
 * which lose nothing, go ahead.
 */
export async function applyCleanup(
  event: CloudFormationCustomResourceEvent,
  clients: CleanupClients,
  options: { log: CustomResourceLog; remainingMs: number },
): Promise<CustomResourceResult> {
  const { log } = options;
  let stackGoingConfirmed = false;
  // FeedInstancesGone's Delete comes only once the replay service is gone, whatever the stack's
  // status (feed-instances.ts): it clears a Cloud Map service no task uses any more.
  if (event.RequestType === "Delete" && event.ResourceType !== "Custom::FeedInstancesGone") {
    const fate = await stackFate(clients.cloudformation, event.StackId, log);
    if (fate.kept !== undefined) {
      log("not the stack's delete: nothing cleaned up", { stackStatus: fate.kept });
      return { PhysicalResourceId: event.PhysicalResourceId, Data: { Skipped: fate.kept } };
    }
    stackGoingConfirmed = fate.confirmed;
  }
  // The waits: a look every 15 s, and a minute left to answer before the function's 15 minutes
  // are up.
  const polling = { log, pollMs: 15_000, deadline: Date.now() + options.remainingMs - 60_000 };
  switch (event.ResourceType) {
    case "Custom::StopDailyBatch":
      return applyStopDailyBatchEvent(event, { sfn: clients.sfn, emr: clients.emr, ...polling });
    case "Custom::EmrSecurityGroupRules":
      return applySecurityGroupsEvent(event, { ec2: clients.ec2, ...polling });
    case "Custom::KafkaNetworkInterfacesGone":
      return applyNetworkInterfacesEvent(event, { ec2: clients.ec2, ...polling });
    case "Custom::DeleteTaskDefinitions":
      return applyTaskDefinitionsEvent(event, { ecs: clients.ecs, log });
    case "Custom::FeedInstancesGone":
      return applyFeedInstancesEvent(event, {
        serviceDiscovery: clients.serviceDiscovery,
        ...polling,
      });
    case "Custom::EmptyBuckets":
      // Unread status: a Delete whose properties name no buckets (after a Create that failed on
      // them) has nothing to empty, and goes ahead as the other cleanups do.
      if (
        event.RequestType === "Delete" &&
        !stackGoingConfirmed &&
        namesBuckets(event.ResourceProperties)
      )
        throw new Error(
          "the stack's status could not be read, so its buckets are not emptied (that cannot be undone): if the stack is being deleted, run sam delete again",
        );
      return applyBucketsEvent(event, {
        s3: clients.s3,
        log,
        quietMs: QUIET_MS,
        passIntervalMs: 20_000,
        // Leave time to answer before the function's 15 minutes are up.
        deadlineMs: options.remainingMs - 60_000,
      });
    default:
      throw new Error(`${event.ResourceType}: not a cleanup resource this function knows`);
  }
}

/** Whether the properties name buckets to empty (a Create that refused them left none). */
function namesBuckets(properties: Record<string, unknown> | undefined): boolean {
  try {
    readBuckets(properties);
    return true;
  } catch {
    return false;
  }
}

const clients: CleanupClients = { s3, ec2, ecs, emr, sfn, cloudformation, serviceDiscovery };

export const handler = (event: CloudFormationCustomResourceEvent, context: Context) =>
  logCustomResourceExchange(logger, event, context, (log) =>
    answerCustomResource(
      event,
      context,
      () => applyCleanup(event, clients, { log, remainingMs: context.getRemainingTimeInMillis() }),
      { fetch, log },
    ),
  );
