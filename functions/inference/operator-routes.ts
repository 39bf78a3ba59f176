/**
 * The operator's read-only routes beside the API: the latest evaluation decision, the promotion
 * history and the per-window forecast series of the serving model, plus the forecast console
 * (`/console`, when enabled) and the API docs (`/docs`). Static files come from this directory's
 * `console/` and from the npm packages uplot and swagger-ui-dist; nothing from elsewhere.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Context, Hono } from "hono";
import { EvaluationDecision } from "../common/contracts.ts";
import { evaluationKeys } from "../common/keys.ts";
import { getBytesIfExists, getJsonIfExists } from "../common/s3.ts";
import { readHistory } from "./history.ts";
import { Problem } from "./problem.ts";
import type { ModelRegistry } from "./registry.ts";
import { parseIdentifier } from "./request.ts";
import { registerRoutes } from "./routes.ts";

export interface OperatorDeps {
  s3: S3Client;
  buckets: { artifacts: string; promotion: string };
  registry: ModelRegistry;
  consoleEnabled: boolean;
}

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const vendor = (pkg: string, file: string) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

/** `/console/assets/<file>` and `/docs/assets/<file>`: name → [path on disk, content type]. */
const CONSOLE_ASSETS: Record<string, [string, string]> = {
  "console.js": [join(here, "console", "console.js"), "text/javascript"],
  "console.css": [join(here, "console", "console.css"), "text/css"],
  "uPlot.iife.min.js": [vendor("uplot", "dist/uPlot.iife.min.js"), "text/javascript"],
  "uPlot.min.css": [vendor("uplot", "dist/uPlot.min.css"), "text/css"],
};
const DOCS_ASSETS: Record<string, [string, string]> = {
  "docs.js": [join(here, "console", "docs.js"), "text/javascript"],
  "swagger-ui-bundle.js": [vendor("swagger-ui-dist", "swagger-ui-bundle.js"), "text/javascript"],
  "swagger-ui.css": [vendor("swagger-ui-dist", "swagger-ui.css"), "text/css"],
};

const noDecision = (identifier: string) =>
  new Problem(
    404,
    "no-decision",
    "No evaluation decision",
    `identifier: no evaluation decision is stored for the model serving '${identifier}'`,
    "identifier",
  );
const noAsset = (path: string) => new Problem(404, "not-found", "Not found", `no route ${path}`);

function serveFile(c: Context, assets: Record<string, [string, string]>, cache: Map<string, Buffer>) {
  const name = c.req.param("file") ?? "";
  const asset = Object.hasOwn(assets, name) ? assets[name] : undefined;
  if (!asset) throw noAsset(c.req.path);
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(asset[0]);
    cache.set(name, body);
  }
  return c.body(new Uint8Array(body), 200, { "Content-Type": `${asset[1]}; charset=utf-8` });
}

export function addOperatorRoutes(app: Hono, deps: OperatorDeps): void {
  const { s3, buckets, registry } = deps;

  /** The serving model of `?identifier=` (as /predict resolves it) and its evaluation's keys. */
  const servingOf = async (c: Context) => {
    const identifier = parseIdentifier(c.req.query("identifier"));
    const serving = await registry.lookup(identifier);
    const { card } = serving.model;
    return {
      identifier: identifier ?? registry.defaultIdentifier,
      scope: serving.model.identity.scope,
      card,
    };
  };
  const decisionOf = async (identifier: string, configHash: string) =>
    getJsonIfExists(
      s3,
      buckets.artifacts,
      evaluationKeys.decision(identifier, configHash),
      EvaluationDecision,
    );

  const pages = new Map<string, Buffer>();
  const page = (name: string) => (c: Context) => {
    let body = pages.get(name);
    if (!body) {
      body = readFileSync(join(here, "console", name));
      pages.set(name, body);
    }
    return c.body(new Uint8Array(body), 200, { "Content-Type": "text/html; charset=utf-8" });
  };
  const docsCache = new Map<string, Buffer>();
  registerRoutes(app, "operator", {
    modelsDecision: async (c) => {
      const { identifier, card } = await servingOf(c);
      const decision = await decisionOf(card.identifier, card.config_hash);
      if (!decision) throw noDecision(identifier);
      return c.json({ identifier, evaluated_identifier: card.identifier, decision });
    },
    modelsHistory: async (c) => {
      const { identifier, scope } = await servingOf(c);
      const items = await readHistory(s3, buckets.promotion, scope);
      return c.json({ identifier, scope, entries: items.map((i) => ({ key: i.key, ...i.entry })) });
    },
    modelsSeries: async (c) => {
      const { identifier, card } = await servingOf(c);
      const decision = await decisionOf(card.identifier, card.config_hash);
      if (!decision) throw noDecision(identifier);
      const bytes = await getBytesIfExists(
        s3,
        buckets.artifacts,
        evaluationKeys.seriesFor(card.identifier, card.config_hash, decision.generation),
      );
      if (!bytes) throw noDecision(identifier);
      return c.body(new Uint8Array(bytes), 200, { "Content-Type": "application/octet-stream" });
    },
    docs: page("docs.html"),
    docsAsset: (c) => serveFile(c, DOCS_ASSETS, docsCache),
  });
  if (deps.consoleEnabled) {
    const consoleCache = new Map<string, Buffer>();
    registerRoutes(app, "console", {
      console: page("console.html"),
      consoleAsset: (c) => serveFile(c, CONSOLE_ASSETS, consoleCache),
    });
  }
}
