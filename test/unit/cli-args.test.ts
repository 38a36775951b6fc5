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

describe("parseCliArgs --help", () => {
  const argv = process.argv;
  afterEach(() => {
    process.argv = argv;
  });

  it("prints the usage on stdout and exits 0, for --help and -h, whatever else is given", () => {
    for (const flag of ["--help", "-h"]) {
      process.argv = ["node", "cli", "--rate", "5", flag];
      const written: string[] = [];
      const write = vi
        .spyOn(process.stdout, "write")
        .mockImplementation(((text: string) => written.push(text)) as never);
      const exit = vi.spyOn(process, "exit").mockImplementation(((code: number) => {
        throw new Error(`exit ${code}`);
      }) as never);
      try {
        expect(() => parseCliArgs({ rate: { type: "string" } }, "  npm start -- --rate N")).toThrow(
          "exit 0",
        );
      } finally {
        write.mockRestore();
        exit.mockRestore();
      }
      expect(written.join("")).toBe("usage:\n  npm start -- --rate N\n");
    }
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
