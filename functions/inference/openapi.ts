/**
 * The OpenAPI 3.1 document served at `/openapi.json`: paths, summaries and schema references from
 * the route table (routes.ts), each operation's parameters, answers and examples here; request and
 * response schemas come from zod.
 */
import { z } from "zod";
import type { OperationId, Route, SchemaName } from "./routes.ts";

const Column = z.array(z.number()).describe("one value per row, same length as ts");
const Window = z
  .object({
    ts: z
      .array(z.union([z.string(), z.number()]))
      .describe("ISO 8601 (no zone means UTC) or Unix seconds, increasing"),
  })
  .catchall(Column)
  .describe("every feature of the model card as an array; the LAST `window` rows are used");

const Envelope = {
  identifier: z.string().optional().describe("default: the service's MODEL_IDENTIFIER"),
  horizon: z.number().int().positive().optional().describe("steps to return, at most the model's horizon"),
  quantiles: z
    .boolean()
    .optional()
    .describe("true: each step also carries its quantiles (a 400 when the model's card lists none)"),
};

const PredictRequest = z.object({ data: Window, ...Envelope });
const BatchRequest = z.object({ windows: z.array(Window).min(1), ...Envelope });
const StepQuantiles = z
  .record(z.string(), z.record(z.string(), z.number().nullable()))
  .describe('per target, per level of the model card\'s `quantiles` (e.g. "0.1"): the value in raw units');
const Prediction = z
  .object({ ts: z.string().describe("ISO 8601 UTC"), quantiles: StepQuantiles.optional() })
  .catchall(z.number())
  .describe("one forecast step: a value per target in raw units; `quantiles` when asked for");
const Answer = {
  status: z.literal("SUCCESS"),
  run_id: z.string(),
  model_type: z.string(),
  identifier: z.string(),
};
const PredictResponse = z.object({ ...Answer, predictions: z.array(Prediction) });
const BatchResponse = z.object({
  ...Answer,
  forecasts: z.array(z.object({ predictions: z.array(Prediction) })),
});
const ProblemDoc = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  field: z.string().optional().describe("the request field at fault, e.g. data.down"),
});

const ref = (name: SchemaName | "Problem") => ({ $ref: `#/components/schemas/${name}` });

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});

const errors = {
  "400": problem("invalid input; `field` names the offending field"),
  "405": problem("a method this route does not answer; see Allow"),
  "408": problem("the body did not arrive in time; the connection is closed"),
  "413": problem("body over the size limit"),
  "429": problem("queue full; see Retry-After"),
  "503": problem("no model loaded, queued past its TTL, or shutting down; see Retry-After"),
};

const plain = (description: string, type = "text/plain") => ({
  description,
  content: { [type]: { schema: { type: "string" } } },
});

const ROW = [62954024, 403096, 3799, 15.09, 88.23, 15.56, 18.48, 0.0105, 4.4e-8, 0.00012, 2.8e-9];
const FEATURES = ["down", "up", "rnti_count", "mcs_down", "mcs_down_var", "mcs_up", "mcs_up_var"];
const MORE = ["rb_down", "rb_down_var", "rb_up", "rb_up_var"];
/** A 10-row window of the reference data's 11 columns (the pipeline's models take these). */
const exampleData: Record<string, unknown> = {
  ts: Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2018, 1, 26, 0, 34 + 2 * i)).toISOString()),
};
[...FEATURES, ...MORE].forEach((name, f) => {
  exampleData[name] = Array.from({ length: 10 }, (_, i) => (ROW[f] as number) * (1 + i / 100));
});

/** `x-flts-examples`: requests the API test sends, each with the status it must answer. */
interface Example {
  summary: string;
  query?: Record<string, string>;
  body?: unknown;
  status: number;
}
const badIdentifier: Example = {
  summary: "a malformed identifier",
  query: { identifier: "../x" },
  status: 400,
};
const identifierParam = [
  { name: "identifier", in: "query", required: false, schema: { type: "string" }, example: "PobleSec" },
];
const jsonOk = (description: string) => ({ "200": plain(description, "application/json"), ...errors });

/** What the route table does not say about an operation. */
interface Operation {
  parameters?: unknown[];
  /** The request body's example (the route's `request` gives its schema). */
  body?: unknown;
  /** Every answer; a route with a `response` schema gets its 200 from `ok`. */
  responses: Record<string, unknown>;
  ok?: string;
  examples: Example[];
  /** A value per path parameter for the examples. */
  pathExample?: Record<string, string>;
}

const html: Operation = {
  responses: { "200": plain("page", "text/html") },
  examples: [{ summary: "the page", status: 200 }],
};
const asset = (file: string): Operation => ({
  parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" }, example: file }],
  responses: { "200": plain("file"), "404": problem("no such file") },
  pathExample: { file },
  examples: [{ summary: `the file ${file}`, status: 200 }],
});
const read = (ok: Record<string, unknown>): Operation => ({
  parameters: identifierParam,
  responses: { ...ok, "404": problem("no evaluation decision stored for the serving model") },
  examples: [{ summary: "the default identifier", status: 200 }, badIdentifier],
});

const OPERATIONS: Record<OperationId, Operation> = {
  predict: {
    body: { data: exampleData },
    ok: "forecast",
    responses: errors,
    examples: [
      { summary: "a window of the model's features", body: { data: exampleData }, status: 200 },
      { summary: "a window without ts", body: { data: { down: [1] } }, status: 400 },
      {
        summary: "quantiles that is not a boolean",
        body: { data: exampleData, quantiles: "yes" },
        status: 400,
      },
    ],
  },
  predictBatch: {
    body: { windows: [exampleData, exampleData] },
    ok: "one forecast per window, in request order",
    responses: errors,
    examples: [
      { summary: "two windows", body: { windows: [exampleData, exampleData] }, status: 200 },
      { summary: "no windows", body: { windows: [] }, status: 400 },
    ],
  },
  healthz: {
    responses: { "200": plain("alive", "application/json") },
    examples: [{ summary: "alive", status: 200 }],
  },
  readyz: {
    responses: { "200": plain("ready", "application/json"), "503": problem("not ready") },
    examples: [{ summary: "with a model loaded", status: 200 }],
  },
  metrics: { responses: { "200": plain("metrics") }, examples: [{ summary: "the metrics", status: 200 }] },
  modelsCurrent: {
    parameters: identifierParam,
    responses: {
      "200": plain("model", "application/json"),
      "400": problem("malformed or unknown identifier"),
      "503": problem("no model loaded yet; see Retry-After"),
    },
    examples: [{ summary: "the default identifier", status: 200 }, badIdentifier],
  },
  openapi: {
    responses: { "200": plain("OpenAPI 3.1", "application/json") },
    examples: [{ summary: "the document", status: 200 }],
  },
  modelsDecision: read(jsonOk("the decision record with its scoreboard")),
  modelsHistory: {
    parameters: identifierParam,
    responses: jsonOk("history entries"),
    examples: [{ summary: "the default identifier", status: 200 }, badIdentifier],
  },
  modelsSeries: read({ "200": plain("FLTSSER1 file", "application/octet-stream"), ...errors }),
  docs: html,
  docsAsset: asset("swagger-ui.css"),
  console: html,
  consoleAsset: asset("console.js"),
};

function operation(route: Route): Record<string, unknown> {
  const op = OPERATIONS[route.id as OperationId];
  return {
    operationId: route.id,
    summary: route.summary,
    ...(op.parameters ? { parameters: op.parameters } : {}),
    ...(route.request
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref(route.request), example: op.body } },
          },
        }
      : {}),
    responses: route.response
      ? {
          "200": { description: op.ok, content: { "application/json": { schema: ref(route.response) } } },
          ...op.responses,
        }
      : op.responses,
    ...(op.pathExample ? { "x-flts-path-example": op.pathExample } : {}),
    "x-flts-examples": op.examples,
  };
}

/** The document of the routes a service serves (routes.ts servedRoutes). */
export function openApiDocument(version: string, routes: readonly Route[]): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: "draft-2020-12" });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  const schemas: Record<SchemaName | "Problem", unknown> = {
    PredictRequest: schema(PredictRequest),
    BatchRequest: schema(BatchRequest),
    PredictResponse: schema(PredictResponse),
    BatchResponse: schema(BatchResponse),
    Problem: schema(ProblemDoc),
  };
  return { openapi: "3.1.0", info: { title: "FLTS inference", version }, paths, components: { schemas } };
}
