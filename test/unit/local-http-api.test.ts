/**
 * The local stand-in for the HTTP API and the website (`npm start` serves both on localhost,
 * where any page the browser has open can send it requests).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalHttpApi, startLocalHttpApi } from "../../local/pipeline/http-api.js";

describe("the local HTTP API", () => {
  let api: LocalHttpApi;
  const asked: string[] = [];
  beforeAll(async () => {
    api = await startLocalHttpApi(
      { "/api/counts": async () => ({ statusCode: 200, body: "{}" }) },
      0,
      async (path) => {
        asked.push(path);
        return path === "index.html"
          ? { contentType: "text/html", body: new TextEncoder().encode("<p>map</p>") }
          : undefined;
      },
      { "x-content-type-options": "nosniff" },
    );
  });
  afterAll(() => api.close());
  /** The status of a request for `path` exactly as written (fetch would normalize it). */
  const rawStatus = (path: string) =>
    new Promise<number | undefined>((resolve, reject) => {
      const { hostname, port } = new URL(api.url);
      request({ hostname, port, path }, (answer) => {
        answer.resume();
        resolve(answer.statusCode);
      })
        .on("error", reject)
        .end();
    });

  it("answers a malformed escape with 400 and keeps serving", async () => {
    const bad = await fetch(`${api.url}/%E0`);
    expect(bad.status).toBe(400);
    expect(await rawStatus("//")).toBe(400);
    const page = await fetch(`${api.url}/`);
    expect([page.status, await page.text()]).toEqual([200, "<p>map</p>"]);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(asked).toEqual(["index.html"]);
  });

  it("decodes an escaped path for the site's files", async () => {
    expect((await fetch(`${api.url}/caf%C3%A9.json`)).status).toBe(404);
    expect(asked.at(-1)).toBe("café.json");
  });
});

describe("the local HTTP API's port", () => {
  it("uses a free port when the preferred one is taken, and says why", async () => {
    const first = await startLocalHttpApi({}, 0);
    const takenPort = Number(new URL(first.url).port);
    const second = await startLocalHttpApi({}, takenPort);
    try {
      expect(first.preferredPortRefused).toBeUndefined();
      expect(second.preferredPortRefused).toBe("EADDRINUSE");
      expect(Number(new URL(second.url).port)).not.toBe(takenPort);
      expect((await fetch(`${second.url}/api/nothing`)).status).toBe(404);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
