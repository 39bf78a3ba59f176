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

export function openApiDocument(version: string): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: "draft-2020-12" });
  return {
    openapi: "3.1.0",
    info: { title: "FLTS inference", version },
    paths: {
      "/predict": {
        post: {
          summary: "Forecast one window",
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/PredictRequest" } } },
          },
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
            content: { "application/json": { schema: { $ref: "#/components/schemas/BatchRequest" } } },
          },
          responses: {
            "200": {
              description: "one forecast per window, in request order",
              content: { "application/json": { schema: { $ref: "#/components/schemas/BatchResponse" } } },
            },
            ...errors,
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": plain("alive", "application/json") } } },
      "/readyz": {
        get: {
          summary: "Readiness: 503 until the default model is loaded",
          responses: { "200": plain("ready", "application/json"), "503": problem("not ready") },
        },
      },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": plain("metrics") } } },
      "/models/current": {
        get: {
          summary: "The serving model's card, pointer and scoreboard",
          parameters: [{ name: "identifier", in: "query", required: false, schema: { type: "string" } }],
          responses: {
            "200": plain("model", "application/json"),
            "400": problem("malformed or unknown identifier"),
            "503": problem("no model loaded yet; see Retry-After"),
          },
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
}
