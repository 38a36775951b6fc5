// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's own ${...} (Fn::Sub, DefinitionSubstitutions) in plain strings.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kafkaVersionFromPom } from "../../local/setup/kafka-jars.js";
import { repoRoot } from "../../local/setup/paths.js";
import { localResourceNames } from "../../local/stack/provision.js";
import {
  functionEnvironment,
  loadTemplateModel,
  localResourceName,
  readTemplate,
} from "../../local/stack/template-model.js";
import { inlineStatements } from "../support/function-policies.js";
import { resolveConditions, resolvedResource } from "../support/template-conditions.js";

const template = readTemplate();
/** The two ways the site is served (parameter SiteHosting). */
const HOSTINGS = ["cloudfront", "s3-website"] as const;
const model = loadTemplateModel(template);

/**
 * The only composed names a log group may have: ones the service writing to it dictates, made of
 * nothing but the stack's own values, so that they stay unique per stack like a generated name.
 * - Container Insights writes an ECS cluster's performance events to
 *   /aws/ecs/containerinsights/<cluster name>/performance and nowhere else (CloudWatch User
 *   Guide, "Container Insights performance log events for Amazon ECS"): the template declares
 *   that group, for the stack's retention and delete, under the name of one of its clusters,
 *   which is <stack name>-<purpose>-<the stack id's UUID> and depends on the group (so the
 *   group is created before it and deleted after it).
 * - MSK broker logs, API Gateway access logs and Step Functions logs go through CloudWatch
 *   Logs' log delivery, whose account resource policy only /aws/vendedlogs/ names keep within
 *   its 5,120 characters (CloudWatch Logs User Guide, "Enabling logging from AWS services"):
 *   /aws/vendedlogs/<service>/<stack name>-<purpose>-<the stack id's UUID>.
 */
function serviceDictatedLogGroupName(name: unknown): boolean {
  const sub = (name as { "Fn::Sub"?: unknown } | undefined)?.["Fn::Sub"];
  if (!Array.isArray(sub)) return false;
  const [text, variables] = sub as [unknown, unknown];
  if (typeof text !== "string" || JSON.stringify(variables) !== JSON.stringify(STACK_UUID))
    return false;
  const insights = /^\/aws\/ecs\/containerinsights\/(.+)\/performance$/.exec(text)?.[1];
  if (insights !== undefined)
    return Object.values(template.Resources).some(
      (resource) =>
        resource.Type === "AWS::ECS::Cluster" &&
        JSON.stringify(resource.Properties?.ClusterName) ===
          JSON.stringify({ "Fn::Sub": [insights, STACK_UUID] }) &&
        /^\$\{AWS::StackName\}-[a-z]+-\$\{StackUuid\}$/.test(insights),
    );
  return /^\/aws\/vendedlogs\/(msk|apigateway|states)\/\$\{AWS::StackName\}-[a-z]+(-[a-z]+)*-\$\{StackUuid\}$/.test(
    text,
  );
}
/** The principal of a key policy's default statement: this account, administering through IAM. */
const ACCOUNT_ROOT = JSON.stringify({
  AWS: { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" },
});
const STACK_UUID = {
  StackUuid: { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
};

describe("template.yaml as the local stack's source of truth", () => {
  it("declares the topics, the counts table, the raw bucket and its delivery stream", () => {
    expect(model.topics).toEqual([
      { parameter: "RsvpTopicName", name: "meetup", partitions: 6 },
      { parameter: "DeadLetterTopicName", name: "meetup-dlq", partitions: 6 },
      // Not the failed-records topic: made, on AWS as locally, only with
      // CityCountsFailureDestination kafka (parameter-overrides.test.ts).
    ]);
    expect(model.tables).toEqual([
      {
        logicalId: "CityCountsTable",
        keySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        attributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        ttlAttribute: "expiresAt",
      },
    ]);
    expect(model.buckets.map((b) => b.logicalId).sort()).toEqual([
      "ArtifactsBucket",
      "CountsFailedBatchesBucket",
      "CuratedBucket",
      "LogsBucket",
      "RawBucket",
      "SiteBucket",
    ]);
    expect(model.deliveryStreams).toEqual([
      {
        logicalId: "RawDeliveryStream",
        bucketLogicalId: "RawBucket",
        prefix: "rsvps/dt=!{timestamp:yyyy-MM-dd}/",
        errorOutputPrefix: "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/",
      },
    ]);
  });

  it("runs the local Kafka broker at the standard MSK setting's major.minor version", () => {
    // The lean setting (3.9.x) differs in major version; the clients (kafkajs, the MSK event
    // source) speak both, and KRaft or ZooKeeper makes no difference to a client. Locally: the
    // standard one.
    const majorMinor = (version: string) => version.split(".").slice(0, 2).join(".");
    expect(model.kafkaVersions).toEqual({ lean: "3.9.x", standard: "4.0.x.kraft" });
    expect(majorMinor(kafkaVersionFromPom())).toBe(majorMinor(model.kafkaVersions.standard ?? ""));
  });

  it("reads CloudFormation short-form intrinsics as their long form", () => {
    const stream = template.Resources.RawDeliveryStream?.Properties as {
      ExtendedS3DestinationConfiguration: { BucketARN: unknown; RoleARN: unknown };
    };
    expect(stream.ExtendedS3DestinationConfiguration.BucketARN).toEqual({
      "Fn::GetAtt": ["RawBucket", "Arn"],
    });
    const policy = template.Resources.RawBucketPolicy?.Properties as { Bucket: unknown };
    expect(policy.Bucket).toEqual({ Ref: "RawBucket" });
  });

  it("derives valid local names from logical ids", () => {
    expect(localResourceName("CityCountsTable")).toBe("rsvp-atlas-city-counts-table");
    for (const name of Object.values(localResourceNames(model).buckets)) {
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    }
  });

  it("gives the city-counts Lambda every setting its handler reads, and the MSK trigger on the RSVP topic", () => {
    const fn = template.Resources.CityCountsFunction?.Properties as {
      Environment: { Variables: Record<string, unknown> };
      Events: { RsvpTopic: { Type: string; Properties: { Topics: unknown[]; Stream: unknown } } };
    };
    expect(Object.keys(fn.Environment.Variables)).toEqual(
      expect.arrayContaining(["TABLE_NAME", "RSVP_STATE_TTL_DAYS"]),
    );
    expect(fn.Environment.Variables.TABLE_NAME).toEqual({ Ref: "CityCountsTable" });
    expect(fn.Events.RsvpTopic.Type).toBe("MSK");
    expect(fn.Events.RsvpTopic.Properties.Topics).toEqual([{ Ref: "RsvpTopicName" }]);
    expect(fn.Events.RsvpTopic.Properties.Stream).toEqual({ Ref: "RsvpKafkaCluster" });
  });

  it("gives the counts API Lambda its settings and a GET /counts route on a throttled HTTP API", () => {
    const environment = functionEnvironment("CountsApiFunction", { CityCountsTable: "t" });
    expect(environment).toMatchObject({ TABLE_NAME: "t" });
    // API Gateway Developer Guide, "Configuring CORS for an HTTP API": with CORS configured it
    // ignores the integration's CORS headers; without (cloudfront and no SiteOrigin) it passes
    // them on. So the function sends none (ALLOWED_ORIGIN unset), and the only CORS answer is
    // the configured one, for the website's origin.
    expect(environment).not.toHaveProperty("ALLOWED_ORIGIN");
    const fn = template.Resources.CountsApiFunction?.Properties as {
      Events: {
        GetCounts: { Type: string; Properties: { Path: string; Method: string; ApiId: unknown } };
      };
    };
    expect(fn.Events.GetCounts).toEqual({
      Type: "HttpApi",
      Properties: { ApiId: { Ref: "CountsHttpApi" }, Path: "/counts", Method: "GET" },
    });
    const api = template.Resources.CountsHttpApi?.Properties as {
      DefaultRouteSettings: Record<string, unknown>;
    };
    expect(api.DefaultRouteSettings.ThrottlingRateLimit).toEqual({ Ref: "CountsApiRateLimit" });
  });

  it("runs the ingest task on Fargate arm64 with every setting it requires, the key as a secret", () => {
    const task = template.Resources.IngestTaskDefinition?.Properties as {
      RuntimePlatform: { CpuArchitecture: string };
      ContainerDefinitions: {
        Environment: { Name: string }[];
        Secrets: { Name: string; ValueFrom: unknown }[];
      }[];
    };
    expect(task.RuntimePlatform.CpuArchitecture).toBe("ARM64");
    const container = task.ContainerDefinitions[0];
    expect(container?.Environment.map((e) => e.Name)).toEqual(
      expect.arrayContaining([
        "FEED_URL",
        "KAFKA_CLUSTER_ARN",
        "KAFKA_AUTH",
        "DELIVERY_STREAM_NAME",
        "RSVP_TOPIC",
        "DEAD_LETTER_TOPIC",
      ]),
    );
    // Nothing of the member passes the ingest, so the task needs no secret to pseudonymize it.
    expect(container?.Secrets).toBeUndefined();
  });

  it("resolves a function's environment locally: resources to local names, parameters to defaults", () => {
    expect(functionEnvironment("CityCountsFunction", { CityCountsTable: "local-table" })).toEqual({
      NODE_OPTIONS: "--enable-source-maps",
      POWERTOOLS_LOG_LEVEL: "INFO",
      TABLE_NAME: "local-table",
      RSVP_STATE_TTL_DAYS: "14",
      RSVP_TOPIC_RETENTION_HOURS: "168",
      RSVP_TOPIC_SEGMENT_HOURS: "1",
      POWERTOOLS_SERVICE_NAME: "city-counts",
    });
    expect(() => functionEnvironment("CityCountsFunction", {})).toThrow(
      /TABLE_NAME: cannot resolve/,
    );
    expect(() => functionEnvironment("RawBucket", {})).toThrow(/no AWS::Serverless::Function/);
  });

  it("hard-codes no physical names and encrypts every store at rest", () => {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const properties = (resource.Properties ?? {}) as Record<string, unknown>;
      for (const nameProperty of [
        "BucketName",
        "TableName",
        "DeliveryStreamName",
        "RoleName",
        "FunctionName",
        "LogGroupName",
      ]) {
        // Absent (CloudFormation names it), or a reference to a resource that is (a metric
        // filter's LogGroupName, say); never a literal or a composed name, except a log group
        // name a service dictates (serviceDictatedLogGroupName).
        const name = properties[nameProperty];
        if (
          resource.Type === "AWS::Logs::LogGroup" &&
          nameProperty === "LogGroupName" &&
          serviceDictatedLogGroupName(name)
        ) {
          continue;
        }
        if (name !== undefined) {
          expect(Object.keys(name as object), `${logicalId}.${nameProperty}`).toEqual(["Ref"]);
          const target = (name as { Ref: string }).Ref;
          // SAM makes a function's role as <function>Role when it names none (SAM Developer
          // Guide, "Generated AWS CloudFormation resources for AWS SAM").
          const samRoleOf = target.endsWith("Role")
            ? template.Resources[target.slice(0, -"Role".length)]
            : undefined;
          if (
            samRoleOf?.Type === "AWS::Serverless::Function" &&
            (samRoleOf.Properties as { Role?: unknown } | undefined)?.Role === undefined
          )
            continue;
          expect(
            template.Resources,
            `${logicalId}.${nameProperty} names no resource`,
          ).toHaveProperty([target]);
        }
      }
      // S3 User Guide, "Setting default server-side encryption behavior": AES256 (SSE-S3) or
      // aws:kms / aws:kms:dsse; Firehose API Reference, DeliveryStreamEncryptionConfigurationInput
      // KeyType: AWS_OWNED_CMK or CUSTOMER_MANAGED_CMK.
      if (resource.Type === "AWS::S3::Bucket") {
        const rules = (
          properties.BucketEncryption as {
            ServerSideEncryptionConfiguration?: {
              ServerSideEncryptionByDefault?: { SSEAlgorithm?: string };
            }[];
          }
        )?.ServerSideEncryptionConfiguration;
        expect(rules, logicalId).toHaveLength(1);
        expect(["AES256", "aws:kms", "aws:kms:dsse"], logicalId).toContain(
          rules?.[0]?.ServerSideEncryptionByDefault?.SSEAlgorithm,
        );
      }
      // DynamoDB encrypts every table at rest; SSEEnabled false is its AWS owned key (API
      // Reference, SSESpecification), true the AWS managed key aws/dynamodb: KMS charges, and
      // a key that stays in the account after the stack is deleted.
      if (resource.Type === "AWS::DynamoDB::Table")
        expect(properties.SSESpecification, logicalId).toEqual({ SSEEnabled: false });
      if (resource.Type === "AWS::KinesisFirehose::DeliveryStream") {
        expect(["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"], logicalId).toContain(
          (properties.DeliveryStreamEncryptionConfigurationInput as { KeyType?: string })?.KeyType,
        );
      }
    }
  });
  it("keeps nothing of the member: no catalog column, no secret to pseudonymize it", () => {
    // The parser drops the member object whole (test/unit/rsvp-parse.test.ts), so no table may
    // declare a column for it and the stack holds no key for a pseudonym of it.
    const personalColumn = /member|photo|other_?services/i;
    const columns = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === "AWS::Glue::Table")
      .flatMap(([id, resource]) =>
        (
          (
            resource.Properties as {
              TableInput: { StorageDescriptor: { Columns: { Name: string }[] } };
            }
          ).TableInput.StorageDescriptor.Columns ?? []
        ).map((column) => `${id}.${column.Name}`),
      );
    expect(columns.length).toBeGreaterThan(10);
    expect(columns.filter((column) => personalColumn.test(column))).toEqual([]);
    expect(
      Object.values(template.Resources).filter((r) => r.Type === "AWS::SecretsManager::Secret"),
    ).toEqual([]);
  });

  it("lets a log group have a composed name only as its service dictates it", () => {
    expect(serviceDictatedLogGroupName({ Ref: "IngestLogGroup" })).toBe(false);
    expect(serviceDictatedLogGroupName("/aws/ecs/containerinsights/x/performance")).toBe(false);
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": "/aws/ecs/containerinsights/${IngestCluster}/performance",
      }),
    ).toBe(false);
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": [
          "/aws/ecs/containerinsights/${AWS::StackName}-other-${StackUuid}/performance",
          STACK_UUID,
        ],
      }),
    ).toBe(false);
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": [
          "/aws/ecs/containerinsights/${AWS::StackName}-ingest-${StackUuid}/performance",
          STACK_UUID,
        ],
      }),
    ).toBe(true);
    // The cluster it names depends on it: created before the cluster, deleted after it.
    expect(
      (template.Resources.IngestCluster as { DependsOn?: unknown } | undefined)?.DependsOn,
    ).toBe("IngestClusterPerformanceLogGroup");
    const stackUuid = {
      StackUuid: { "Fn::Select": [2, { "Fn::Split": ["/", { Ref: "AWS::StackId" }] }] },
    };
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": ["/aws/vendedlogs/states/${AWS::StackName}-daily-batch-${StackUuid}", stackUuid],
      }),
    ).toBe(true);
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": ["/aws/vendedlogs/states/fixed-name-${StackUuid}", stackUuid],
      }),
    ).toBe(false);
    expect(
      serviceDictatedLogGroupName({
        "Fn::Sub": [
          "/aws/vendedlogs/states/${AWS::StackName}-daily-batch-${StackUuid}",
          { StackUuid: "fixed" },
        ],
      }),
    ).toBe(false);
  });
});

// --- The daily batch: workflow, EMR, Lambdas, buckets and IAM ---------------------------------

type Intrinsic = string | Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: Intrinsic | Intrinsic[];
  Condition?: Record<string, Record<string, unknown>>;
}
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const properties = (logicalId: string) =>
  (template.Resources[logicalId]?.Properties ?? {}) as Record<string, unknown>;

/**
 * Every policy statement the template writes (IAM roles, SAM function/state machine policies,
 * bucket policies), as a deploy with `parameters` (others at their defaults) creates them.
 */
function allStatements(
  parameters: Record<string, string> = {},
): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  const documents = (where: string, docs: unknown[]) => {
    for (const doc of docs) {
      const statements = (doc as { Statement?: Statement | Statement[] } | undefined)?.Statement;
      for (const statement of list(statements)) found.push({ where, statement });
    }
  };
  // Resources of any condition: a statement is checked whether or not these defaults create it.
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const p = (resolveConditions(resource.Properties ?? {}, template, parameters) ?? {}) as Record<
      string,
      unknown
    >;
    if (resource.Type === "AWS::IAM::Role") {
      const policies = (p.Policies ?? []) as { PolicyDocument: unknown }[];
      documents(
        logicalId,
        policies.map((policy) => policy.PolicyDocument),
      );
    }
    if (
      resource.Type === "AWS::Serverless::Function" ||
      resource.Type === "AWS::Serverless::StateMachine"
    ) {
      documents(logicalId, list(p.Policies as unknown[]));
    }
    if (resource.Type === "AWS::S3::BucketPolicy") documents(logicalId, [p.PolicyDocument]);
    if (
      resource.Type === "AWS::IAM::RolePolicy" ||
      resource.Type === "AWS::IAM::Policy" ||
      resource.Type === "AWS::IAM::ManagedPolicy"
    )
      documents(logicalId, [p.PolicyDocument]);
    if (resource.Type === "AWS::SNS::TopicPolicy") documents(logicalId, [p.PolicyDocument]);
    if (resource.Type === "AWS::KMS::Key") documents(logicalId, [p.KeyPolicy]);
  }
  return found;
}

const asl = readFileSync(`${repoRoot}/statemachines/daily-batch.asl.json`, "utf8");

describe("the daily batch in template.yaml", () => {
  const machine = properties("DailyBatchStateMachine") as {
    DefinitionUri: string;
    DefinitionSubstitutions: Record<string, unknown>;
    Policies: { Statement: Statement[] }[];
    Logging: { Destinations: unknown[] };
  };

  it("has CheckRange look where the delivery stream lands and the Spark step reads", () => {
    // One folder in three places: Firehose's Prefix, the Spark step's input, the check's.
    const stream = model.deliveryStreams.find((s) => s.bucketLogicalId === "RawBucket");
    const folder = /^([^!]*\/)dt=!\{timestamp:yyyy-MM-dd\}\/$/.exec(stream?.prefix ?? "")?.[1];
    expect(folder).toBe("rsvps/");
    const env = functionEnvironment("BatchRangeFunction", { RawBucket: "raw" }, template);
    expect(env).toMatchObject({ RAW_BUCKET: "raw", RAW_PREFIX: folder });
    expect(machine.DefinitionSubstitutions.RawDataUri).toEqual({
      "Fn::Sub": `s3://\${RawBucket}/${folder?.replace(/\/$/, "")}`,
    });
  });

  it("fills every ${X} of the definition with a DefinitionSubstitution, and declares no other", () => {
    expect(machine.DefinitionUri).toBe("statemachines/daily-batch.asl.json");
    const placeholders = new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(machine.DefinitionSubstitutions).sort());
  });

  it("runs the Spark job the deploy uploaded, on the template's buckets, and the two batch Lambdas", () => {
    expect(machine.DefinitionSubstitutions).toMatchObject({
      SparkScriptUri: { "Fn::GetAtt": ["SparkJobScript", "ScriptUri"] },
      RawDataUri: { "Fn::Sub": "s3://${RawBucket}/rsvps" },
      CuratedDataUri: { "Fn::Sub": "s3://${CuratedBucket}" },
      EmrLogUri: { "Fn::Sub": "s3://${LogsBucket}/emr/" },
      ClusteringFunctionArn: { "Fn::GetAtt": ["ClusteringFunction", "Arn"] },
      RenderFunctionArn: { "Fn::GetAtt": ["RenderMapFunction", "Arn"] },
      EmrServiceRole: { Ref: "EmrServiceRole" },
      EmrInstanceProfile: { Ref: "EmrInstanceProfile" },
    });
    const custom = properties("SparkJobScript");
    expect(template.Resources.SparkJobScript?.Type).toBe("Custom::SparkJobScript");
    expect(custom.ServiceToken).toEqual({ "Fn::GetAtt": ["DeployArtifactsFunction", "Arn"] });
    expect(custom.Bucket).toEqual({ Ref: "ArtifactsBucket" });
    // A new bundle (a changed script) is a new version, hence an Update of the resource.
    expect(custom.CodeVersion).toEqual({ Ref: "DeployArtifactsFunction.Version" });
    const deployer = template.Resources.DeployArtifactsFunction as unknown as {
      Metadata: { BuildProperties: { Loader: string[]; EntryPoints: string[] } };
      Properties: { AutoPublishAlias: string };
    };
    expect(deployer.Metadata.BuildProperties.Loader).toEqual([".py=text"]);
    expect(deployer.Properties.AutoPublishAlias).toBeTruthy();
  });

  it("schedules it daily with a parameter to pause it, starting the state machine and nothing else", () => {
    const schedule = properties("DailyBatchDailySchedule") as {
      ScheduleExpression: string;
      State: unknown;
      Target: { Arn: unknown; Input: string };
    };
    expect(schedule.ScheduleExpression).toMatch(/^cron\(/);
    // Off while the stack has no ingest (its first deploy): nothing lands, a run could only fail.
    expect(schedule.State).toEqual({
      "Fn::If": ["HasIngestImage", { Ref: "DailyBatchSchedule" }, "DISABLED"],
    });
    expect(template.Conditions?.HasIngestImage).toEqual({
      "Fn::Not": [{ "Fn::Equals": [{ Ref: "IngestImageUri" }, ""] }],
    });
    expect(template.Parameters?.DailyBatchSchedule).toMatchObject({ Default: "ENABLED" });
    expect(schedule.Target.Arn).toEqual({ Ref: "DailyBatchStateMachine" });
    expect(JSON.parse(schedule.Target.Input)).toEqual({ range: "yesterday" });
    const role = allStatements().filter((s) => s.where === "DailyBatchScheduleRole");
    expect(role.map((s) => [s.statement.Action, s.statement.Resource])).toEqual([
      ["states:StartExecution", { Ref: "DailyBatchStateMachine" }],
    ]);
  });

  it("logs every function and the state machine to a log group of its own, with retention", () => {
    const logGroups = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === "AWS::Logs::LogGroup")
      .map(([id, r]) => {
        expect(r.Properties?.RetentionInDays, id).toEqual({ Ref: "LogRetentionDays" });
        return id;
      });
    const used: string[] = [];
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== "AWS::Serverless::Function") continue;
      const group = (resource.Properties?.LoggingConfig as { LogGroup?: { Ref: string } })
        ?.LogGroup;
      expect(group?.Ref, id).toBeDefined();
      used.push(group?.Ref ?? "");
    }
    expect(new Set(used).size).toBe(used.length);
    expect(machine.Logging.Destinations).toEqual([
      { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": ["DailyBatchLogGroup", "Arn"] } } },
    ]);
    expect(logGroups).toEqual(expect.arrayContaining([...used, "DailyBatchLogGroup"]));
  });

  it("keeps every function from creating a log group, so a late log line cannot bring one back after a delete", () => {
    // Lambda delivers a run's logs minutes after it (Lambda Developer Guide, "Sending Lambda
    // function logs to CloudWatch Logs": "It might take 5 to 10 minutes for logs to show up after
    // a function invocation"), the custom resources' functions run during the stack's delete, and
    // the role SAM makes grants logs:CreateLogGroup on "*" (AWSLambdaBasicExecutionRole, AWS
    // Managed Policy Reference). So each function's role carries a Deny of it, which wins over
    // any Allow (IAM User Guide, "Policy evaluation logic").
    expect(template.Resources.FunctionsCreateNoLogGroup?.Type).toBe("AWS::IAM::ManagedPolicy");
    const denyPolicy = template.Resources.FunctionsCreateNoLogGroup?.Properties?.PolicyDocument as
      | { Statement?: unknown }
      | undefined;
    expect(denyPolicy?.Statement).toEqual([
      {
        Sid: "LogGroupsAreTheStacks",
        Effect: "Deny",
        Action: "logs:CreateLogGroup",
        Resource: "*",
      },
    ]);
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === "AWS::Serverless::Function",
    );
    expect(functions.length).toBeGreaterThan(10);
    for (const [id, resource] of functions) {
      // A role of its own (SAM ignores Policies next to Role), with the Deny.
      expect(resource.Properties?.Role, id).toBeUndefined();
      expect(list(resource.Properties?.Policies as unknown[]), id).toContainEqual({
        Ref: "FunctionsCreateNoLogGroup",
      });
      // Its role names its log group, so the role (SAM's <function>Role) depends on the group
      // and is deleted before it ("Resource A is deleted before resource B" when A depends on
      // B: CloudFormation User Guide, "DependsOn attribute"); deleting the role detaches the
      // Deny with the Allows, and a group deleted first could be made again meanwhile. Nothing
      // may make the group wait for the role instead.
      const logging = resource.Properties?.LoggingConfig as { LogGroup?: { Ref: string } };
      const group = logging?.LogGroup?.Ref ?? "";
      expect(inlineStatements(resource.Properties), id).toContainEqual({
        Sid: "WriteOwnLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: { "Fn::GetAtt": [group, "Arn"] },
      });
      const declared = template.Resources[group] as { DependsOn?: string | string[] } | undefined;
      expect(list(declared?.DependsOn), id).not.toContain(`${id}Role`);
      expect(JSON.stringify(template.Resources[group]?.Properties ?? {}), id).not.toContain(
        `${id}Role`,
      );
    }
    // Nothing of the stack's own grants it: the ECS task roles write to their groups with
    // CreateLogStream and PutLogEvents only.
    for (const { where, statement } of allStatements()) {
      if (statement.Effect !== "Allow") continue;
      expect(list(statement.Action), `${where} ${statement.Sid ?? ""}`).not.toContain(
        "logs:CreateLogGroup",
      );
    }
  });

  it("gives the batch Lambdas every setting their handlers read, resolvable locally", () => {
    const buckets = {
      CuratedBucket: "local-curated",
      ArtifactsBucket: "local-artifacts",
      SiteBucket: "local-site",
    };
    expect(functionEnvironment("ClusteringFunction", buckets)).toMatchObject({
      CURATED_BUCKET: "local-curated",
      BATCH_BUCKET: "local-artifacts",
      K_MIN: "8",
      K_MAX: "80",
      CLUSTER_SEED: "1",
    });
    expect(functionEnvironment("RenderMapFunction", buckets)).toMatchObject({
      SITE_BUCKET: "local-site",
    });
    for (const id of ["ClusteringFunction", "RenderMapFunction"]) {
      expect(properties(id).Layers, id).toEqual([{ Ref: "AtlasDataLayer" }]);
    }
    expect(properties("AtlasDataLayer")).toMatchObject({
      ContentUri: "layers/atlas-data/",
      CompatibleRuntimes: ["nodejs24.x"],
      CompatibleArchitectures: ["arm64"],
    });
  });

  it("keeps the layer's packages out of the batch Lambdas' bundles (External = the layer's dependencies)", () => {
    const layer = JSON.parse(
      readFileSync(`${repoRoot}/layers/atlas-data/package.json`, "utf8"),
    ) as { dependencies: Record<string, string> };
    for (const id of ["ClusteringFunction", "RenderMapFunction"]) {
      const build = (
        template.Resources[id] as unknown as {
          Metadata: { BuildProperties: { External: string[] } };
        }
      ).Metadata.BuildProperties;
      expect([...build.External].sort(), id).toEqual(Object.keys(layer.dependencies).sort());
    }
  });

  it("keeps the data buckets private and TLS-only, and lets only the site's objects be read", () => {
    const blocked = {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    };
    for (const hosting of HOSTINGS) {
      const statements = allStatements({ SiteHosting: hosting });
      for (const bucket of [
        "RawBucket",
        "CuratedBucket",
        "ArtifactsBucket",
        "LogsBucket",
        "CountsFailedBatchesBucket",
      ]) {
        expect(properties(bucket).PublicAccessBlockConfiguration, bucket).toEqual(blocked);
        const tls = statements.filter(
          (s) =>
            s.where === `${bucket}Policy` &&
            s.statement.Effect === "Deny" &&
            (s.statement.Condition?.Bool as Record<string, string> | undefined)?.[
              "aws:SecureTransport"
            ] === "false",
        );
        expect(
          tls.map((s) => s.statement.Action),
          bucket,
        ).toEqual(["s3:*"]);
      }
      siteReads(hosting, statements);
    }
  });

  /** The site bucket's reads and writes under one hosting. */
  function siteReads(
    hosting: (typeof HOSTINGS)[number],
    statements: { where: string; statement: Statement }[],
  ): void {
    const site = statements.filter((s) => s.where === "SiteBucketPolicy");
    const reads = site.filter((s) => s.statement.Effect === "Allow");
    expect(reads, hosting).toHaveLength(1);
    const read = reads[0]?.statement as Statement;
    expect(read.Action).toBe("s3:GetObject");
    const bucket = resolvedResource("SiteBucket", template, { SiteHosting: hosting })?.Properties;
    const tls = site.filter((s) => s.statement.Effect === "Deny");
    expect(tls.map((s) => s.statement.Condition)).toEqual([
      { Bool: { "aws:SecureTransport": "false" } },
    ]);
    if (hosting === "cloudfront") {
      // Private: read by the stack's distribution alone, every request over TLS.
      expect(read.Principal).toEqual({ Service: "cloudfront.amazonaws.com" });
      expect(read.Condition).toEqual({
        StringEquals: {
          "AWS:SourceArn": {
            "Fn::Sub":
              "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}",
          },
        },
      });
      expect(bucket?.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket?.WebsiteConfiguration).toBeUndefined();
      expect(tls.map((s) => [s.statement.Action, s.statement.NotAction])).toEqual([
        ["s3:*", undefined],
      ]);
    } else {
      // Public reads of the site's names on the HTTP website endpoint; the rest over TLS only.
      expect(read.Principal).toBe("*");
      expect(read.Condition).toBeUndefined();
      expect(bucket?.WebsiteConfiguration).toEqual({ IndexDocument: "index.html" });
      expect(tls.map((s) => [s.statement.Action, s.statement.NotAction])).toEqual([
        [undefined, "s3:GetObject"],
      ]);
    }
    const publicRead = read;
    expect(publicRead.Resource).toEqual([
      { "Fn::Sub": "${SiteBucket.Arn}/index.html" },
      { "Fn::Sub": "${SiteBucket.Arn}/config.json" },
      { "Fn::Sub": "${SiteBucket.Arn}/assets/*" },
      { "Fn::Sub": "${SiteBucket.Arn}/basemap/*" },
      { "Fn::Sub": "${SiteBucket.Arn}/map.png" },
      { "Fn::Sub": "${SiteBucket.Arn}/clusters.json" },
      { "Fn::Sub": "${SiteBucket.Arn}/cities.json" },
      { "Fn::Sub": "${SiteBucket.Arn}/run.json" },
    ]);
    // Each writer of the site may write only public names: the render Lambda the batch's
    // files (and the first index.html), the deploy the page. Together they are all that is public.
    const writes = (where: string) =>
      statements
        .filter(
          (s) =>
            s.where === where &&
            s.statement.Effect === "Allow" &&
            list(s.statement.Action).includes("s3:PutObject"),
        )
        .flatMap((s) => list(s.statement.Resource));
    const publicNames = list(publicRead.Resource);
    for (const writer of ["RenderMapFunction", "SiteContentFunction"]) {
      expect(writes(writer).length, writer).toBeGreaterThan(0);
      for (const resource of writes(writer)) expect(publicNames, writer).toContainEqual(resource);
    }
    const asText = (resources: unknown[]) => [...new Set(resources.map((r) => JSON.stringify(r)))];
    expect(
      asText([...writes("RenderMapFunction"), ...writes("SiteContentFunction")]).sort(),
    ).toEqual(asText(publicNames).sort());
  }

  it("deploys with CAPABILITY_NAMED_IAM from samconfig.toml, since an IAM resource has a custom name", () => {
    // CloudFormation API Reference, CreateStack/CreateChangeSet, Capabilities: "If you have IAM
    // resources with custom names, you must specify CAPABILITY_NAMED_IAM", else the change set
    // fails with InsufficientCapabilities. `sam deploy --guided` offers samconfig's list.
    const nameProperty: Record<string, string> = {
      "AWS::IAM::Role": "RoleName",
      "AWS::IAM::InstanceProfile": "InstanceProfileName",
      "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
      "AWS::IAM::Group": "GroupName",
      "AWS::IAM::User": "UserName",
    };
    const named = Object.entries(template.Resources)
      .filter(([, r]) => {
        const property = nameProperty[r.Type];
        return property !== undefined && r.Properties?.[property] !== undefined;
      })
      .map(([id]) => id);
    expect(named).toEqual(["EmrInstanceProfile"]);
    const samconfig = readFileSync(`${repoRoot}/samconfig.toml`, "utf8");
    const capabilities = samconfig.match(/^capabilities = "([^"]*)"$/m)?.[1]?.split(" ");
    expect(capabilities).toContain("CAPABILITY_NAMED_IAM");
    expect(capabilities).toContain("CAPABILITY_AUTO_EXPAND");
  });

  it("refuses new objects in every bucket it empties on delete, after the stack's own bucket policies are gone", () => {
    // empty-buckets.ts replaces each bucket's policy with one that refuses new objects before
    // it empties it. A BucketPolicy resource deleted after that would take the refusal away, so
    // each depends on the cleanup (CloudFormation deletes dependents first).
    const emptied = (properties("BucketsEmptiedOnDelete").Buckets as { Ref: string }[]).map(
      (bucket) => bucket.Ref,
    );
    expect(emptied.length).toBe(6);
    const policies = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === "AWS::S3::BucketPolicy",
    );
    expect(
      policies.map(([, r]) => (r.Properties?.Bucket as { Ref?: string } | undefined)?.Ref).sort(),
    ).toEqual([...emptied].sort());
    for (const [id, resource] of policies) {
      expect(list((resource as { DependsOn?: string | string[] }).DependsOn), id).toContain(
        "BucketsEmptiedOnDelete",
      );
    }
    const mayRefuse = allStatements()
      .filter(
        (s) =>
          s.where === "BucketCleanupFunction" &&
          s.statement.Effect === "Allow" &&
          list(s.statement.Action).includes("s3:PutBucketPolicy"),
      )
      .flatMap((s) => list(s.statement.Resource));
    expect(mayRefuse).toEqual(emptied.map((bucket) => ({ "Fn::GetAtt": [bucket, "Arn"] })));
  });

  it("lets the render Lambda tell a missing object from a refusal in every bucket it reads", () => {
    // S3 API Reference, GetObject: "If you don't have the s3:ListBucket permission, Amazon S3
    // returns an HTTP status code 403" for a missing key. render-site.ts turns a 404 into
    // ClusteringOutputError ("does not exist"). It reads only the batch's bucket: the site's
    // index.html is written with If-None-Match "*", which needs s3:PutObject alone (S3 User
    // Guide, "How to prevent object overwrites with conditional writes").
    const renderStatements = allStatements()
      .filter((s) => s.where === "RenderMapFunction" && s.statement.Effect === "Allow")
      .map((s) => s.statement);
    const readBuckets = new Set(
      renderStatements
        .filter((s) => list(s.Action).includes("s3:GetObject"))
        .flatMap((s) => list(s.Resource))
        .map((r) => JSON.stringify(r).match(/\$\{(\w+)\.Arn\}/)?.[1]),
    );
    expect([...readBuckets].sort()).toEqual(["ArtifactsBucket"]);
    const listed = renderStatements
      .filter((s) => list(s.Action).includes("s3:ListBucket"))
      .flatMap((s) => list(s.Resource));
    for (const bucket of readBuckets) {
      expect(listed, bucket).toContainEqual({ "Fn::GetAtt": [bucket, "Arn"] });
    }
  });

  it("grants no wildcard actions in any Allow statement (not *, not service:*, not a prefix*)", () => {
    for (const { where, statement } of allStatements()) {
      if (statement.Effect !== "Allow") continue;
      expect(statement.NotAction, where).toBeUndefined();
      // The one exception: a key policy must let the account administer its key through IAM
      // (kms:* for the account root, AWS's default key policy), or the key becomes unmanageable.
      // Any KMS key of the template may have it, and only for its own account's root.
      if (
        template.Resources[where]?.Type === "AWS::KMS::Key" &&
        statement.Sid === "AccountAdministersTheKey" &&
        JSON.stringify(statement.Principal) === ACCOUNT_ROOT
      )
        continue;
      for (const action of list(statement.Action)) {
        expect(action, `${where} ${statement.Sid ?? ""}`).not.toMatch(/\*/);
      }
    }
  });

  it('grants "*" resources only where the API allows nothing narrower, each allow-listed and commented', () => {
    // Every Allow statement on a wholly wildcard resource ("*", or every resource of a type:
    // arn:...:<service>:<region>:<account>:* or .../<type>/*), keyed "<where> <Sid>", with its
    // exact actions and why nothing narrower works. A new wildcard, or a new action on one,
    // fails until it is added here and commented in template.yaml.
    const allowed: Record<string, { actions: string[]; why: string }> = {
      IngestExecutionRole: {
        actions: ["ecr:GetAuthorizationToken"],
        why: "GetAuthorizationToken has no resource-level permissions",
      },
      ReplayFeedExecutionRole: {
        actions: ["ecr:GetAuthorizationToken"],
        why: "GetAuthorizationToken has no resource-level permissions",
      },
      "NetworkZonesFunction ListZones": {
        actions: ["ec2:DescribeAvailabilityZones"],
        why: "EC2 Describe* actions have no resource-level permissions",
      },
      "NetworkZonesFunction ReadSubnets": {
        actions: ["ec2:DescribeSubnets"],
        why: "EC2 Describe* actions have no resource-level permissions",
      },
      "FeedInstancesGrant FeedInstanceHealthChecks": {
        actions: [
          "route53:GetHealthCheck",
          "route53:DeleteHealthCheck",
          "route53:UpdateHealthCheck",
        ],
        why: "Cloud Map lists them for DeregisterInstance; a health check's ARN holds only its id",
      },
      "StackCleanupFunction ReadSecurityGroupRules": {
        actions: ["ec2:DescribeSecurityGroups"],
        why: "EC2 Describe* actions have no resource-level permissions",
      },
      "StackCleanupFunction WatchKafkaNetworkInterfaces": {
        actions: ["ec2:DescribeNetworkInterfaces"],
        why: "EC2 Describe* actions have no resource-level permissions",
      },
      "StackCleanupFunction FindEmrServiceEndpoints": {
        actions: ["ec2:DescribeVpcEndpoints"],
        why: "EC2 Describe* actions have no resource-level permissions",
      },
      "StackCleanupFunction FindTaskDefinitionRevisions": {
        actions: ["ecs:ListTaskDefinitions"],
        why: "ListTaskDefinitions has no resource-level permissions (Service Authorization Reference)",
      },
      "StackCleanupFunction FindDailyBatchClusters": {
        actions: ["elasticmapreduce:ListClusters"],
        why: "ListClusters has no resource-level permissions",
      },
      "StackCleanupFunction TerminateDailyBatchClusters": {
        actions: ["elasticmapreduce:TerminateJobFlows"],
        why: "the cluster ids exist only at run time (cluster/*, narrowed by an aws:ResourceTag condition)",
      },
      "StackCleanupFunction DeleteEmrServiceEndpoints": {
        actions: ["ec2:DeleteVpcEndpoints"],
        why: "EMR makes the endpoint at run time (vpc-endpoint/*, narrowed by aws:ResourceTag conditions)",
      },
      "ClusterWatchFunction ListClusters": {
        actions: ["elasticmapreduce:ListClusters"],
        why: "ListClusters has no resource-level permissions",
      },
      "ClusterWatchFunction EndOrphanedClusters": {
        actions: ["elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows"],
        why: "the cluster ids exist only at run time (cluster/*, narrowed by an aws:ResourceTag condition)",
      },
      "AlarmTopicKey AccountAdministersTheKey": {
        actions: ["kms:*"],
        why: "a key policy's Resource is the key itself, always written *",
      },
      "EmrDiskKey AccountAdministersTheKey": {
        actions: ["kms:*"],
        why: "a key policy's Resource is the key itself, always written *",
      },
      "EmrDiskKey SpotLaunchesEncryptedVolumes": {
        actions: [
          "kms:Decrypt",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:DescribeKey",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
        ],
        why: "a key policy's Resource is the key itself, always written *",
      },
      "EmrDiskKey SpotGrantsEncryptedVolumes": {
        actions: ["kms:CreateGrant"],
        why: "a key policy's Resource is the key itself, always written *",
      },
      "AlarmTopicKey CloudWatchPublishesAlarms": {
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        why: "a key policy's Resource is the key itself, always written *",
      },
      "CityCountsFunction EventSourceNetworking": {
        actions: [
          "ec2:CreateNetworkInterface",
          "ec2:DeleteNetworkInterface",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DescribeSecurityGroups",
          "ec2:DescribeSubnets",
          "ec2:DescribeVpcs",
        ],
        why: "the MSK event source's network interfaces are created under the function's role with ids the service picks; EC2 Describe* have no resource-level permissions",
      },
      "DailyBatchStateMachine CreateTaggedCluster": {
        actions: ["elasticmapreduce:RunJobFlow"],
        why: "RunJobFlow has no resource-level permissions (narrowed by an aws:RequestTag condition)",
      },
      "DailyBatchStateMachine ManageOwnCluster": {
        actions: [
          "elasticmapreduce:DescribeCluster",
          "elasticmapreduce:TerminateJobFlows",
          "elasticmapreduce:AddJobFlowSteps",
          "elasticmapreduce:DescribeStep",
          "elasticmapreduce:CancelSteps",
        ],
        why: "the cluster id exists only at run time (cluster/*, narrowed by an aws:ResourceTag condition)",
      },
      "DailyBatchStateMachine TagClusterOnCreate": {
        actions: ["elasticmapreduce:AddTags"],
        why: "the cluster being created has no id yet (cluster/*, narrowed by an aws:RequestTag condition)",
      },
      "DailyBatchStateMachine ExecutionLogs": {
        actions: [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ],
        why: "CloudWatch Logs' log-delivery actions have no resource-level permissions",
      },
    };
    // ${...} may hold colons (${AWS::Region}): each counts as one ARN field here.
    const wholeArn = /^arn:[^:]+:[^:]+:[^:]*:[^:]*:(?:\*|[A-Za-z-]+\/\*)$/;
    const isWildcard = (resource: Intrinsic) => {
      if (resource === "*") return true;
      const sub = typeof resource === "object" ? resource["Fn::Sub"] : undefined;
      const text = Array.isArray(sub) ? sub[0] : sub;
      return typeof text === "string" && wholeArn.test(text.replace(/\$\{[^}]*\}/g, "X"));
    };
    const lines = readFileSync(`${repoRoot}/template.yaml`, "utf8").split("\n");
    /** The comment lines right above the statement's list item (or on its Resource line). */
    const commentOf = (where: string, statement: Statement): string => {
      const start = lines.indexOf(`  ${where}:`);
      const end = lines.findIndex((line, i) => i > start && /^ {2}\S/.test(line));
      const region = lines.slice(start, end === -1 ? undefined : end);
      let item = statement.Sid
        ? region.findIndex((line) => line.trim() === `- Sid: ${statement.Sid}`)
        : region.findIndex((line) => line.trim() === 'Resource: "*"');
      if (item === -1) return "";
      const resourceLine = region
        .slice(item)
        .find((line) => /^\s*(- )?Resource:/.test(line.trimStart()) || line.includes("Resource:"));
      const trailing = resourceLine?.match(/\s#\s*(.*)$/)?.[1] ?? "";
      while (item > 0 && !region[item]?.trimStart().startsWith("- ")) item -= 1;
      const above: string[] = [];
      for (let i = item - 1; i >= 0 && region[i]?.trimStart().startsWith("#"); i -= 1) {
        above.unshift(region[i]?.trim() ?? "");
      }
      return [...above, trailing].join(" ").trim();
    };
    const found: string[] = [];
    for (const { where, statement } of allStatements()) {
      if (statement.Effect !== "Allow") continue;
      if (!list(statement.Resource).some(isWildcard)) continue;
      const key = `${where} ${statement.Sid ?? ""}`.trim();
      found.push(key);
      const entry = allowed[key];
      expect(entry, `${key}: a wildcard resource not in the allow-list`).toBeDefined();
      expect([...list(statement.Action)].sort(), key).toEqual([...(entry?.actions ?? [])].sort());
      expect(commentOf(where, statement), `${key}: no comment in template.yaml saying why`).toMatch(
        /\*/,
      );
    }
    expect(found.sort(), "allow-list entries with no wildcard statement left").toEqual(
      Object.keys(allowed).sort(),
    );
  });

  it("lets iam:PassRole pass only the EMR roles, each only to its service", () => {
    const passes = allStatements().filter(({ statement }) =>
      list(statement.Action).some((action) => action === "iam:PassRole" || action === "iam:*"),
    );
    expect(passes.length).toBeGreaterThan(0);
    const expected: Record<string, string> = {
      EmrServiceRole: "elasticmapreduce.amazonaws.com*",
      EmrInstanceRole: "ec2.amazonaws.com*",
    };
    for (const { where, statement } of passes) {
      expect(list(statement.Action), where).toEqual(["iam:PassRole"]);
      const resources = list(statement.Resource) as { "Fn::GetAtt"?: string[] }[];
      expect(resources, where).toHaveLength(1);
      const [role, attribute] = resources[0]?.["Fn::GetAtt"] ?? [];
      expect(attribute, where).toBe("Arn");
      expect(Object.keys(expected), where).toContain(role);
      expect(statement.Condition?.StringLike?.["iam:PassedToService"], where).toBe(
        expected[role ?? ""],
      );
    }
    // The workflow passes both; EMR's service role passes the instance role to EC2.
    expect(passes.map((p) => p.where).sort()).toEqual([
      "DailyBatchStateMachine",
      "DailyBatchStateMachine",
      "EmrServiceRole",
    ]);
  });

  it("lets the workflow create and touch only clusters tagged with its stack, and invoke only its three Lambdas", () => {
    const statements = machine.Policies.flatMap((p) => p.Statement);
    const emr = statements.filter((s) =>
      list(s.Action).some((a) => a.startsWith("elasticmapreduce:")),
    );
    expect(emr.flatMap((s) => list(s.Action)).sort()).toEqual([
      "elasticmapreduce:AddJobFlowSteps",
      "elasticmapreduce:AddTags",
      "elasticmapreduce:CancelSteps",
      "elasticmapreduce:DescribeCluster",
      "elasticmapreduce:DescribeStep",
      "elasticmapreduce:RunJobFlow",
      "elasticmapreduce:TerminateJobFlows",
    ]);
    for (const statement of emr) {
      const tags = { ...statement.Condition?.StringEquals };
      expect(Object.values(tags), statement.Sid).toEqual([{ Ref: "AWS::StackName" }]);
    }
    const createParameters = (
      JSON.parse(asl) as {
        States: { CreateCluster: { Parameters: { Tags: { Key: string; Value: string }[] } } };
      }
    ).States.CreateCluster.Parameters;
    expect(createParameters.Tags).toContainEqual({
      Key: "rsvp-atlas-stack",
      Value: "${StackName}",
    });
    expect(machine.DefinitionSubstitutions.StackName).toEqual({ Ref: "AWS::StackName" });
    const events = statements.find((s) => list(s.Action).includes("events:PutRule"));
    expect(events?.Resource).toEqual({
      "Fn::Sub":
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventForEMR*",
    });
    const invoke = statements.find((s) => list(s.Action).includes("lambda:InvokeFunction"));
    expect(invoke?.Resource).toEqual([
      { "Fn::GetAtt": ["BatchRangeFunction", "Arn"] },
      { "Fn::GetAtt": ["ClusteringFunction", "Arn"] },
      { "Fn::GetAtt": ["RenderMapFunction", "Arn"] },
    ]);
  });

  it("gives the EMR service role the v2 managed policy and the instance role S3 access and its disks' key only", () => {
    expect(properties("EmrServiceRole").ManagedPolicyArns).toEqual([
      { "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2" },
    ]);
    const instance = allStatements().filter((s) => s.where === "EmrInstanceRole");
    for (const { statement } of instance) {
      for (const action of list(statement.Action)) {
        if (action.startsWith("kms:"))
          expect(statement.Resource).toEqual({ "Fn::GetAtt": ["EmrDiskKey", "Arn"] });
        else expect(action).toMatch(/^s3:/);
      }
    }
    expect(properties("EmrInstanceProfile").Roles).toEqual([{ Ref: "EmrInstanceRole" }]);
  });

  it("outputs the website, the state machine and how to start it by hand", () => {
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> })
      .Outputs;
    expect(outputs.SiteUrl?.Value).toEqual({
      "Fn::If": [
        "ServeThroughCloudFront",
        { "Fn::Sub": "https://${SiteDistribution.DomainName}/" },
        { "Fn::GetAtt": ["SiteBucket", "WebsiteURL"] },
      ],
    });
    expect(outputs.DailyBatchStateMachineArn?.Value).toEqual({ Ref: "DailyBatchStateMachine" });
    expect(JSON.stringify(outputs.StartDailyBatchCommand?.Value)).toContain(
      "npm run batch:aws -- --state-machine-arn ${DailyBatchStateMachine}",
    );
  });
});

// --- The website: the page the deploy uploads, the batch's files, CORS ------------------------

/** Does an IAM resource `${SiteBucket.Arn}/<pattern>` cover this key? (`*` and `?` as in IAM.) */
function coversKey(resources: unknown[], key: string): boolean {
  return resources.some((resource) => {
    const sub = (resource as { "Fn::Sub"?: unknown })["Fn::Sub"];
    if (typeof sub !== "string" || !sub.startsWith("${SiteBucket.Arn}/")) return false;
    const pattern = sub.slice("${SiteBucket.Arn}/".length);
    const regex = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    return new RegExp(`^${regex}$`).test(key);
  });
}

const SITE_KEYS = [
  "index.html",
  "config.json",
  "assets/main-SWDGH52E.js",
  "assets/styles-FS2GKSUW.css",
  "basemap/countries-110m.json",
  "basemap/countries-50m.json",
];
const BATCH_KEYS = ["map.png", "clusters.json", "cities.json", "run.json"];
const OTHER_KEYS = [
  "notes.json",
  "private/config.json",
  "batch/2026-01-01/clusters.json",
  "index.html.bak",
  "assets",
  "spark/job.py",
];

describe("the website in template.yaml", () => {
  const custom = properties("SiteContent");
  const fn = template.Resources.SiteContentFunction as unknown as {
    Type: string;
    Metadata: { BuildMethod: string };
    Properties: { CodeUri: string; Handler: string; AutoPublishAlias: string };
  };
  // Its grants on the site bucket: all but the one on its own log group, exactly as every
  // function has it (pinned above).
  const ownLogGroup = JSON.stringify({
    Sid: "WriteOwnLogGroup",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: { "Fn::GetAtt": ["SiteContentLogGroup", "Arn"] },
  });
  const deployStatements = allStatements()
    .filter((s) => s.where === "SiteContentFunction" && JSON.stringify(s.statement) !== ownLogGroup)
    .map((s) => s.statement);

  it("uploads the site with a custom resource whose Lambda `sam build` builds with its Makefile", () => {
    expect(template.Resources.SiteContent?.Type).toBe("Custom::SiteContent");
    expect(custom.ServiceToken).toEqual({ "Fn::GetAtt": ["SiteContentFunction", "Arn"] });
    expect(custom.ServiceTimeout).toBeGreaterThan(0);
    expect(custom.ServiceTimeout).toBeLessThanOrEqual(900);
    expect(custom.Bucket).toEqual({ Ref: "SiteBucket" });
    // A new package (a changed site) is a new version, hence an Update of the resource.
    expect(fn.Properties.AutoPublishAlias).toBeTruthy();
    expect(custom.SiteVersion).toEqual({ Ref: "SiteContentFunction.Version" });

    expect(fn.Type).toBe("AWS::Serverless::Function");
    expect(fn.Metadata.BuildMethod).toBe("makefile");
    // SAM runs the Makefile of the CodeUri, target build-<logical id>; the bundle is index.mjs.
    const makefile = readFileSync(`${repoRoot}/${fn.Properties.CodeUri}/Makefile`, "utf8");
    expect(makefile).toMatch(/^build-SiteContentFunction:/m);
    expect(fn.Properties.Handler).toBe("index.handler");
    expect(makefile).toContain('--outfile="$(OUT)/index.mjs"');
    expect(makefile).toContain("site/build.ts");
  });

  it("writes config.json with the counts API's base URL, the CountsApiUrl output without /counts", () => {
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> })
      .Outputs;
    const [condition, throughSite, direct] = (
      (outputs.CountsApiUrl?.Value ?? {}) as {
        "Fn::If": [string, { "Fn::Sub": string }, { "Fn::Sub": string }];
      }
    )["Fn::If"];
    expect(condition).toBe("ServeThroughCloudFront");
    const [pageBehind, pageDirect] = (
      custom.CountsApiUrl as { "Fn::If": [string, string, { "Fn::Sub": string }] }
    )["Fn::If"].slice(1) as [string, { "Fn::Sub": string }];
    // Behind CloudFront the page asks its own origin; the output is that origin's /api/counts.
    expect(pageBehind).toBe("/api");
    expect(throughSite["Fn::Sub"]).toBe("https://${SiteDistribution.DomainName}/api/counts");
    expect(direct["Fn::Sub"].endsWith("/counts")).toBe(true);
    expect(pageDirect).toEqual({ "Fn::Sub": direct["Fn::Sub"].slice(0, -"/counts".length) });
  });

  it("lets the deploy Lambda write and delete the page's keys only, and list only its folders", () => {
    const actions = deployStatements.flatMap((s) => list(s.Action)).sort();
    expect(actions).toEqual(["s3:DeleteObject", "s3:ListBucket", "s3:PutObject"]);
    const writes = deployStatements.filter((s) => list(s.Action).includes("s3:PutObject"));
    expect(writes).toHaveLength(1);
    expect(list(writes[0]?.Action).sort()).toEqual(["s3:DeleteObject", "s3:PutObject"]);
    const resources = list(writes[0]?.Resource);
    expect(resources).toEqual([
      { "Fn::Sub": "${SiteBucket.Arn}/index.html" },
      { "Fn::Sub": "${SiteBucket.Arn}/config.json" },
      { "Fn::Sub": "${SiteBucket.Arn}/assets/*" },
      { "Fn::Sub": "${SiteBucket.Arn}/basemap/*" },
    ]);
    for (const key of SITE_KEYS) expect(coversKey(resources, key), key).toBe(true);
    for (const key of [...BATCH_KEYS, ...OTHER_KEYS]) {
      expect(coversKey(resources, key), key).toBe(false);
    }
    const listing = deployStatements.find((s) => list(s.Action).includes("s3:ListBucket"));
    expect(listing?.Resource).toEqual({ "Fn::GetAtt": ["SiteBucket", "Arn"] });
    expect(listing?.Condition).toEqual({
      StringEquals: { "s3:prefix": ["assets/", "basemap/"] },
    });
  });

  it("lets the page's files and the batch's be read, and no other key", () => {
    for (const hosting of HOSTINGS) {
      const read = allStatements({ SiteHosting: hosting }).find(
        (s) => s.where === "SiteBucketPolicy" && s.statement.Effect === "Allow",
      )?.statement;
      const resources = list(read?.Resource);
      for (const key of [...SITE_KEYS, ...BATCH_KEYS])
        expect(coversKey(resources, key), `${hosting} ${key}`).toBe(true);
      for (const key of OTHER_KEYS)
        expect(coversKey(resources, key), `${hosting} ${key}`).toBe(false);
    }
  });

  it("logs the deploy Lambda to a log group of its own", () => {
    const logging = properties("SiteContentFunction").LoggingConfig as { LogGroup: unknown };
    expect(logging.LogGroup).toEqual({ Ref: "SiteContentLogGroup" });
    expect(template.Resources.SiteContentLogGroup?.Type).toBe("AWS::Logs::LogGroup");
  });

  it("lets the website's origin call the counts API (CORS) where it is another, or SiteOrigin", () => {
    expect(template.Parameters?.SiteOrigin?.Default).toBe("");
    const cors = (parameters: Record<string, string>) =>
      resolvedResource("CountsHttpApi", template, parameters)?.Properties.CorsConfiguration as
        | { AllowOrigins: unknown[]; AllowMethods: string[] }
        | undefined;
    const websiteHost = {
      "Fn::Select": [2, { "Fn::Split": ["/", { "Fn::GetAtt": ["SiteBucket", "WebsiteURL"] }] }],
    };
    // On the website endpoint the page is another origin than the API.
    expect(cors({ SiteHosting: "s3-website" })).toEqual({
      AllowOrigins: [{ "Fn::Sub": ["http://${WebsiteHost}", { WebsiteHost: websiteHost }] }],
      AllowMethods: ["GET"],
      MaxAge: 600,
    });
    // Behind CloudFront the page asks its own origin (/api/counts): no cross-origin grant.
    expect(cors({ SiteHosting: "cloudfront" })).toBeUndefined();
    for (const hosting of HOSTINGS) {
      const origin = "https://atlas.example.org";
      expect(cors({ SiteHosting: hosting, SiteOrigin: origin })?.AllowOrigins, hosting).toEqual([
        { Ref: "SiteOrigin" },
      ]);
    }
    // No cycle: the bucket and its policy name nothing of the API or of the deploy.
    for (const id of ["SiteBucket", "SiteBucketPolicy"]) {
      const text = JSON.stringify(template.Resources[id]);
      for (const other of ["CountsHttpApi", "CountsApiFunction", "SiteContent"]) {
        expect(text, `${id} -> ${other}`).not.toContain(`"${other}`);
      }
    }
  });
});
