/**
 * The custom resource that deploys the website (functions/site-content/): headers per kind of
 * file, index.html last, config.json from the CountsApiUrl property, Delete removing the site's
 * files and never the daily batch's, and CloudFormation always answered (success, failure with
 * its reason, before a timeout). S3 is aws-sdk-client-mock; the presigned response URL is a
 * recording fetch. Last, the Makefile `sam build` runs, for real, into a temporary folder.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, describe, expect, it, vi } from "vitest";
import { contentTypeOf } from "../../functions/shared/s3-keys.js";
import {
  applyEvent,
  cacheControlOf,
  handleSiteContent,
  IMMUTABLE,
  InvalidPropertiesError,
  NO_CACHE,
  ONE_DAY,
  planPuts,
  readProperties,
  type SiteFile,
  SiteFileError,
} from "../../functions/site-content/site-content.js";
import { readSiteFolder } from "../../functions/site-content/site-folder.js";
import { repoRoot } from "../../local/setup/paths.js";
import { resetAfterEach } from "../support/aws-mock.js";
import {
  expectFailedBeforeTimeout,
  lambdaContext,
  madeUpRequests,
  noSleep,
  RESPONSE_URL,
  recordingFetch,
} from "../support/custom-resource-events.js";

const s3Mock = resetAfterEach(mockClient(S3Client));
const s3 = new S3Client({ region: "us-east-1" });

const BUCKET = "rsvp-atlas-sitebucket-abc123";
const API = "https://abc123.execute-api.us-east-1.amazonaws.com";
/** What the daily batch publishes next to the page: never the deploy's to touch. */
const BATCH_KEYS = ["map.png", "clusters.json", "cities.json", "run.json"];

/** A built site as site/build.ts writes it, source maps included. */
const SITE: SiteFile[] = [
  { key: "index.html", body: '<!doctype html><script src="assets/main-ABCD1234.js"></script>' },
  { key: "assets/main-ABCD1234.js", body: "console.log(1);" },
  { key: "assets/main-ABCD1234.js.map", body: "{}" },
  { key: "assets/styles-EFGH5678.css", body: "body{}" },
  { key: "assets/styles-EFGH5678.css.map", body: "{}" },
  { key: "basemap/countries-110m.json", body: "{}" },
  { key: "basemap/countries-50m.json", body: "{}" },
];
const files = async () => SITE;

const event = madeUpRequests({
  functionName: "site-content",
  logicalResourceId: "SiteContent",
  resourceType: "Custom::SiteContent",
  properties: { Bucket: BUCKET, CountsApiUrl: API, SiteVersion: "3" },
  physicalResourceId: `s3://${BUCKET}/`,
  oldProperties: { ServiceToken: "token", Bucket: BUCKET, SiteVersion: "2" },
});

/** The bucket as S3 lists it: the deploy's folders, with `extra` keys in them. */
function listing(extra: { assets?: string[]; basemap?: string[] } = {}) {
  s3Mock
    .on(ListObjectsV2Command, { Prefix: "assets/" })
    .resolves({ Contents: (extra.assets ?? []).map((Key) => ({ Key })) });
  s3Mock
    .on(ListObjectsV2Command, { Prefix: "basemap/" })
    .resolves({ Contents: (extra.basemap ?? []).map((Key) => ({ Key })) });
}

const puts = () => s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
const deletedKeys = () =>
  s3Mock
    .commandCalls(DeleteObjectsCommand)
    .flatMap((c) => c.args[0].input.Delete?.Objects?.map((o) => o.Key) ?? []);

describe("headers of the site's files", () => {
  it("gives each kind of file its Content-Type", () => {
    expect(contentTypeOf("index.html")).toBe("text/html; charset=utf-8");
    expect(contentTypeOf("assets/main-ABCD1234.js")).toBe("text/javascript; charset=utf-8");
    expect(contentTypeOf("assets/styles-ABCD1234.css")).toBe("text/css; charset=utf-8");
    expect(contentTypeOf("basemap/countries-50m.json")).toBe("application/json; charset=utf-8");
    expect(contentTypeOf("assets/logo-ABCD1234.svg")).toBe("image/svg+xml");
    expect(contentTypeOf("assets/data-ABCD1234.bin")).toBe("application/octet-stream");
    expect(contentTypeOf("assets.d/README")).toBe("application/octet-stream");
  });

  it("never caches index.html and config.json, caches hashed assets forever and basemaps a day", () => {
    expect(cacheControlOf("index.html")).toBe("no-cache");
    expect(cacheControlOf("config.json")).toBe("no-cache");
    expect(cacheControlOf("assets/main-SWDGH52E.js")).toBe("public, max-age=31536000, immutable");
    expect(cacheControlOf("basemap/countries-110m.json")).toBe("public, max-age=86400");
  });

  it("refuses an asset without a content hash, and any key outside the site's", () => {
    expect(() => cacheControlOf("assets/main.js")).toThrow(SiteFileError);
    expect(() => cacheControlOf("map.png")).toThrow(/not a file of the site/);
    expect(() => cacheControlOf("run.json")).toThrow(SiteFileError);
    expect(() => cacheControlOf("docs/index.html")).toThrow(SiteFileError);
  });
});

describe("planPuts", () => {
  it("skips source maps and puts config.json, then index.html, last", () => {
    const plan = planPuts(SITE, API);
    expect(plan.map((p) => p.key)).toEqual([
      "assets/main-ABCD1234.js",
      "assets/styles-EFGH5678.css",
      "basemap/countries-110m.json",
      "basemap/countries-50m.json",
      "config.json",
      "index.html",
    ]);
    expect(plan.map((p) => [p.key, p.cacheControl])).toEqual([
      ["assets/main-ABCD1234.js", IMMUTABLE],
      ["assets/styles-EFGH5678.css", IMMUTABLE],
      ["basemap/countries-110m.json", ONE_DAY],
      ["basemap/countries-50m.json", ONE_DAY],
      ["config.json", NO_CACHE],
      ["index.html", NO_CACHE],
    ]);
    expect(JSON.parse(String(plan.at(-2)?.body))).toEqual({ countsApiUrl: API });
  });

  it("refuses a package that is not a site, before anything is written", () => {
    const withoutIndex = SITE.filter((f) => f.key !== "index.html");
    expect(() => planPuts(withoutIndex, API)).toThrow(/no index.html/);
    expect(() => planPuts([...SITE, { key: "map.png", body: "" }], API)).toThrow(SiteFileError);
    expect(() => planPuts([...SITE, { key: "config.json", body: "{}" }], API)).toThrow(
      /config.json of its own/,
    );
    expect(() => planPuts([...SITE, { key: "assets/../run.json", body: "" }], API)).toThrow(
      /not a relative key/,
    );
  });
});

describe("readProperties", () => {
  it("wants a bucket and the counts API's base URL, without its trailing slash", () => {
    expect(readProperties({ Bucket: BUCKET, CountsApiUrl: `${API}/` })).toEqual({
      bucket: BUCKET,
      countsApiUrl: API,
    });
    expect(readProperties({ Bucket: BUCKET, CountsApiUrl: "/api" }).countsApiUrl).toBe("/api");
    expect(() => readProperties({ CountsApiUrl: API })).toThrow(InvalidPropertiesError);
    expect(() => readProperties({ Bucket: "s3://x", CountsApiUrl: API })).toThrow(/Bucket/);
    expect(() => readProperties({ Bucket: BUCKET })).toThrow(/CountsApiUrl/);
    for (const bad of ["", "ftp://x", "//host/x", "https://", "abc123.execute-api.aws"]) {
      expect(() => readProperties({ Bucket: BUCKET, CountsApiUrl: bad }), bad).toThrow(
        /CountsApiUrl/,
      );
    }
  });
});

describe("applyEvent", () => {
  it.each(["Create", "Update"] as const)(
    "%s puts every file with its headers, config.json with the API's URL, index.html last",
    async (type) => {
      s3Mock.on(PutObjectCommand).resolves({});
      listing();
      const result = await applyEvent(event(type), { s3, files });
      expect(result).toEqual({
        PhysicalResourceId: `s3://${BUCKET}/`,
        Data: { Bucket: BUCKET, CountsApiUrl: API, Files: "6" },
      });
      const sent = puts();
      expect(sent.map((p) => p.Key)).toHaveLength(6);
      expect(sent.every((p) => p.Bucket === BUCKET)).toBe(true);
      expect(sent.some((p) => p.Key?.endsWith(".map"))).toBe(false);
      expect(sent.at(-1)).toMatchObject({
        Key: "index.html",
        ContentType: "text/html; charset=utf-8",
        CacheControl: "no-cache",
      });
      expect(sent.at(-2)).toMatchObject({
        Key: "config.json",
        ContentType: "application/json; charset=utf-8",
        CacheControl: "no-cache",
      });
      expect(JSON.parse(String(sent.at(-2)?.Body))).toEqual({ countsApiUrl: API });
      expect(sent.find((p) => p.Key === "assets/main-ABCD1234.js")).toMatchObject({
        ContentType: "text/javascript; charset=utf-8",
        CacheControl: "public, max-age=31536000, immutable",
        Body: "console.log(1);",
      });
      expect(sent.find((p) => p.Key === "basemap/countries-50m.json")).toMatchObject({
        CacheControl: "public, max-age=86400",
      });
      // Nothing stale in the bucket: nothing deleted.
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    },
  );

  it("removes the hashed files of earlier deploys after the new index.html, and nothing else", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(DeleteObjectsCommand).resolves({});
    listing({
      assets: ["assets/main-ABCD1234.js", "assets/main-OLD00000.js", "assets/main-OLD00000.js.map"],
      basemap: ["basemap/countries-110m.json", "basemap/countries-10m.json"],
    });
    await applyEvent(event("Update"), { s3, files });
    expect(deletedKeys().sort()).toEqual([
      "assets/main-OLD00000.js",
      "assets/main-OLD00000.js.map",
      "basemap/countries-10m.json",
    ]);
    const order = s3Mock.calls().map((c) => c.args[0].constructor.name);
    expect(order.lastIndexOf("PutObjectCommand")).toBeLessThan(
      order.indexOf("DeleteObjectsCommand"),
    );
  });

  it("Delete removes index.html, config.json and the deploy's folders, never the batch's files", async () => {
    s3Mock.on(DeleteObjectsCommand).resolves({});
    listing({
      assets: ["assets/main-ABCD1234.js", "assets/main-OLD00000.js"],
      basemap: ["basemap/countries-110m.json"],
    });
    const read = vi.fn(files);
    const result = await applyEvent(event("Delete"), { s3, files: read });
    expect(result).toEqual({ PhysicalResourceId: `s3://${BUCKET}/` });
    expect(deletedKeys().sort()).toEqual([
      "assets/main-ABCD1234.js",
      "assets/main-OLD00000.js",
      "basemap/countries-110m.json",
      "config.json",
      "index.html",
    ]);
    for (const key of BATCH_KEYS) expect(deletedKeys()).not.toContain(key);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    // Only the two folders the deploy owns are listed.
    expect(
      s3Mock
        .commandCalls(ListObjectsV2Command)
        .map((c) => c.args[0].input.Prefix)
        .sort(),
    ).toEqual(["assets/", "basemap/"]);
    expect(read).not.toHaveBeenCalled();
  });

  it("Delete succeeds without S3 calls when the properties were never valid", async () => {
    const result = await applyEvent(event("Delete", { Bucket: "" }), { s3, files });
    expect(result.PhysicalResourceId).toBe(`s3://${BUCKET}/`);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("Delete succeeds when the bucket is already gone", async () => {
    s3Mock
      .on(ListObjectsV2Command)
      .rejects(
        Object.assign(new Error("The specified bucket does not exist"), { name: "NoSuchBucket" }),
      );
    await expect(applyEvent(event("Delete"), { s3, files })).resolves.toEqual({
      PhysicalResourceId: `s3://${BUCKET}/`,
    });
  });
});

describe("handleSiteContent", () => {
  const deps = (fetchFn: typeof fetch, read = files) => ({
    s3,
    files: read,
    fetch: fetchFn,
    sleep: noSleep,
  });

  it("answers SUCCESS once on the presigned URL, with the bucket and the API's URL", async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    listing();
    const { calls, fetchFn, bodies } = recordingFetch();
    await handleSiteContent(event("Create"), lambdaContext, deps(fetchFn));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(RESPONSE_URL);
    expect(calls[0]?.init.method).toBe("PUT");
    expect(bodies()[0]).toEqual({
      Status: "SUCCESS",
      PhysicalResourceId: `s3://${BUCKET}/`,
      StackId: event("Create").StackId,
      RequestId: "request-1",
      LogicalResourceId: "SiteContent",
      Data: { Bucket: BUCKET, CountsApiUrl: API, Files: "6" },
    });
  });

  it("answers FAILED with S3's error, keeping the physical id on Update, and does not put index.html", async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));
    const { fetchFn, bodies } = recordingFetch();
    await handleSiteContent(event("Update"), lambdaContext, deps(fetchFn));
    expect(bodies()).toEqual([
      expect.objectContaining({
        Status: "FAILED",
        Reason: "AccessDenied: Access Denied",
        PhysicalResourceId: `s3://${BUCKET}/`,
      }),
    ]);
    const attempted = puts().map((p) => p.Key);
    expect(attempted).not.toContain("index.html");
    expect(attempted).not.toContain("config.json");
  });

  it("answers FAILED for a package that is not a site, with the log stream as a failed Create's id", async () => {
    const { fetchFn, bodies } = recordingFetch();
    const broken = async () => SITE.filter((f) => f.key !== "index.html");
    await handleSiteContent(event("Create"), lambdaContext, deps(fetchFn, broken));
    expect(bodies()[0]).toMatchObject({
      Status: "FAILED",
      PhysicalResourceId: lambdaContext.logStreamName,
      Reason: expect.stringMatching(/^SiteFileError: the package has no index.html/),
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it("answers FAILED for bad properties", async () => {
    const { fetchFn, bodies } = recordingFetch();
    await handleSiteContent(event("Create", { Bucket: BUCKET }), lambdaContext, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({
      Status: "FAILED",
      Reason: expect.stringMatching(/^InvalidPropertiesError: property CountsApiUrl/),
    });
  });

  it("answers FAILED when S3 keeps some of the objects a Delete removes", async () => {
    listing();
    s3Mock.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: "index.html", Code: "AccessDenied", Message: "Access Denied" }],
    });
    const { fetchFn, bodies } = recordingFetch();
    await handleSiteContent(event("Delete"), lambdaContext, deps(fetchFn));
    expect(bodies()[0]).toMatchObject({
      Status: "FAILED",
      Reason: expect.stringMatching(/did not delete 1 of 2 objects \(index.html: AccessDenied/),
    });
  });

  it("answers FAILED before the Lambda times out when S3 never answers", async () => {
    s3Mock.on(PutObjectCommand).callsFake(() => new Promise(() => {}));
    await expectFailedBeforeTimeout((context, fetchFn) =>
      handleSiteContent(event("Create"), context, deps(fetchFn)),
    );
  });
});

describe("readSiteFolder", () => {
  it("keys every file by its path under the folder, with forward slashes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "site-content-folder-"));
    try {
      mkdirSync(join(dir, "assets"));
      writeFileSync(join(dir, "index.html"), "<!doctype html>");
      writeFileSync(join(dir, "assets", "main-ABCD1234.js"), "x");
      const read = await readSiteFolder(dir);
      expect(read.map((f) => f.key)).toEqual(["assets/main-ABCD1234.js", "index.html"]);
      expect(Buffer.from(read[1]?.body ?? "").toString()).toBe("<!doctype html>");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- The package `sam build` makes: functions/site-content/Makefile, run for real -------------

const hasMake = spawnSync("make", ["--version"], { stdio: "ignore" }).status === 0;
const makefile = join(repoRoot, "functions", "site-content", "Makefile");

describe.skipIf(!hasMake)(
  `the Makefile of SiteContentFunction${hasMake ? "" : " (skipped: make is not installed)"}`,
  () => {
    const scratch = mkdtempSync(join(tmpdir(), "site-content-make-"));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it("builds the handler bundle and the site, without source maps, from any working directory", async () => {
      const artifacts = join(scratch, "artifacts");
      // SAM runs make in a scratch copy of the CodeUri, not in the repository.
      const cwd = join(scratch, "cwd");
      mkdirSync(cwd);
      const run = spawnSync(
        "make",
        ["--makefile", makefile, "build-SiteContentFunction", `ARTIFACTS_DIR=${artifacts}`],
        { cwd, encoding: "utf8", env: { ...process.env, ARTIFACTS_DIR: artifacts } },
      );
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

      expect(existsSync(join(artifacts, "index.mjs"))).toBe(true);
      const site = join(artifacts, "site");
      const assets = readdirSync(join(site, "assets")).sort();
      expect(assets).toEqual([
        expect.stringMatching(/^main-[A-Z0-9]{8}\.js$/),
        expect.stringMatching(/^styles-[A-Z0-9]{8}\.css$/),
      ]);
      expect(readdirSync(join(site, "basemap")).sort()).toEqual([
        "countries-110m.json",
        "countries-50m.json",
      ]);
      const html = readFileSync(join(site, "index.html"), "utf8");
      for (const asset of assets) expect(html).toContain(`assets/${asset}`);

      // What the handler will read and put: the site's files, index.html last.
      const packaged = await readSiteFolder(site);
      expect(packaged.some((f) => f.key.endsWith(".map"))).toBe(false);
      expect(planPuts(packaged, API).map((p) => p.key)).toEqual([
        ...assets.map((a) => `assets/${a}`),
        "basemap/countries-110m.json",
        "basemap/countries-50m.json",
        "config.json",
        "index.html",
      ]);

      // The bundle loads on its own and finds the site beside it, as in /var/task.
      const bundle = (await import(pathToFileURL(join(artifacts, "index.mjs")).href)) as {
        handler: unknown;
        packagedSiteDir: () => string;
      };
      expect(typeof bundle.handler).toBe("function");
      expect(bundle.packagedSiteDir()).toBe(`${site}/`);
    }, 120_000);

    it("says what is wrong without ARTIFACTS_DIR", () => {
      const env = { ...process.env };
      delete env.ARTIFACTS_DIR;
      const run = spawnSync("make", ["--makefile", makefile, "build-SiteContentFunction"], {
        cwd: scratch,
        encoding: "utf8",
        env,
      });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/ARTIFACTS_DIR is not set/);
    });
  },
);
