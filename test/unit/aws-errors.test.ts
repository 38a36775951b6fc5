/**
 * Passing AWS failures (throttling, 5xx, DynamoDB transactions cancelled for throughput) are
 * retried within a budget; anything else is a bug and goes up at once.
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

  it("knows no answer at all: a request timed out, a connection refused or dropped", () => {
    const timedOut = Object.assign(new Error("the request socket timed out"), {
      name: "TimeoutError",
    });
    expect(isTransientAwsError(timedOut)).toBe(true);
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN"])
      expect(isTransientAwsError(Object.assign(new Error(code), { code }))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error("no such file"), { code: "ENOENT" }))).toBe(
      false,
    );
  });

  // DynamoDB answers a throttled transaction with TransactionCanceledException (HTTP 400), its
  // reasons in the order of the request's items (API Reference, TransactWriteItems, Errors).
  const cancelled = (...reasons: { Code?: string; Message?: string }[]) =>
    Object.assign(awsError("TransactionCanceledException", 400), {
      CancellationReasons: reasons,
    });
  const throttled = {
    Code: "ThrottlingError",
    Message: "Throughput exceeds the current capacity of your table or index.",
  };

  it("knows a transaction cancelled because an on-demand table throttled it", () => {
    expect(isTransientAwsError(cancelled(throttled, { Code: "None" }, { Code: "None" }))).toBe(
      true,
    );
    expect(isTransientAwsError(cancelled({ Code: "NONE" }, throttled, {}))).toBe(true);
    expect(isTransientAwsError(cancelled(throttled, { Code: "TransactionConflict" }))).toBe(true);
  });

  it("knows a transaction cancelled because a provisioned table's throughput was exceeded", () => {
    const exceeded = { Code: "ProvisionedThroughputExceeded", Message: "The level of ..." };
    expect(isTransientAwsError(cancelled({ Code: "None" }, exceeded))).toBe(true);
    expect(isTransientAwsError(cancelled(exceeded, throttled))).toBe(true);
  });

  it("does not retry a throttled transaction that also failed validation", () => {
    const invalid = {
      Code: "ValidationError",
      Message: "One or more parameter values were invalid.",
    };
    expect(isTransientAwsError(cancelled(throttled, invalid))).toBe(false);
    expect(isTransientAwsError(cancelled(invalid, { Code: "None" }))).toBe(false);
  });

  it("does not retry a transaction whose condition failed, throttled or not", () => {
    const failed = { Code: "ConditionalCheckFailed", Message: "The conditional request failed." };
    expect(isTransientAwsError(cancelled(failed, { Code: "None" }))).toBe(false);
    expect(isTransientAwsError(cancelled({ Code: "None" }, throttled, failed))).toBe(false);
  });

  it("does not retry a cancelled transaction without a throttled reason, or without reasons", () => {
    expect(isTransientAwsError(cancelled({ Code: "None" }, { Code: "TransactionConflict" }))).toBe(
      false,
    );
    expect(isTransientAwsError(cancelled())).toBe(false);
    expect(isTransientAwsError(awsError("TransactionCanceledException", 400))).toBe(false);
    // The reasons of an error of another name prove nothing.
    expect(
      isTransientAwsError(
        Object.assign(awsError("ValidationException", 400), { CancellationReasons: [throttled] }),
      ),
    ).toBe(false);
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
