/**
 * Passing AWS failures (throttling, 5xx) are retried within a budget; anything else is a bug and
 * goes up at once.
 */
import { describe, expect, it } from "vitest";
import { isTransientAwsError, retryTransient } from "../../functions/shared/aws-errors.js";

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name}!`), { name, $metadata: { httpStatusCode: status } });

describe("isTransientAwsError", () => {
  it("knows throttling and the service's 5xx, and nothing else", () => {
    expect(isTransientAwsError(awsError("ThrottlingException", 400))).toBe(true);
    expect(isTransientAwsError(awsError("ProvisionedThroughputExceededException", 400))).toBe(true);
    expect(isTransientAwsError(awsError("InternalServerError", 500))).toBe(true);
    expect(isTransientAwsError(awsError("Unknown", 503))).toBe(true);
    expect(isTransientAwsError(awsError("ValidationException", 400))).toBe(false);
    expect(isTransientAwsError(awsError("ConditionalCheckFailedException", 400))).toBe(false);
    expect(isTransientAwsError(new TypeError("x is undefined"))).toBe(false);
    expect(isTransientAwsError("ThrottlingException")).toBe(false);
  });
});

describe("retryTransient", () => {
  it("runs the work again through a passing outage, and returns its result", async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 4) throw awsError("InternalServerError", 500);
        return "counted";
      },
      { budgetMs: 30_000, pause: async () => {}, onRetry: (_, attempt) => retries.push(attempt) },
    );
    expect(result).toBe("counted");
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it("gives the last error up once the budget since the first failure is spent", async () => {
    let clock = 0;
    let calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls += 1;
          throw awsError("ThrottlingException", 400);
        },
        {
          budgetMs: 10_000,
          now: () => clock,
          pause: async () => {
            clock += 3_000;
          },
        },
      ),
    ).rejects.toThrow("ThrottlingException!");
    // Failures at 0, 3, 6 and 9 s are retried; the one at 12 s is past the budget.
    expect(calls).toBe(5);
  });

  it("lets any other error through at once", async () => {
    let calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls += 1;
          throw new RangeError("a bug");
        },
        { budgetMs: 30_000, pause: async () => {} },
      ),
    ).rejects.toThrow(RangeError);
    expect(calls).toBe(1);
  });
});
