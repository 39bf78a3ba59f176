/**
 * Every route of the inference service, in one table. It feeds the Hono registration (app.ts,
 * operator-routes.ts), the OpenAPI document (openapi.ts) and the API Gateway routes of the serving
 * stack (infra/constructs/http-api.ts), so a route is declared once.
 */
import type { Context, Hono } from "hono";

/** The schemas of components.schemas in /openapi.json (openapi.ts builds each from zod). */
export type SchemaName = "PredictRequest" | "BatchRequest" | "PredictResponse" | "BatchResponse";

/**
 * Who serves a route: the API always; the operator's routes where the service is given their
 * dependencies (operator-routes.ts); the console's only where CONSOLE_ENABLED is on as well.
 */
export type RouteGroup = "api" | "operator" | "console";

export interface Route {
  /** The OpenAPI operationId; also the key of its handler and of its OpenAPI details. */
  readonly id: string;
  readonly method: "GET" | "POST";
  /** OpenAPI path template (`{file}` is a path parameter). */
  readonly path: string;
  readonly group: RouteGroup;
  /** Routed by API Gateway (IAM-authorised); otherwise reachable inside the VPC only. */
  readonly public: boolean;
  readonly summary: string;
  /** JSON request body schema. */
  readonly request?: SchemaName;
  /** JSON schema of the 200 answer. */
  readonly response?: SchemaName;
}

export const ROUTES = [
  {
    id: "predict",
    method: "POST",
    path: "/predict",
    group: "api",
    public: true,
    summary: "Forecast one window (with `quantiles: true`, each step's quantiles too)",
    request: "PredictRequest",
    response: "PredictResponse",
  },
  {
    id: "predictBatch",
    method: "POST",
    path: "/predict/batch",
    group: "api",
    public: true,
    summary: "Forecast many windows in one request (quantiles as for /predict)",
    request: "BatchRequest",
    response: "BatchResponse",
  },
  { id: "healthz", method: "GET", path: "/healthz", group: "api", public: true, summary: "Liveness" },
  {
    id: "readyz",
    method: "GET",
    path: "/readyz",
    group: "api",
    public: true,
    summary: "Readiness: 503 until the default model is loaded",
  },
  // Scraped over localhost by the metrics sidecar.
  {
    id: "metrics",
    method: "GET",
    path: "/metrics",
    group: "api",
    public: false,
    summary: "Prometheus metrics",
  },
  {
    id: "modelsCurrent",
    method: "GET",
    path: "/models/current",
    group: "api",
    public: true,
    summary: "The serving model's card, pointer and scoreboard",
  },
  {
    id: "openapi",
    method: "GET",
    path: "/openapi.json",
    group: "api",
    public: false,
    summary: "This document",
  },
  {
    id: "modelsDecision",
    method: "GET",
    path: "/models/decision",
    group: "operator",
    public: false,
    summary: "The latest evaluation decision of the serving model",
  },
  {
    id: "modelsHistory",
    method: "GET",
    path: "/models/history",
    group: "operator",
    public: false,
    summary: "The promotion history of the serving scope, oldest first (manual ones included)",
  },
  {
    id: "modelsSeries",
    method: "GET",
    path: "/models/series",
    group: "operator",
    public: false,
    summary: "Per-window series of the latest decision (binary, functions/evaluate/series.ts)",
  },
  {
    id: "docs",
    method: "GET",
    path: "/docs",
    group: "operator",
    public: false,
    summary: "This API's documentation (Swagger UI over /openapi.json)",
  },
  {
    id: "docsAsset",
    method: "GET",
    path: "/docs/assets/{file}",
    group: "operator",
    public: false,
    summary: "Files of /docs",
  },
  {
    id: "console",
    method: "GET",
    path: "/console",
    group: "console",
    public: false,
    summary: "The forecast console",
  },
  {
    id: "consoleAsset",
    method: "GET",
    path: "/console/assets/{file}",
    group: "console",
    public: false,
    summary: "Files of /console",
  },
] as const satisfies readonly Route[];

export type OperationId = (typeof ROUTES)[number]["id"];
type OperationOf<G extends RouteGroup> = Extract<(typeof ROUTES)[number], { group: G }>["id"];
export type Handler = (c: Context) => Response | Promise<Response>;

/** The routes routed by API Gateway. */
export const PUBLIC_ROUTES: readonly Route[] = ROUTES.filter((r) => r.public);

/** The routes a service serves: the operator's when given (`consoleEnabled` defined), the console's when on. */
export function servedRoutes(consoleEnabled: boolean | undefined): Route[] {
  const groups: RouteGroup[] = ["api"];
  if (consoleEnabled !== undefined) groups.push("operator");
  if (consoleEnabled) groups.push("console");
  return ROUTES.filter((r) => groups.includes(r.group));
}

/** Served path → its `Allow` (Hono answers HEAD from a GET route). */
export function routeTable(consoleEnabled: boolean | undefined): Map<string, string> {
  const allow = new Map<string, string[]>();
  for (const r of servedRoutes(consoleEnabled)) {
    const methods = allow.get(r.path) ?? [];
    methods.push(...(r.method === "GET" ? ["GET", "HEAD"] : [r.method]));
    allow.set(r.path, methods);
  }
  return new Map([...allow].map(([path, methods]) => [path, methods.join(", ")]));
}

/** Registers each route of `group` on `app` with its handler (`{file}` becomes Hono's `:file`). */
export function registerRoutes<G extends RouteGroup>(
  app: Hono,
  group: G,
  handlers: Record<OperationOf<G>, Handler>,
): void {
  for (const route of ROUTES) {
    if (route.group !== group) continue;
    const handler = handlers[route.id as OperationOf<G>];
    app.on(route.method, route.path.replace(/\{([^}]+)\}/g, ":$1"), handler);
  }
}
