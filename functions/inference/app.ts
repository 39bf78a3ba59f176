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
import { addOperatorRoutes, type OperatorDeps } from "./operator-routes.ts";
import type { Predictor } from "./predict.ts";
import {
  methodNotAllowed,
  noModel,
  notFound,
  PROBLEM_CONTENT_TYPE,
  Problem,
  shuttingDown,
} from "./problem.ts";
import type { ModelRegistry } from "./registry.ts";
import { parseIdentifier, parseRequestId } from "./request.ts";
import type { RequestTracker } from "./request-tracker.ts";
import { registerRoutes, routeTable, servedRoutes } from "./routes.ts";

export interface AppDeps {
  predictor: Predictor;
  registry: ModelRegistry;
  source: ModelSource;
  metrics: InferenceMetrics;
  tracker: RequestTracker;
  logger: Logger;
  bodyLimitBytes: number;
  /** A body that has not arrived this long after its headers is answered 408. */
  bodyTimeoutMs: number;
  version: string;
  /** The Prometheus text `/metrics` answers: this process's, or every worker's aggregated. */
  metricsText: () => Promise<string>;
  /** The operator's routes (decision, history, series, /docs, /console); absent: not served. */
  operator?: Omit<OperatorDeps, "registry">;
}

/** Counted for a request whose client left before its answer was written (nginx's convention). */
const CLIENT_CLOSED = 499;

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
  const ROUTES = routeTable(deps.operator?.consoleEnabled);
  const openapi = JSON.stringify(openApiDocument(deps.version, servedRoutes(deps.operator?.consoleEnabled)));
  const templates = [...ROUTES.keys()]
    .filter((p) => p.includes("{"))
    .map((p) => [p, new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`)] as const);
  const routeOf = (path: string) =>
    ROUTES.has(path) ? path : (templates.find(([, re]) => re.test(path))?.[0] ?? "unmatched");

  // Every request is tracked (in flight, for the drain) and counted (route, method, status). On
  // Node that happens in one listener on the response's "close", shared by all requests, so the
  // request counts until its response is written and no middleware round is paid per request.
  function onClose(this: ServerResponse): void {
    tracker.end();
    const request = this.req;
    const status = this.writableFinished ? this.statusCode : CLIENT_CLOSED;
    metrics.countRequest(routeOf(pathOf(request.url ?? "/")), request.method ?? "GET", status);
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
  const requestIdOf = (c: Context) =>
    parseRequestId(headerOf(c, "x-request-id")) ?? `${idPrefix}-${++requestCount}`;
  const bodyOf = (c: Context) => readJson(c, deps.bodyLimitBytes, deps.bodyTimeoutMs);

  const forecast =
    (route: string, run: (body: unknown, requestId: string) => Promise<unknown>) => async (c: Context) => {
      const started = performance.now();
      const requestId = requestIdOf(c);
      const answer = await run(await bodyOf(c), requestId);
      endBody(c);
      metrics.observeLatency(route, (performance.now() - started) / 1000);
      return c.json(answer as object);
    };

  registerRoutes(app, "api", {
    // The hot path: the answer comes as JSON text, no object graph to build and stringify.
    predict: async (c) => {
      const started = performance.now();
      const requestId = requestIdOf(c);
      const body = await bodyOf(c);
      const answer = await predictor.predictJson(body, requestId, started);
      endBody(c);
      metrics.observeLatency("/predict", (performance.now() - started) / 1000);
      // A fresh headers object each time: @hono/node-server adds Content-Length to it.
      return c.body(answer, 200, { "Content-Type": "application/json" });
    },
    predictBatch: forecast("/predict/batch", (body, id) => predictor.predictBatch(body, id)),
    healthz: (c) => c.json({ status: "ok" }),
    readyz: (c) => {
      if (tracker.draining) return problemResponse(c, shuttingDown());
      const serving = registry.defaultModel;
      if (!serving) return problemResponse(c, noModel(registry.defaultIdentifier));
      const { run_id, model_type, scope } = serving.model.identity;
      return c.json({ status: "ready", identifier: registry.defaultIdentifier, scope, run_id, model_type });
    },
    metrics: async (c) =>
      c.body(await deps.metricsText(), 200, { "Content-Type": metrics.registry.contentType }),
    modelsCurrent: async (c) => {
      const identifier = parseIdentifier(c.req.query("identifier"));
      // Resolved as /predict resolves it: an unknown identifier is a 400, one not loaded yet is loaded.
      const serving = await registry.lookup(identifier);
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
    },
    openapi: (c) => c.body(openapi, 200, { "Content-Type": "application/json" }),
  });
  if (deps.operator) addOperatorRoutes(app, { ...deps.operator, registry });

  app.notFound((c) => {
    const allow = ROUTES.get(routeOf(c.req.path));
    if (allow) return problemResponse(c, methodNotAllowed(c.req.method, c.req.path, allow));
    return problemResponse(c, notFound(c.req.path));
  });

  app.onError((error, c) => {
    if (error instanceof Problem) {
      if (error.slug === "client-aborted") logger.info("client_aborted", { path: c.req.path });
      return problemResponse(c, error);
    }
    logger.error("request_failed", { path: c.req.path, error: String(error), stack: (error as Error).stack });
    return problemResponse(
      c,
      new Problem(500, "internal", "Internal error", "the request could not be served"),
    );
  });

  return app;
}
