/** The OpenAPI 3.1 document served at `/openapi.json`; request and response schemas come from zod. */
import { z } from "zod";

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
};

const PredictRequest = z.object({ data: Window, ...Envelope });
const BatchRequest = z.object({ windows: z.array(Window).min(1), ...Envelope });
const Prediction = z
  .object({ ts: z.string().describe("ISO 8601 UTC") })
  .catchall(z.number())
  .describe("one forecast step: a value per target in raw units");
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

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
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
const ex = (...examples: Example[]) => ({ "x-flts-examples": examples });
const badIdentifier: Example = {
  summary: "a malformed identifier",
  query: { identifier: "../x" },
  status: 400,
};
const identifierParam = [
  { name: "identifier", in: "query", required: false, schema: { type: "string" }, example: "PobleSec" },
];
const jsonOk = (description: string) => ({ "200": plain(description, "application/json"), ...errors });

/** The operator's routes (operator-routes.ts); `/console` only where the service serves it. */
function operatorPaths(routes: readonly string[]): Record<string, unknown> {
  const html = (summary: string) => ({
    get: { summary, responses: { "200": plain("page", "text/html") }, ...ex({ summary, status: 200 }) },
  });
  const asset = (summary: string, file: string) => ({
    get: {
      summary,
      parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" }, example: file }],
      responses: { "200": plain("file"), "404": problem("no such file") },
      "x-flts-path-example": { file },
      ...ex({ summary: `the file ${file}`, status: 200 }),
    },
  });
  const read = (summary: string, ok: Record<string, unknown>) => ({
    get: {
      summary,
      parameters: identifierParam,
      responses: { ...ok, "404": problem("no evaluation decision stored for the serving model") },
      ...ex({ summary: "the default identifier", status: 200 }, badIdentifier),
    },
  });
  const all: Record<string, unknown> = {
    "/models/decision": read("The latest evaluation decision of the serving model", {
      ...jsonOk("the decision record with its scoreboard"),
    }),
    "/models/history": {
      get: {
        summary: "The promotion history of the serving scope, oldest first (manual ones included)",
        parameters: identifierParam,
        responses: jsonOk("history entries"),
        ...ex({ summary: "the default identifier", status: 200 }, badIdentifier),
      },
    },
    "/models/series": read(
      "Per-window series of the latest decision (binary, functions/evaluate/series.ts)",
      { "200": plain("FLTSSER1 file", "application/octet-stream"), ...errors },
    ),
    "/docs": html("This API's documentation (Swagger UI over /openapi.json)"),
    "/docs/assets/{file}": asset("Files of /docs", "swagger-ui.css"),
    "/console": html("The forecast console"),
    "/console/assets/{file}": asset("Files of /console", "console.js"),
  };
  return Object.fromEntries(Object.entries(all).filter(([path]) => routes.includes(path)));
}

export function openApiDocument(version: string, routes: readonly string[] = []): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: "draft-2020-12" });
  const doc = {
    openapi: "3.1.0",
    info: { title: "FLTS inference", version },
    paths: {
      "/predict": {
        post: {
          summary: "Forecast one window",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { $ref: "#/components/schemas/PredictRequest" },
                example: { data: exampleData },
              },
            },
          },
          ...ex(
            { summary: "a window of the model's features", body: { data: exampleData }, status: 200 },
            { summary: "a window without ts", body: { data: { down: [1] } }, status: 400 },
          ),
          responses: {
            "200": {
              description: "forecast",
              content: {
                "application/json": { schema: { $ref: "#/components/schemas/PredictResponse" } },
              },
            },
            ...errors,
          },
        },
      },
      "/predict/batch": {
        post: {
          summary: "Forecast many windows in one request",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { $ref: "#/components/schemas/BatchRequest" },
                example: { windows: [exampleData, exampleData] },
              },
            },
          },
          ...ex(
            { summary: "two windows", body: { windows: [exampleData, exampleData] }, status: 200 },
            { summary: "no windows", body: { windows: [] }, status: 400 },
          ),
          responses: {
            "200": {
              description: "one forecast per window, in request order",
              content: { "application/json": { schema: { $ref: "#/components/schemas/BatchResponse" } } },
            },
            ...errors,
          },
        },
      },
      "/healthz": {
        get: {
          summary: "Liveness",
          responses: { "200": plain("alive", "application/json") },
          ...ex({ summary: "alive", status: 200 }),
        },
      },
      "/readyz": {
        get: {
          summary: "Readiness: 503 until the default model is loaded",
          responses: { "200": plain("ready", "application/json"), "503": problem("not ready") },
          ...ex({ summary: "with a model loaded", status: 200 }),
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": plain("metrics") },
          ...ex({ summary: "the metrics", status: 200 }),
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          responses: { "200": plain("OpenAPI 3.1", "application/json") },
          ...ex({ summary: "the document", status: 200 }),
        },
      },
      ...operatorPaths(routes),
      "/models/current": {
        get: {
          summary: "The serving model's card, pointer and scoreboard",
          parameters: identifierParam,
          responses: {
            "200": plain("model", "application/json"),
            "400": problem("malformed or unknown identifier"),
            "503": problem("no model loaded yet; see Retry-After"),
          },
          ...ex({ summary: "the default identifier", status: 200 }, badIdentifier),
        },
      },
    },
    components: {
      schemas: {
        PredictRequest: schema(PredictRequest),
        BatchRequest: schema(BatchRequest),
        PredictResponse: schema(PredictResponse),
        BatchResponse: schema(BatchResponse),
        Problem: schema(ProblemDoc),
      },
    },
  };
  const missing = routes.filter((r) => !(r in doc.paths));
  if (missing.length) throw new Error(`routes missing from the OpenAPI document: ${missing.join(", ")}`);
  return doc;
}
