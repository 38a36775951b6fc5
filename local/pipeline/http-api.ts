/**
 * A local stand-in for API Gateway's HTTP API: turns requests into payload-2.0 events for the
 * same Lambda handlers and writes their results back, so the API a browser calls locally is
 * the one deployed, handler for handler.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Serves what no API route does (the website): `undefined` means 404. */
export type StaticFiles = (
  path: string,
) => Promise<{ contentType: string; body: Uint8Array } | undefined>;

export interface LocalHttpApi {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Why the preferred port was not taken (`EADDRINUSE`, `EACCES`), when a free one was used. */
  preferredPortRefused?: string;
  close(): Promise<void>;
}

/**
 * `routes` maps a path (`/api/counts`) to its handler; the handler sees the path without the
 * `/api` prefix (the deployed API answers both). `port` 0 picks a free port; a taken preferred
 * port falls back to a free one. `responseHeaders` go on every answer, pages and API alike, as
 * the site's CloudFront response headers policy adds them (`siteResponseHeaders` of
 * template-model.ts), so the page is tried locally under the headers it is served with.
 */
export async function startLocalHttpApi(
  routes: Record<string, HttpHandler>,
  port = 0,
  staticFiles?: StaticFiles,
  responseHeaders: Record<string, string> = {},
): Promise<LocalHttpApi> {
  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(responseHeaders)) response.setHeader(name, value);
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://localhost");
    } catch {
      badRequest(response); // "//" alone is no URL: answered, not thrown out of the server
      return;
    }
    const handler = routes[url.pathname];
    if (!handler && staticFiles && !url.pathname.startsWith("/api/") && request.method === "GET") {
      const path = url.pathname.endsWith("/") ? `${url.pathname}index.html` : url.pathname;
      let file: string;
      try {
        file = decodeURIComponent(path.slice(1));
      } catch {
        // A malformed escape (`/%E0`) from any page the browser has open must not end npm start.
        badRequest(response);
        return;
      }
      staticFiles(file)
        .then((file) => {
          if (!file) {
            response
              .writeHead(404, { "content-type": "text/plain; charset=utf-8" })
              .end("not found");
            return;
          }
          response
            .writeHead(200, { "content-type": file.contentType, "cache-control": "no-cache" })
            .end(file.body);
        })
        .catch((error: Error) => {
          process.stderr.write(`[site] ${url.pathname}: ${error.message}\n`);
          response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("error");
        });
      return;
    }
    if (!handler) {
      response
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ message: "not found" }));
      return;
    }
    handler(toEvent(request, url))
      .then((result) => {
        response
          .writeHead(result.statusCode ?? 200, result.headers as Record<string, string>)
          .end(result.body ?? "");
      })
      .catch((error: Error) => {
        // As API Gateway does when a Lambda fails: no details to the client.
        process.stderr.write(`[api] ${url.pathname}: ${error.message}\n`);
        response
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ message: "Internal Server Error" }));
      });
  });
  let preferredPortRefused: string | undefined;
  await listen(server, port).catch((error: NodeJS.ErrnoException) => {
    preferredPortRefused = error.code ?? error.message;
    return listen(server, 0);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    ...(preferredPortRefused ? { preferredPortRefused } : {}),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function toEvent(request: IncomingMessage, url: URL): APIGatewayProxyEventV2 {
  const path = url.pathname.replace(/^\/api/, "") || "/";
  const method = request.method ?? "GET";
  const query = Object.fromEntries(url.searchParams);
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(",") : (value ?? ""),
    ]),
  );
  const now = new Date();
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: url.search.replace(/^\?/, ""),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "local",
      domainName: "127.0.0.1",
      domainPrefix: "local",
      http: {
        method,
        path,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** A request no route can take (a malformed path): answered 400, so the run goes on. */
function badRequest(response: ServerResponse): void {
  response.writeHead(400, { "content-type": "text/plain; charset=utf-8" }).end("bad request");
}
