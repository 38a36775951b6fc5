/** Where the browser tests find Chromium: CHROMIUM_PATH, else its usual names on PATH. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chromiumPath, findChromium } from "../../local/setup/chromium.js";

const root = mkdtempSync(join(tmpdir(), "chromium-lookup-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dirWith(name: string, files: Record<string, "executable" | "plain">): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, kind] of Object.entries(files)) {
    writeFileSync(join(dir, file), "#!/bin/sh\n");
    chmodSync(join(dir, file), kind === "executable" ? 0o755 : 0o644);
  }
  return dir;
}

describe("findChromium", () => {
  const google = dirWith("google", { "google-chrome": "executable" });
  const notRunnable = dirWith("plain", { chromium: "plain" });
  const ubuntu = dirWith("ubuntu", { "chromium-browser": "executable" });
  const debian = dirWith("debian", { chromium: "executable" });

  it("takes the first of Chromium's names found on PATH, skipping files it cannot run", () => {
    const PATH = [notRunnable, google, ubuntu].join(delimiter);
    expect(findChromium({ PATH })).toBe(join(ubuntu, "chromium-browser"));
    expect(findChromium({ PATH: [google, debian].join(delimiter) })).toBe(join(debian, "chromium"));
    expect(findChromium({ PATH: google })).toBe(join(google, "google-chrome"));
  });

  it("is null without one, and chromiumPath says what to do", () => {
    expect(findChromium({ PATH: notRunnable })).toBeNull();
    expect(findChromium({})).toBeNull();
    expect(() => chromiumPath({ PATH: notRunnable })).toThrow(/no Chromium found.*CHROMIUM_PATH/);
  });

  it("takes CHROMIUM_PATH before PATH, and refuses one that names no executable file", () => {
    const given = join(google, "google-chrome");
    expect(findChromium({ CHROMIUM_PATH: given, PATH: debian })).toBe(given);
    expect(() => findChromium({ CHROMIUM_PATH: join(notRunnable, "chromium") })).toThrow(
      /CHROMIUM_PATH is .*not an executable file/,
    );
    expect(() => findChromium({ CHROMIUM_PATH: google, PATH: debian })).toThrow(/CHROMIUM_PATH/);
  });
});
