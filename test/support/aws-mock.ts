/**
 * aws-sdk-client-mock stubs for unit tests of error paths (what a service really does is tested
 * against moto in test/integration/).
 */
import { afterEach } from "vitest";

/** Resets `stub` after every test of the file, so no answer leaks into the next test. */
export function resetAfterEach<Stub extends { reset(): unknown }>(stub: Stub): Stub {
  afterEach(() => {
    stub.reset();
  });
  return stub;
}
