/**
 * Vitest global setup of the integration project: one local stack (real Kafka broker, moto)
 * for all integration test files, provisioned from template.yaml, stopped after the run.
 */
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../../local/stack/stack.js";

declare module "vitest" {
  export interface ProvidedContext {
    stack: {
      kafkaBootstrapServer: string;
      awsEndpoint: string;
      region: string;
      resources: import("../../local/stack/provision.js").LocalResources;
    };
  }
}

export default async function setup(project: TestProject) {
  const stack = await startLocalStack({
    progress: (line) => process.stderr.write(`[test stack] ${line}\n`),
  });
  if (!stack.kafkaBootstrapServer || !stack.aws)
    throw new Error("the test stack needs Kafka and moto");
  project.provide("stack", {
    kafkaBootstrapServer: stack.kafkaBootstrapServer,
    awsEndpoint: stack.aws.endpoint,
    region: stack.aws.region,
    resources: stack.resources,
  });
  return async () => {
    await stack.stop();
  };
}
