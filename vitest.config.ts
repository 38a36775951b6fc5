import { defineConfig } from "vitest/config";

/**
 * Two projects: unit tests (pure code, loopback sockets at most) and integration tests, which
 * share one local stack (a real Kafka broker and moto) started by test/support/global-stack.ts.
 * Tests that start stacks of their own (the no-orphan and npm start tests) run in files of
 * their own; integration files run one at a time, since each JVM wants a core.
 */
export default defineConfig({
  test: {
    // Expected warnings of error-path tests (Kafka down, retries) would bury the results.
    env: {
      POWERTOOLS_LOG_LEVEL: "ERROR",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // The tests hold template.yaml's defaults, whatever a shell exported for npm start.
      RSVP_ATLAS_PARAMETER_OVERRIDES: "",
    },
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/global-stack.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
