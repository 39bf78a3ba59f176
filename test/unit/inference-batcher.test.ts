/**
 * Micro-batching and model leases on a real onnxruntime session of the trainer's GRU fixture:
 * stacked windows give each caller its own forecast, the queue is bounded, expired jobs get 503,
 * and a retired model keeps its session until the last lease is returned.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelCard } from "../../functions/common/contracts.ts";
import { MicroBatcher, QueueBudget } from "../../functions/inference/batcher.ts";
import { LoadedModel } from "../../functions/inference/model.ts";
import { Problem } from "../../functions/inference/problem.ts";
import { fixtureModel } from "./fixture-model.ts";

const { card, onnx, expected, identity, xOf, tOf } = fixtureModel("gru");

let model: LoadedModel;
beforeAll(async () => {
  model = await LoadedModel.create(identity, card, onnx, { intraOpThreads: 1, worker: false });
});
afterAll(async () => {
  await model?.retire();
});

function batcher(settings: { maxBatch?: number; windowMs?: number; ttlMs?: number; queueMax?: number } = {}) {
  const runs: { windows: number; jobs: number }[] = [];
  const budget = new QueueBudget(settings.queueMax ?? 1000);
  const b = new MicroBatcher(
    model.forecastAll,
    {
      maxBatch: settings.maxBatch ?? 64,
      windowMs: settings.windowMs ?? 0,
      ttlMs: settings.ttlMs ?? 10_000,
      ...model.sizes,
    },
    budget,
    (run) => runs.push(run),
  );
  return { b, runs, budget };
}

function expectForecast(y: Float32Array, i: number): void {
  const want = (expected.y[i] as number[][]).flat();
  expect(y).toHaveLength(want.length);
  want.forEach((v, j) => {
    expect(Math.abs((y[j] as number) - v)).toBeLessThanOrEqual(1e-5 * Math.abs(v));
  });
}

describe("MicroBatcher", () => {
  it("stacks jobs submitted together into one ONNX run and splits the answers back", async () => {
    const { b, runs, budget } = batcher();
    const ys = await Promise.all(expected.x.map((_, i) => b.submit(xOf(i), tOf(i), 1)));
    expect(runs).toEqual([{ windows: 8, jobs: 8 }]);
    ys.forEach(({ y, q }, i) => {
      expectForecast(y, i);
      expect(q).toBeNull();
    });
    expect(budget.used).toBe(0);
  });

  it("runs multi-window jobs and never exceeds maxBatch across jobs", async () => {
    const { b, runs } = batcher({ maxBatch: 3 });
    const pair = (i: number) => {
      const x = new Float32Array(2 * model.xSize);
      x.set(xOf(i), 0);
      x.set(xOf(i + 1), model.xSize);
      const t = new Float64Array(2 * card.horizon);
      t.set(tOf(i), 0);
      t.set(tOf(i + 1), card.horizon);
      return b.submit(x, t, 2);
    };
    const [a, c, d] = await Promise.all([pair(0), pair(2), b.submit(xOf(4), tOf(4), 1)]);
    expect(runs.map((r) => r.windows)).toEqual([2, 3]);
    expectForecast(a.y.subarray(0, model.ySize), 0);
    expectForecast(a.y.subarray(model.ySize), 1);
    expectForecast(c.y.subarray(model.ySize), 3);
    expectForecast(d.y, 4);
  });

  it("rejects with 429 and Retry-After when the shared queue is full", async () => {
    const { b } = batcher({ queueMax: 2 });
    const accepted = [b.submit(xOf(0), tOf(0), 1), b.submit(xOf(1), tOf(1), 1)];
    const rejected = b.submit(xOf(2), tOf(2), 1);
    await expect(rejected).rejects.toBeInstanceOf(Problem);
    await rejected.catch((problem: Problem) => {
      expect(problem.status).toBe(429);
      expect(problem.headers["Retry-After"]).toBe("1");
    });
    await Promise.all(accepted);
  });

  it("answers 503 for jobs that waited longer than their TTL, and frees their queue slots", async () => {
    const { b, budget, runs } = batcher({ windowMs: 60, ttlMs: 5 });
    const job = b.submit(xOf(0), tOf(0), 1);
    await expect(job).rejects.toMatchObject({ status: 503, slug: "queue-timeout" });
    expect(budget.used).toBe(0);
    expect(runs).toEqual([]);
  });

  it("fails every job of a batch whose run fails, and frees the queue", async () => {
    const budget = new QueueBudget(10);
    const failing = new MicroBatcher(
      () => Promise.reject(new Error("boom")),
      { maxBatch: 8, windowMs: 0, ttlMs: 1000, ...model.sizes },
      budget,
    );
    const jobs = [failing.submit(xOf(0), tOf(0), 1), failing.submit(xOf(1), tOf(1), 1)];
    for (const job of jobs) await expect(job).rejects.toThrow("boom");
    expect(budget.used).toBe(0);
  });
});

describe("LoadedModel", () => {
  it("keeps a retired session until its last lease is returned, and refuses new leases", async () => {
    const m = await LoadedModel.create(identity, card, onnx, { intraOpThreads: 1, worker: false });
    expect(m.acquire()).toBe(true);
    let released = false;
    const retired = m.retire().then(() => {
      released = true;
    });
    expect(m.acquire()).toBe(false);
    // The lease is still out: a run on the retired session still works.
    expectForecast(await m.forecast(xOf(0), tOf(0), 1), 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).toBe(false);
    m.release();
    await retired;
    expect(released).toBe(true);
  });

  it("forecasts the same on the onnxruntime worker thread (ORT_WORKER=1)", async () => {
    const m = await LoadedModel.create(identity, card, onnx, { intraOpThreads: 1, worker: true });
    const x = new Float32Array(8 * m.xSize);
    const t = new Float64Array(8 * card.horizon);
    expected.x.forEach((_, i) => {
      x.set(xOf(i), i * m.xSize);
      t.set(tOf(i), i * card.horizon);
    });
    const y = await m.forecast(x, t, 8);
    expected.x.forEach((_, i) => {
      expectForecast(y.subarray(i * m.ySize, (i + 1) * m.ySize), i);
    });
    await m.retire();
  });

  it("refuses a model whose output does not match its card", async () => {
    const wrong = ModelCard.parse({ ...card, targets: ["down", "up", "rnti_count"] });
    await expect(
      LoadedModel.create(identity, wrong, onnx, { intraOpThreads: 1, worker: false }),
    ).rejects.toThrow(/card says/);
  });
});
