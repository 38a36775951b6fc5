/**
 * Runs the kafka-topics Lambda once in this process, as Lambda would: the exported `handler` of
 * functions/kafka-topics/handler.ts with the event (argv[2], JSON) and a Lambda context; the
 * configuration comes from the environment and the answer goes to the event's ResponseURL.
 * test/integration/kafka-msk-path.test.ts bundles this file with the template's build settings
 * and starts it as a process of its own, so that it gets what only a process start can set
 * (NODE_EXTRA_CA_CERTS, `--import` hooks).
 */
import { randomUUID } from "node:crypto";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import { handler } from "../../functions/kafka-topics/handler.js";

const event = JSON.parse(process.argv[2] ?? "") as CloudFormationCustomResourceEvent;
const functionName = "rsvp-atlas-KafkaTopicsFunction-local";
const deadline = Date.now() + 60_000;
const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: "256",
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: `local/[$LATEST]${randomUUID().replaceAll("-", "")}`,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => {},
  fail: () => {},
  succeed: () => {},
};
await handler(event, context);
