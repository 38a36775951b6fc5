/** The local commands' flags (local/cli/args.ts). */
import { afterEach, describe, expect, it, vi } from "vitest";
import { orExit, parseCliArgs } from "../../local/cli/args.js";

describe("parseCliArgs", () => {
  const argv = process.argv;
  const initCwd = process.env.INIT_CWD;
  afterEach(() => {
    process.argv = argv;
    if (initCwd === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = initCwd;
  });

  it("takes relative paths from where the user ran npm (INIT_CWD), not the repository", () => {
    process.argv = ["node", "cli", "--input", "feed.jsonl", "--out", "/abs/site", "--seed", "x/y"];
    process.env.INIT_CWD = "/home/someone/work";
    const args = parseCliArgs(
      { input: { type: "string" }, out: { type: "string" }, seed: { type: "string" } },
      "usage",
      ["input", "out"],
    );
    expect(args).toEqual({
      input: "/home/someone/work/feed.jsonl",
      out: "/abs/site",
      seed: "x/y", // not a path: as given
    });
  });
});

describe("orExit", () => {
  it("passes a result through, and turns a failure into one sentence and exit 1", async () => {
    const said: string[] = [];
    expect(await orExit(Promise.resolve(7), (line) => said.push(line), "starting")).toBe(7);
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    const details: Error[] = [];
    try {
      await orExit(
        Promise.reject(new Error("Maven Central did not answer")),
        (line) => said.push(line),
        "could not install what the tests need",
        (error) => details.push(error),
      );
      expect(exit).toHaveBeenCalledWith(1);
    } finally {
      exit.mockRestore();
    }
    expect(said).toEqual(["could not install what the tests need: Maven Central did not answer"]);
    expect(details.map((error) => error.message)).toEqual(["Maven Central did not answer"]);
  });
});
