/**
 * Clients of the integration project's shared local stack (test/support/global-stack.ts: one
 * Kafka broker and one moto for every integration file), set up as the stack's own tools set up
 * theirs. Each call makes a new client, which the test destroys or disconnects when done.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateSecurityGroupCommand, EC2Client } from "@aws-sdk/client-ec2";
import { EMRClient, RunJobFlowCommand, type Tag } from "@aws-sdk/client-emr";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { Kafka, logLevel } from "kafkajs";
import { inject } from "vitest";
import { type AwsEndpoint, awsClientConfig } from "../../local/stack/aws-endpoint.js";

/** moto's endpoint and region, as local/stack/aws-endpoint.ts and local/batch take them. */
export function stackAws(): AwsEndpoint {
  const stack = inject("stack");
  return { endpoint: stack.awsEndpoint, region: stack.region };
}

export function stackDynamoDB(): DynamoDBClient {
  return new DynamoDBClient(awsClientConfig(stackAws()));
}

/** Path-style addressing: moto serves buckets under its one host name. */
export function stackS3(): S3Client {
  return new S3Client({ ...awsClientConfig(stackAws()), forcePathStyle: true });
}

/** A kafkajs client of the local broker; its own logs are silenced (a test says what failed). */
export function stackKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [inject("stack").kafkaBootstrapServer],
    logLevel: logLevel.NOTHING,
  });
}

export function stackEc2(): EC2Client {
  return new EC2Client(awsClientConfig(stackAws()));
}

/** A security group of `vpcId` on moto's EC2, its name made unique; its id. */
export async function newSecurityGroup(ec2: EC2Client, vpcId: string | undefined, name: string) {
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: `${name}-${Math.random().toString(36).slice(2, 8)}`,
      Description: name,
      VpcId: vpcId,
    }),
  );
  return GroupId as string;
}

export function stackEmr(): EMRClient {
  return new EMRClient(awsClientConfig(stackAws()));
}

export function stackSfn(): SFNClient {
  return new SFNClient(awsClientConfig(stackAws()));
}

/**
 * A cluster shaped like the daily batch's on moto's EMR (API stubs: states and times, no
 * instances), kept alive with no steps as the workflow's CreateCluster does; its id.
 */
export async function runBatchLikeCluster(
  emr: EMRClient,
  name: string,
  tags: Tag[] = [],
): Promise<string> {
  const { JobFlowId } = await emr.send(
    new RunJobFlowCommand({
      Name: name,
      ReleaseLabel: "emr-7.12.0",
      Applications: [{ Name: "Spark" }],
      ServiceRole: "EMR_DefaultRole",
      JobFlowRole: "EMR_EC2_DefaultRole",
      VisibleToAllUsers: true,
      Tags: tags,
      Instances: {
        KeepJobFlowAliveWhenNoSteps: true,
        MasterInstanceType: "m7g.xlarge",
        SlaveInstanceType: "m7g.xlarge",
        InstanceCount: 3,
      },
    }),
  );
  if (!JobFlowId) throw new Error(`RunJobFlow of ${name} returned no id`);
  return JobFlowId;
}
