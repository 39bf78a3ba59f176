/**
 * Backpressure and availability on a real model: queue full → 429 with Retry-After, queued past
 * the TTL → 503, no model yet → 503 (and /readyz 503 until the pointer appears), concurrent
 * requests micro-batched into shared ONNX runs.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ProblemBody } from "../../functions/inference/problem.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import {
  post,
  publishFixture,
  serveFixture,
  startService,
  unique,
  waitReady,
  windowData,
} from "./inference-harness.ts";

const services: InferenceService[] = [];

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

async function serviceWithModel(env: Record<string, string>): Promise<InferenceService> {
  const service = await serveFixture(unique("inf-bp"), unique("inf-bp-run"), env);
  services.push(service);
  return service;
}

async function problemOf(res: Response): Promise<ProblemBody> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as ProblemBody;
}

describe("backpressure", () => {
  it("queue full → 429 with Retry-After", async () => {
    const service = await serviceWithModel({ QUEUE_MAX: "1" });
    const windows = [windowData("gru", 0), windowData("gru", 1)];
    const res = await post(service, "/predict/batch", { windows });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await problemOf(res)).toMatchObject({ status: 429, type: "urn:flts:problem:queue-full" });
    // One window fits: the queue is bounded, not broken.
    expect((await post(service, "/predict", { data: windows[0] })).status).toBe(200);
  });

  it("queued past its TTL → 503", async () => {
    // Every job waits the 300 ms batch window, longer than its 50 ms TTL.
    const service = await serviceWithModel({ BATCH_WINDOW_MS: "300", QUEUE_TTL_MS: "50" });
    const res = await post(service, "/predict", { data: windowData("gru", 2) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await problemOf(res)).toMatchObject({ status: 503, type: "urn:flts:problem:queue-timeout" });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^inference_queue_len 0$/m);
  });

  it("stacks concurrent requests into shared ONNX runs and answers each its own forecast", async () => {
    const service = await serviceWithModel({ BATCH_WINDOW_MS: "20", MAX_BATCH: "64" });
    const bodies = Array.from({ length: 32 }, (_, i) => ({ data: windowData("gru", i % 8) }));
    const answers = await Promise.all(
      bodies.map(
        async (body) =>
          (await (await post(service, "/predict", body)).json()) as { predictions: { down: number }[] },
      ),
    );
    const single = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await post(service, "/predict", { data: windowData("gru", i) });
        return ((await res.json()) as { predictions: { down: number }[] }).predictions[0]?.down;
      }),
    );
    answers.forEach((a, i) => {
      const expected = single[i % 8] as number;
      expect(Math.abs((a.predictions[0]?.down as number) - expected)).toBeLessThanOrEqual(1e-5 * expected);
    });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const runs = Number(/^inference_batch_size_count (\S+)$/m.exec(metrics)?.[1]);
    const windows = Number(/^inference_batch_size_sum (\S+)$/m.exec(metrics)?.[1]);
    // Warm-up is not counted; 40 windows went through fewer ONNX runs than requests.
    expect(windows).toBe(40);
    expect(runs).toBeLessThan(40);
  });
});

describe("no model yet", () => {
  it("/readyz and /predict answer 503 until a pointer appears, then the model serves", async () => {
    const identifier = unique("inf-nomodel");
    // Listening without waiting for a model, as after READY_WAIT_MS without a pointer.
    const service = await startService({
      MODEL_IDENTIFIER: identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "0",
      POINTER_POLL_MS: "0",
      READY_WAIT_MS: "0",
    });
    services.push(service);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await problemOf(ready)).toMatchObject({ type: "urn:flts:problem:no-model" });
    const res = await post(service, "/predict", { data: windowData("gru", 0) });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await problemOf(res)).toMatchObject({ status: 503, type: "urn:flts:problem:no-model" });

    const runId = unique("inf-nomodel-run");
    await publishFixture("gru", runId, identifier);
    await waitReady(service);
    const after = await post(service, "/predict", { data: windowData("gru", 0) });
    expect(after.status).toBe(200);
    expect(((await after.json()) as { run_id: string }).run_id).toBe(runId);
  });
});
