/** The evaluator's ONNX runner on the trainer's fixture models (real onnxruntime-node, real models). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelCard } from "../../functions/common/contracts.ts";
import { predict } from "../../functions/evaluate/onnx.ts";

const fixtures = join(import.meta.dirname, "..", "fixtures", "models");

describe.each(["gru", "lstm", "prophet"])("%s fixture model", (name) => {
  const card = ModelCard.parse(JSON.parse(readFileSync(join(fixtures, name, "model.json"), "utf8")));
  const expected = JSON.parse(readFileSync(join(fixtures, name, "expected.json"), "utf8")) as {
    x: number[][][];
    t: number[][];
    y: number[][][];
  };

  const model = () => readFileSync(join(fixtures, name, "model.onnx"));
  const shape = {
    window: card.window,
    nFeatures: card.features.length,
    horizon: card.horizon,
    nTargets: card.targets.length,
  };
  const zeroWindow = () => ({
    n: 1,
    x: new Float32Array(card.window * card.features.length),
    t: new Float64Array(card.horizon),
  });

  it("reproduces the trainer's outputs for its sample windows", async () => {
    const n = expected.x.length;
    const inputs = { n, x: Float32Array.from(expected.x.flat(2)), t: Float64Array.from(expected.t.flat()) };
    const { y, q } = await predict(model(), inputs, shape);
    expect(q).toBeNull();
    const want = expected.y.flat(2);
    expect(y.length).toBe(want.length);
    want.forEach((v, i) => {
      expect(Math.abs((y[i] as number) - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v)));
    });
  });

  it("rejects inputs of the wrong shape with a clear error", async () => {
    await expect(
      predict(model(), zeroWindow(), { ...shape, nTargets: card.targets.length + 1 }),
    ).rejects.toThrow(/expected \[1, 1, 3\]/);
  });

  it("refuses a card that lists quantile levels for a model without a 'q' output", async () => {
    await expect(predict(model(), zeroWindow(), { ...shape, nQuantiles: 3 })).rejects.toThrow(
      /lists 3 quantile level\(s\) but the model has no output 'q'/,
    );
  });
});

describe("linear30 fixture model (horizon 30, quantiles 0.1 / 0.5 / 0.9)", () => {
  const dir = join(fixtures, "linear30");
  const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")));
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
    x: number[][][];
    t: number[][];
    y: number[][][];
    q: number[][][][];
  };

  it("returns y and q as the trainer computed them", async () => {
    const n = expected.x.length;
    const inputs = { n, x: Float32Array.from(expected.x.flat(2)), t: Float64Array.from(expected.t.flat()) };
    const { y, q } = await predict(readFileSync(join(dir, "model.onnx")), inputs, {
      window: card.window,
      nFeatures: card.features.length,
      horizon: card.horizon,
      nTargets: card.targets.length,
      nQuantiles: card.quantiles.length,
    });
    const close = (got: ArrayLike<number> | null, want: number[]) => {
      expect(got?.length).toBe(want.length);
      want.forEach((v, i) => {
        expect(Math.abs((got?.[i] as number) - v)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v)));
      });
    };
    close(y, expected.y.flat(2));
    close(q, expected.q.flat(3));
  });
});
