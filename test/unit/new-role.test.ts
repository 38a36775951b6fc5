/**
 * The network-zones function's calls while its new role settles (functions/network-zones/
 * new-role.ts): a refusal is tried again for a while, anything else is the answer at once.
 */
import { describe, expect, it } from "vitest";
import { whileRoleSettles } from "../../functions/network-zones/new-role.js";
import { sleepClock } from "../support/sleep-clock.js";

const named = (name: string) => Object.assign(new Error(`${name} happened`), { name });

/** Work that fails with `errors` in turn, then answers "done". */
const failingWith = (...errors: Error[]) => {
  let calls = 0;
  const work = async () => {
    const error = errors[calls++];
    if (error) throw error;
    return "done";
  };
  return { work, calls: () => calls };
};

describe("whileRoleSettles", () => {
  it("tries a refused call again, 5 s apart, until the role has settled", async () => {
    const time = sleepClock();
    const { work, calls } = failingWith(named("UnauthorizedOperation"), named("AuthFailure"));
    const logged: string[] = [];
    expect(await whileRoleSettles(work, { ...time, log: (message) => logged.push(message) })).toBe(
      "done",
    );
    expect(calls()).toBe(3);
    expect(time.sleeps).toEqual([5_000, 5_000]);
    expect(logged).toHaveLength(2);
  });

  it("answers the refusal once the attempts are used: the role does lack the permission", async () => {
    const time = sleepClock();
    const { work, calls } = failingWith(...Array.from({ length: 9 }, () => named("AuthFailure")));
    await expect(whileRoleSettles(work, time)).rejects.toThrow("AuthFailure happened");
    expect(calls()).toBe(6);
    expect(time.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(25_000);
  });

  it("answers any other error at once: a bad parameter is not a role settling", async () => {
    const time = sleepClock();
    const { work, calls } = failingWith(named("NetworkParameterError"));
    await expect(whileRoleSettles(work, time)).rejects.toThrow("NetworkParameterError happened");
    expect(calls()).toBe(1);
    expect(time.sleeps).toEqual([]);
  });
});
