/** HTTP routes of the inference service: thin handlers over the Predictor and the ModelRegistry. */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import { type Context, Hono } from "hono";
import type { Logger } from "../common/log.ts";
import { endBody, headerOf, readJson } from "./body.ts";
import type { InferenceMetrics } from "./metrics.ts";
import type { ModelSource } from "./model-source.ts";
import { openApiDocument } from "./openapi.ts";
import type { Predictor } from "./predict.ts";
import { noModel, notFound, PROBLEM_CONTENT_TYPE, Problem, shuttingDown } from "./problem.ts";
import type { ModelRegistry } from "./registry.ts";
import type { RequestTracker } from "./request-tracker.ts";

export interface AppDeps {
  predictor: Predictor;
  registry: ModelRegistry;
  source: ModelSource;
  metrics: InferenceMetrics;
  tracker: RequestTracker;
  logger: Logger;
  bodyLimitBytes: number;
  version: string;
  /** The Prometheus text `/metrics` answers: this process's, or every worker's aggregated. */
  metricsText: () => Promise<string>;
}

const ROUTES = new Set([
  "/predict",
  "/predict/batch",
  "/healthz",
  "/readyz",
  "/metrics",
  "/models/current",
  "/openapi.json",
]);

/** The path of a request target as Hono routes it (query dropped, percent-decoded). */
function pathOf(url: string): string {
  let path = url;
  if (path.charCodeAt(0) !== 47 /* "/" */) {
    try {
      path = new URL(path).pathname;
    } catch {
      return path;
    }
  }
  const query = path.indexOf("?");
  if (query >= 0) path = path.slice(0, query);
  if (path.includes("%")) {
    try {
      path = decodeURI(path);
    } catch {
      // Hono keeps a path it cannot decode as it is.
    }
  }
  return path;
}

export function problemResponse(c: Context, problem: Problem): Response {
  return c.body(JSON.stringify(problem.body()), problem.status as 400, {
    "Content-Type": PROBLEM_CONTENT_TYPE,
    ...problem.headers,
  });
}

export function createApp(deps: AppDeps): Hono {
  const { predictor, registry, metrics, tracker, logger } = deps;
  const app = new Hono();
  const openapi = JSON.stringify(openApiDocument(deps.version));

  const routeOf = (path: string) => (ROUTES.has(path) ? path : "unmatched");

  // Every request is tracked (in flight, for the drain) and counted (route, method, status). On
  // Node that happens in one listener on the response's "close", shared by all requests, so the
  // request counts until its response is written and no middleware round is paid per request.
  function onClose(this: ServerResponse): void {
    tracker.end();
    const request = this.req;
    metrics.countRequest(routeOf(pathOf(request.url ?? "/")), request.method ?? "GET", this.statusCode);
  }
  const fetch = app.fetch;
  app.fetch = (request, env?: unknown, executionCtx?) => {
    tracker.begin();
    const outgoing = (env as Partial<HttpBindings> | undefined)?.outgoing;
    if (outgoing) {
      outgoing.on("close", onClose);
      return fetch(request, env, executionCtx);
    }
    // Elsewhere (app.request in tests): when the response is produced.
    const done = (response: Response) => {
      tracker.end();
      metrics.countRequest(routeOf(new URL(request.url).pathname), request.method, response.status);
      return response;
    };
    return Promise.resolve(fetch(request, env, executionCtx)).then(done, (error: unknown) => {
      tracker.end();
      throw error;
    });
  };

  const idPrefix = randomBytes(4).toString("hex");
  let requestCount = 0;

  const forecast =
    (route: string, run: (body: unknown, requestId: string) => Promise<unknown>) => async (c: Context) => {
      const started = performance.now();
      const requestId = headerOf(c, "x-request-id") ?? `${idPrefix}-${++requestCount}`;
      const answer = await run(await readJson(c, deps.bodyLimitBytes), requestId);
      endBody(c);
      metrics.observeLatency(route, (performance.now() - started) / 1000);
      return c.json(answer as object);
    };

  // The hot path: the answer comes as JSON text, no object graph to build and stringify.
  app.post("/predict", async (c) => {
    const started = performance.now();
    const requestId = headerOf(c, "x-request-id") ?? `${idPrefix}-${++requestCount}`;
    const body = await readJson(c, deps.bodyLimitBytes);
    const answer = await predictor.predictJson(body, requestId, started);
    endBody(c);
    metrics.observeLatency("/predict", (performance.now() - started) / 1000);
    // A fresh headers object each time: @hono/node-server adds Content-Length to it.
    return c.body(answer, 200, { "Content-Type": "application/json" });
  });
  app.post(
    "/predict/batch",
    forecast("/predict/batch", (body, id) => predictor.predictBatch(body, id)),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", (c) => {
    if (tracker.draining) return problemResponse(c, shuttingDown());
    const serving = registry.current(undefined);
    if (!serving) return problemResponse(c, noModel(registry.defaultIdentifier));
    const { run_id, model_type, scope } = serving.model.identity;
    return c.json({ status: "ready", identifier: registry.defaultIdentifier, scope, run_id, model_type });
  });

  app.get("/metrics", async (c) =>
    c.body(await deps.metricsText(), 200, { "Content-Type": metrics.registry.contentType }),
  );

  app.get("/models/current", async (c) => {
    const identifier = c.req.query("identifier");
    const serving = registry.current(identifier);
    if (!serving) return problemResponse(c, noModel(identifier ?? registry.defaultIdentifier));
    const { identity, card } = serving.model;
    if (serving.scoreboard === null && serving.pointer) {
      serving.scoreboard = await deps.source
        .scoreboard(identity.scope, serving.pointer.config_hash, identity.run_id)
        .catch(() => null);
    }
    return c.json({
      identifier: identifier ?? registry.defaultIdentifier,
      scope: identity.scope,
      run_id: identity.run_id,
      model_type: identity.model_type,
      model_uri: identity.model_uri,
      pointer: serving.pointer,
      card,
      scoreboard: serving.scoreboard,
    });
  });

  app.get("/openapi.json", (c) => c.body(openapi, 200, { "Content-Type": "application/json" }));

  app.notFound((c) => problemResponse(c, notFound(c.req.path)));

  app.onError((error, c) => {
    if (error instanceof Problem) return problemResponse(c, error);
    logger.error("request_failed", { path: c.req.path, error: String(error), stack: (error as Error).stack });
    return problemResponse(
      c,
      new Problem(500, "internal", "Internal error", "the request could not be served"),
    );
  });

  return app;
}
