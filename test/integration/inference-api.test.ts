/**
 * The HTTP API on real onnxruntime sessions of the trainer's exported fixture models, loaded from
 * MinIO through promotion pointers: forecasts equal the trainer's expected outputs, and every kind
 * of bad input gets its status and a problem body naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchResponse, PredictResponse } from "../../functions/inference/predict.ts";
import type { ProblemBody } from "../../functions/inference/problem.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { expectClose as expectCloseTo } from "../close.ts";
import {
  cardOf,
  expectedOf,
  type FixtureType,
  post,
  publishFixture,
  startService,
  unique,
  waitReady,
  windowData,
} from "./inference-harness.ts";

const identifiers = {
  gru: unique("inf-api-gru"),
  lstm: unique("inf-api-lstm"),
  prophet: unique("inf-api-prophet"),
} satisfies Record<Exclude<FixtureType, "linear30">, string>;
const runIds = {
  gru: unique("inf-api-run-gru"),
  lstm: unique("inf-api-run-lstm"),
  prophet: unique("inf-api-run-prophet"),
} satisfies Record<Exclude<FixtureType, "linear30">, string>;
const BODY_LIMIT = 64 * 1024;

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, { required?: string[] }> };
}
interface ModelsCurrent {
  run_id: string;
  card: Record<string, unknown>;
  pointer: { model_uri: string };
}
const json = <T>(res: Response): Promise<T> => res.json() as Promise<T>;

let service: InferenceService;

beforeAll(async () => {
  for (const type of ["gru", "lstm", "prophet"] as const) {
    await publishFixture(type, runIds[type], identifiers[type]);
  }
  service = await startService({
    MODEL_IDENTIFIER: identifiers.gru,
    GLOBAL_FALLBACK: "0",
    KAFKA_LISTEN: "0",
    POINTER_POLL_MS: "0",
    BODY_LIMIT_BYTES: String(BODY_LIMIT),
    CACHE_SIZE: "16",
  });
  await waitReady(service);
});

afterAll(async () => {
  await service?.stop();
});

const expectClose = (actual: number, want: number) => expectCloseTo(actual, want, 1e-5);

describe("forecasts", () => {
  it("/readyz names the loaded run", async () => {
    const res = await fetch(`${service.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ready", run_id: runIds.gru, model_type: "GRU" });
  });

  for (const type of ["gru", "lstm", "prophet"] as const) {
    it(`POST /predict answers the trainer's expected ${type} outputs, one window at a time`, async () => {
      const expected = expectedOf(type);
      const card = cardOf(type);
      for (let i = 0; i < expected.x.length; i++) {
        const res = await post(service, "/predict", {
          identifier: identifiers[type],
          data: windowData(type, i),
        });
        expect(res.status).toBe(200);
        const body = await json<PredictResponse>(res);
        expect(body).toMatchObject({
          status: "SUCCESS",
          run_id: runIds[type],
          model_type: card.model_type,
          identifier: identifiers[type],
        });
        expect(body.predictions).toHaveLength(card.horizon);
        const t = expected.t[i] as number[];
        body.predictions.forEach((p, k) => {
          expect(p.ts).toBe(new Date((t[k] as number) * 1000).toISOString().replace(".000Z", "Z"));
          card.targets.forEach((target, j) => {
            expectClose(p[target] as number, (expected.y[i] as number[][])[k]?.[j] as number);
          });
        });
      }
    });
  }

  it("POST /predict/batch stacks many windows and splits the answers back in order", async () => {
    const expected = expectedOf("prophet");
    const windows = expected.x.map((_, i) => windowData("prophet", i));
    const res = await post(service, "/predict/batch", { identifier: identifiers.prophet, windows });
    expect(res.status).toBe(200);
    const body = await json<BatchResponse>(res);
    expect(body.run_id).toBe(runIds.prophet);
    expect(body.forecasts).toHaveLength(windows.length);
    body.forecasts.forEach((f, i) => {
      expectClose(f.predictions[0]?.down as number, (expected.y[i] as number[][])[0]?.[0] as number);
      expectClose(f.predictions[0]?.up as number, (expected.y[i] as number[][])[0]?.[1] as number);
    });
  });

  it("accepts Unix seconds and zone-less timestamps as UTC, and uses only the LAST window rows", async () => {
    const iso = windowData("gru", 3);
    const reference = await json<PredictResponse>(await post(service, "/predict", { data: iso }));
    const unix = { ...iso, ts: (iso.ts as string[]).map((s) => Date.parse(s) / 1000) };
    const zoneless = {
      ...iso,
      ts: (iso.ts as string[]).map((s) => s.replace(".000Z", "").replace("T", " ")),
    };
    // Two extra leading rows that the model must not see.
    const longer: Record<string, unknown> = {};
    for (const [key, column] of Object.entries(iso)) {
      const values = column as unknown[];
      longer[key] =
        key === "ts"
          ? [
              Date.parse(values[0] as string) / 1000 - 240,
              Date.parse(values[0] as string) / 1000 - 120,
              ...values.map((s) => Date.parse(s as string) / 1000),
            ]
          : [1e12, 5e11, ...values];
    }
    for (const data of [unix, zoneless, longer]) {
      const res = await post(service, "/predict", { data });
      expect(res.status).toBe(200);
      expect((await json<PredictResponse>(res)).predictions).toEqual(reference.predictions);
    }
  });

  it("answers a repeated request from the cache with the same forecast", async () => {
    const data = windowData("gru", 5);
    const first = await json<PredictResponse>(await post(service, "/predict", { data }));
    const hitsBefore = await cacheHits();
    const second = await json<PredictResponse>(await post(service, "/predict", { data }));
    expect(second).toEqual(first);
    expect(await cacheHits()).toBe(hitsBefore + 1);
  });
});

async function cacheHits(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^inference_cache_hits_total (\S+)$/m.exec(text)?.[1]);
}

describe("bad input: 400 problem+json naming the field", () => {
  const good = () => windowData("gru", 0);
  /** A good window with one cell of `column` replaced by `value`. */
  const withCell = (column: string, index: number, value: unknown) => () => {
    const data = good();
    (data[column] as unknown[])[index] = value;
    return { data };
  };
  const cases: { name: string; body: () => unknown; field: string }[] = [
    { name: "missing data", body: () => ({}), field: "data" },
    {
      name: "missing feature array",
      body: () => ({ data: { ...good(), down: undefined } }),
      field: "data.down",
    },
    { name: "missing ts", body: () => ({ data: { ...good(), ts: undefined } }), field: "data.ts" },
    {
      name: "short arrays",
      body: () => {
        const data = good();
        for (const key of Object.keys(data)) data[key] = (data[key] as unknown[]).slice(0, 5);
        return { data };
      },
      field: "data.ts",
    },
    { name: "non-number", body: withCell("up", 4, "12"), field: "data.up" },
    { name: "NaN (null in JSON)", body: withCell("rnti_count", 2, null), field: "data.rnti_count" },
    { name: "NaN as a string", body: withCell("down", 0, "NaN"), field: "data.down" },
    {
      name: "unequal lengths",
      body: () => {
        const data = good();
        (data.mcs_up as unknown[]).push(1);
        return { data };
      },
      field: "data.mcs_up",
    },
    { name: "unparseable timestamp", body: withCell("ts", 1, "yesterday"), field: "data.ts" },
    { name: "horizon over the model's", body: () => ({ data: good(), horizon: 2 }), field: "horizon" },
    { name: "horizon not an integer", body: () => ({ data: good(), horizon: 0.5 }), field: "horizon" },
    {
      name: "malformed identifier",
      body: () => ({ data: good(), identifier: "../etc" }),
      field: "identifier",
    },
    {
      name: "unknown identifier",
      body: () => ({ data: good(), identifier: unique("nobody") }),
      field: "identifier",
    },
    { name: "malformed JSON", body: () => '{"data": {"ts": [1, 2', field: "(body)" },
    { name: "JSON that is not an object", body: () => "[1, 2, 3]", field: "(body)" },
  ];

  for (const c of cases) {
    it(`${c.name} → 400 naming ${c.field}`, async () => {
      const res = await post(service, "/predict", c.body());
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = await json<ProblemBody>(res);
      expect(problem).toMatchObject({ status: 400, field: c.field });
      expect(problem.type).toMatch(/^urn:flts:problem:/);
      expect(problem.detail).toContain(c.field === "(body)" ? "" : c.field);
    });
  }

  it("names the window in the batch form", async () => {
    const bad = good();
    (bad.down as unknown[])[9] = true;
    const res = await post(service, "/predict/batch", { windows: [good(), bad] });
    expect(res.status).toBe(400);
    expect((await json<ProblemBody>(res)).field).toBe("windows[1].down");
  });

  it("rejects an empty batch naming windows", async () => {
    const res = await post(service, "/predict/batch", { windows: [] });
    expect(res.status).toBe(400);
    expect((await json<ProblemBody>(res)).field).toBe("windows");
  });

  it("body over the limit → 413 problem", async () => {
    const res = await post(service, "/predict", { data: good(), padding: "x".repeat(BODY_LIMIT) });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await json<ProblemBody>(res)).status).toBe(413);
  });

  it("counts the 400s by route and status in /metrics", async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toMatch(/http_requests_total\{route="\/predict",method="POST",status="400"\} [1-9]/);
    expect(text).toMatch(/http_requests_total\{route="\/predict",method="POST",status="413"\} 1/);
  });
});

describe("documents", () => {
  it("/metrics exposes latency, queue, batch sizes and the served model", async () => {
    const res = await fetch(`${service.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/inference_latency_seconds_count\{route="\/predict"\} [1-9]/);
    expect(text).toMatch(/^inference_queue_len 0$/m);
    expect(text).toMatch(/^inference_batch_size_count [1-9]/m);
    expect(text).toContain(
      `model_info{identifier="${identifiers.gru}",run_id="${runIds.gru}",model_type="GRU"} 1`,
    );
    expect(text).toContain(`run_id="${runIds.prophet}",model_type="PROPHET"} 1`);
  });

  it("/models/current returns the card and pointer of the identifier's model", async () => {
    const res = await fetch(`${service.url}/models/current?identifier=${identifiers.lstm}`);
    expect(res.status).toBe(200);
    const body = await json<ModelsCurrent>(res);
    expect(body).toMatchObject({ run_id: runIds.lstm, model_type: "LSTM", scope: identifiers.lstm });
    expect(body.card).toMatchObject({ run_id: runIds.lstm, window: 10, targets: ["down", "up"] });
    expect(body.pointer.model_uri).toContain(`runs/${runIds.lstm}/model.onnx`);
  });

  it("/openapi.json documents the routes and the request schema", async () => {
    const doc = await json<OpenApiDoc>(await fetch(`${service.url}/openapi.json`));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/predict",
        "/predict/batch",
        "/healthz",
        "/readyz",
        "/metrics",
        "/models/current",
      ]),
    );
    expect(doc.components.schemas.PredictRequest?.required).toContain("data");
  });

  it("/healthz answers 200 and unknown routes a 404 problem", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const res = await fetch(`${service.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
