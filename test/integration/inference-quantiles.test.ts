/**
 * Quantiles over HTTP on real onnxruntime sessions loaded from MinIO: the LINEAR horizon-30 fixture
 * answers each step's quantiles (equal to the trainer's) on /predict and /predict/batch when asked;
 * bad `quantiles` and quantiles from a model without them are 400s naming the field; the cache
 * never hands an answer with quantiles to a request without, nor the reverse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchResponse, PredictResponse } from "../../functions/inference/predict.ts";
import type { ProblemBody } from "../../functions/inference/problem.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { expectClose as expectCloseTo } from "../close.ts";
import {
  cardOf,
  expectedOf,
  post,
  publishFixture,
  startService,
  unique,
  waitReady,
  windowData,
} from "./inference-harness.ts";

const linear = { identifier: unique("inf-q-linear"), runId: unique("inf-q-run-linear") };
const gru = { identifier: unique("inf-q-gru"), runId: unique("inf-q-run-gru") };
const LEVELS = ["0.1", "0.5", "0.9"];
const json = <T>(res: Response): Promise<T> => res.json() as Promise<T>;
type StepQuantiles = Record<string, Record<string, number>>;

let service: InferenceService;

beforeAll(async () => {
  await publishFixture("linear30", linear.runId, linear.identifier);
  await publishFixture("gru", gru.runId, gru.identifier);
  service = await startService({
    MODEL_IDENTIFIER: linear.identifier,
    GLOBAL_FALLBACK: "0",
    KAFKA_LISTEN: "0",
    POINTER_POLL_MS: "0",
    CACHE_SIZE: "16",
  });
  await waitReady(service);
});

afterAll(async () => {
  await service?.stop();
});

const expectClose = (actual: number, want: number) => expectCloseTo(actual, want, 1e-4);

const expected = expectedOf("linear30");
const card = cardOf("linear30");

/** Checks window `i`'s answer: values and, when `withQuantiles`, every step's quantiles. */
function expectWindow(
  predictions: PredictResponse["predictions"],
  i: number,
  steps: number,
  withQuantiles: boolean,
): void {
  expect(predictions).toHaveLength(steps);
  predictions.forEach((p, k) => {
    card.targets.forEach((target, j) => {
      expectClose(p[target] as number, (expected.y[i] as number[][])[k]?.[j] as number);
    });
    if (!withQuantiles) {
      expect(p).not.toHaveProperty("quantiles");
      return;
    }
    const quantiles = p.quantiles as StepQuantiles;
    expect(Object.keys(quantiles)).toEqual(card.targets);
    card.targets.forEach((target, j) => {
      expect(Object.keys(quantiles[target] as object)).toEqual(LEVELS);
      LEVELS.forEach((level, l) => {
        expectClose(quantiles[target]?.[level] as number, expected.q?.[i]?.[k]?.[j]?.[l] as number);
      });
    });
  });
}

async function problemOf(res: Response): Promise<ProblemBody> {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return json<ProblemBody>(res);
}

describe("quantiles", () => {
  it("POST /predict with quantiles answers all 30 steps with the trainer's quantiles", async () => {
    expect(card.horizon).toBe(30);
    for (let i = 0; i < expected.x.length; i++) {
      const res = await post(service, "/predict", { data: windowData("linear30", i), quantiles: true });
      expect(res.status).toBe(200);
      const body = await json<PredictResponse>(res);
      expect(body).toMatchObject({ status: "SUCCESS", run_id: linear.runId, model_type: "LINEAR" });
      expectWindow(body.predictions, i, 30, true);
    }
  });

  it("honours a shorter horizon and answers no quantiles unless asked", async () => {
    const short = await json<PredictResponse>(
      await post(service, "/predict", { data: windowData("linear30", 1), horizon: 5, quantiles: true }),
    );
    expectWindow(short.predictions, 1, 5, true);
    for (const body of [
      { data: windowData("linear30", 2) },
      { data: windowData("linear30", 2), quantiles: false },
    ]) {
      expectWindow(
        (await json<PredictResponse>(await post(service, "/predict", body))).predictions,
        2,
        30,
        false,
      );
    }
  });

  it("POST /predict/batch carries each window's quantiles, in request order", async () => {
    const windows = expected.x.map((_, i) => windowData("linear30", i));
    const res = await post(service, "/predict/batch", { windows, quantiles: true });
    expect(res.status).toBe(200);
    const body = await json<BatchResponse>(res);
    expect(body.forecasts).toHaveLength(windows.length);
    body.forecasts.forEach((f, i) => {
      expectWindow(f.predictions, i, 30, true);
    });
    const plain = await json<BatchResponse>(
      await post(service, "/predict/batch", { windows: windows.slice(0, 2) }),
    );
    plain.forecasts.forEach((f, i) => {
      expectWindow(f.predictions, i, 30, false);
    });
  });

  it("the cache never mixes answers with and without quantiles", async () => {
    const data = windowData("linear30", 6);
    const without = await json<PredictResponse>(await post(service, "/predict", { data }));
    const hits = await cacheHits();
    const withQ = await json<PredictResponse>(await post(service, "/predict", { data, quantiles: true }));
    const againWithout = await json<PredictResponse>(await post(service, "/predict", { data }));
    const againWith = await json<PredictResponse>(await post(service, "/predict", { data, quantiles: true }));
    expect(await cacheHits()).toBe(hits + 3);
    expectWindow(without.predictions, 6, 30, false);
    expectWindow(withQ.predictions, 6, 30, true);
    expect(againWithout).toEqual(without);
    expect(againWith).toEqual(withQ);
  });

  it("anything but a boolean is a 400 naming quantiles, on both routes", async () => {
    for (const bad of ["true", 1, null, [0.1, 0.9], { "0.5": true }]) {
      const one = await problemOf(
        await post(service, "/predict", { data: windowData("linear30", 0), quantiles: bad }),
      );
      expect(one.field).toBe("quantiles");
      const many = await problemOf(
        await post(service, "/predict/batch", { windows: [windowData("linear30", 0)], quantiles: bad }),
      );
      expect(many.field).toBe("quantiles");
    }
  });

  it("quantiles from a model without them is a 400 naming quantiles and the reason; without, it serves", async () => {
    const data = windowData("gru", 0);
    const problem = await problemOf(
      await post(service, "/predict", { identifier: gru.identifier, data, quantiles: true }),
    );
    expect(problem.field).toBe("quantiles");
    expect(problem.detail).toContain(`${gru.runId} has no quantile output`);
    const batch = await problemOf(
      await post(service, "/predict/batch", { identifier: gru.identifier, windows: [data], quantiles: true }),
    );
    expect(batch.field).toBe("quantiles");
    const res = await post(service, "/predict", { identifier: gru.identifier, data, quantiles: false });
    expect(res.status).toBe(200);
    expect((await json<PredictResponse>(res)).predictions[0]).not.toHaveProperty("quantiles");
  });

  it("/openapi.json documents the quantiles field and answer", async () => {
    const doc = (
      await json<{ components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>(
        await fetch(`${service.url}/openapi.json`),
      )
    ).components.schemas;
    expect(doc.PredictRequest?.properties).toHaveProperty("quantiles");
    expect(doc.BatchRequest?.properties).toHaveProperty("quantiles");
    expect(JSON.stringify(doc.PredictResponse)).toContain("quantiles");
  });
});

async function cacheHits(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^inference_cache_hits_total (\S+)$/m.exec(text)?.[1]);
}
