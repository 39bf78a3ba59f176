/**
 * Quantile forecasts on a real onnxruntime session of the trainer's LINEAR horizon-30 fixture:
 * the session answers `q` equal to the trainer's, the micro-batcher stacks and splits `y` and `q`
 * alike, and the hot path's answer text equals JSON.stringify of the object form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerText, predictionsJson, toPredictions } from "../../functions/inference/answer.ts";
import { MicroBatcher, QueueBudget } from "../../functions/inference/batcher.ts";
import { LoadedModel } from "../../functions/inference/model.ts";
import { expectAllClose } from "../close.ts";
import { fixtureModel } from "./fixture-model.ts";

const { card, onnx, expected, identity, xOf, tOf } = fixtureModel("linear30");
const LEVELS = [0.1, 0.5, 0.9];

let model: LoadedModel;
beforeAll(async () => {
  model = await LoadedModel.create(identity, card, onnx, { intraOpThreads: 1, worker: false });
});
afterAll(async () => {
  await model?.retire();
});

/** Within float32 rounding of the trainer's answer. */
const expectClose = (actual: ArrayLike<number>, want: number[]) => expectAllClose(actual, want, 1e-4);

describe("a model with quantiles", () => {
  it("reads the card's levels and sizes q as horizon x targets x levels", () => {
    expect(card.horizon).toBe(30);
    expect(model.quantiles).toEqual(LEVELS);
    expect(model.qSize).toBe(30 * card.targets.length * LEVELS.length);
  });

  it("answers the trainer's y and q for each window", async () => {
    for (let i = 0; i < expected.x.length; i++) {
      const { y, q } = await model.forecastAll(xOf(i), tOf(i), 1);
      expectClose(y, (expected.y[i] as number[][]).flat());
      expectClose(q as Float32Array, (expected.q[i] as number[][][]).flat(2));
    }
  });

  it("stacks jobs into one run and gives each its own y and q", async () => {
    const runs: number[] = [];
    const batcher = new MicroBatcher(
      model.forecastAll,
      { maxBatch: 64, windowMs: 0, ttlMs: 10_000, ...model.sizes },
      new QueueBudget(100),
      ({ windows }) => runs.push(windows),
    );
    const answers = await Promise.all(expected.x.map((_, i) => batcher.submit(xOf(i), tOf(i), 1)));
    expect(runs).toEqual([expected.x.length]);
    answers.forEach(({ y, q }, i) => {
      expectClose(y, (expected.y[i] as number[][]).flat());
      expectClose(q as Float32Array, (expected.q[i] as number[][][]).flat(2));
    });
  });

  it("writes the answer text exactly as JSON.stringify writes the object form, with and without quantiles", async () => {
    const forecast = await model.forecastAll(xOf(0), tOf(0), 1);
    const text = answerText(model);
    for (const horizon of [1, 30]) {
      const withQ = toPredictions(forecast, tOf(0), {
        targets: card.targets,
        modelHorizon: 30,
        horizon,
        levels: model.quantiles,
      });
      expect(predictionsJson(forecast, tOf(0), text, 30, horizon, true)).toBe(JSON.stringify(withQ));
      const without = toPredictions(forecast, tOf(0), {
        targets: card.targets,
        modelHorizon: 30,
        horizon,
        levels: [],
      });
      expect(predictionsJson(forecast, tOf(0), text, 30, horizon, false)).toBe(JSON.stringify(without));
      expect(withQ).toHaveLength(horizon);
      expect(without[0]).not.toHaveProperty("quantiles");
    }
    const first = toPredictions(forecast, tOf(0), {
      targets: card.targets,
      modelHorizon: 30,
      horizon: 30,
      levels: LEVELS,
    });
    const q = forecast.q as Float32Array;
    expect(first[29]?.quantiles).toEqual({
      down: { "0.1": q[(29 * 2 + 0) * 3], "0.5": q[(29 * 2 + 0) * 3 + 1], "0.9": q[(29 * 2 + 0) * 3 + 2] },
      up: { "0.1": q[(29 * 2 + 1) * 3], "0.5": q[(29 * 2 + 1) * 3 + 1], "0.9": q[(29 * 2 + 1) * 3 + 2] },
    });
  });

  it("refuses a card with quantiles whose graph has no q", async () => {
    const gru = fixtureModel("gru");
    await expect(
      LoadedModel.create(identity, { ...gru.card, quantiles: LEVELS }, gru.onnx, {
        intraOpThreads: 1,
        worker: false,
      }),
    ).rejects.toThrow(/no output 'q'/);
  });

  it("also runs on the onnxruntime worker thread", async () => {
    const worker = await LoadedModel.create(identity, card, onnx, { intraOpThreads: 1, worker: true });
    try {
      const { y, q } = await worker.forecastAll(xOf(3), tOf(3), 1);
      expectClose(y, (expected.y[3] as number[][]).flat());
      expectClose(q as Float32Array, (expected.q[3] as number[][][]).flat(2));
      expect(await worker.forecast(xOf(3), tOf(3), 1)).toEqual(y);
    } finally {
      await worker.retire();
    }
  });
});
