/**
 * Cross-language parity: the fixture models exported by the Python trainer
 * (functions/train/scripts/make_fixtures.py) reproduce the Python-side predictions
 * (PyTorch for GRU/LSTM, Prophet.predict for Prophet, numpy for LINEAR, LightGBM and numpy for the ENSEMBLE of a
 * LINEAR and a GBDT member) when run with onnxruntime-node: `y` and, for the models with quantiles, `q`.
 * The fixtures made before quantiles (gru, gru64, lstm, prophet) have no `q`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";

const fixturesDir = join(import.meta.dirname, "..", "fixtures", "models");
const REL_TOL = 1e-4;

interface Expected {
  model_type: string;
  source: string;
  shapes: { x: number[]; t: number[]; y: number[]; q?: number[] };
  x: number[][][];
  t: number[][];
  y: number[][][];
  q?: number[][][][];
}

interface Card {
  model_type: string;
  features: string[];
  targets: string[];
  window: number;
  horizon: number;
  quantiles?: number[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function flat3(a: number[][][]): number[] {
  return a.flat(2);
}

/** The largest |have − want| / max(|want|, 1) over the first `n` values; every value must be finite. */
function worstRelativeError(have: Float32Array, want: number[], n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const value = have[i] as number;
    expect(Number.isFinite(value)).toBe(true);
    worst = Math.max(worst, Math.abs(value - (want[i] as number)) / Math.max(Math.abs(want[i] as number), 1));
  }
  return worst;
}

describe.each(["gru", "gru64", "lstm", "prophet", "linear30", "ensemble30"])(
  "ONNX fixture %s in onnxruntime-node",
  (name) => {
    const dir = join(fixturesDir, name);
    const expected = readJson<Expected>(join(dir, "expected.json"));
    const card = readJson<Card>(join(dir, "model.json"));

    it("has the contract signature: x float32 [batch, window, n_features], t float64 [batch, horizon] -> y (and q)", async () => {
      const session = await ort.InferenceSession.create(join(dir, "model.onnx"));
      try {
        expect([...session.inputNames].sort()).toEqual(["t", "x"]);
        const levels = card.quantiles ?? [];
        expect([...session.outputNames].slice(0, levels.length ? 2 : 1)).toEqual(
          levels.length ? ["y", "q"] : ["y"],
        );
        if (levels.length)
          expect(expected.shapes.q).toEqual([
            expected.x.length,
            card.horizon,
            card.targets.length,
            levels.length,
          ]);
        expect(card.model_type).toBe(expected.model_type);
        expect(expected.shapes.x).toEqual([expected.x.length, card.window, card.features.length]);
        expect(expected.shapes.t).toEqual([expected.t.length, card.horizon]);
        expect(expected.shapes.y).toEqual([expected.y.length, card.horizon, card.targets.length]);
      } finally {
        await session.release();
      }
    });

    it("reproduces the Python predictions (relative error < 1e-4), for the whole batch and for one row", async () => {
      const session = await ort.InferenceSession.create(join(dir, "model.onnx"));
      try {
        const [n, window, nFeatures] = expected.shapes.x as [number, number, number];
        const [, horizon] = expected.shapes.t as [number, number];
        const nTargets = card.targets.length;
        const xAll = Float32Array.from(flat3(expected.x));
        const tAll = Float64Array.from(expected.t.flat());
        const yAll = flat3(expected.y);
        for (const rows of [n, 1]) {
          const feeds = {
            x: new ort.Tensor("float32", xAll.subarray(0, rows * window * nFeatures), [
              rows,
              window,
              nFeatures,
            ]),
            t: new ort.Tensor("float64", tAll.subarray(0, rows * horizon), [rows, horizon]),
          };
          const out = await session.run(feeds);
          const y = out.y;
          expect(y).toBeDefined();
          if (!y) return;
          expect(y.type).toBe("float32");
          expect(y.dims).toEqual([rows, horizon, nTargets]);
          expect(worstRelativeError(y.data as Float32Array, yAll, rows * horizon * nTargets)).toBeLessThan(
            REL_TOL,
          );
          if (!expected.q) continue;
          const nq = (card.quantiles ?? []).length;
          const q = out.q;
          expect(q?.dims).toEqual([rows, horizon, nTargets, nq]);
          const qAll = expected.q.flat(3);
          expect(
            worstRelativeError(q?.data as Float32Array, qAll, rows * horizon * nTargets * nq),
          ).toBeLessThan(REL_TOL);
        }
      } finally {
        await session.release();
      }
    });
  },
);
