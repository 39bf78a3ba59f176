/**
 * Cross-language parity: the fixture models exported by the Python trainer
 * (functions/train/scripts/make_fixtures.py) reproduce the Python-side predictions
 * (PyTorch for GRU/LSTM, Prophet.predict for Prophet) when run with onnxruntime-node.
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
  shapes: { x: number[]; t: number[]; y: number[] };
  x: number[][][];
  t: number[][];
  y: number[][][];
}

interface Card {
  model_type: string;
  features: string[];
  targets: string[];
  window: number;
  horizon: number;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function flat3(a: number[][][]): number[] {
  return a.flat(2);
}

describe.each(["gru", "gru64", "lstm", "prophet"])("ONNX fixture %s in onnxruntime-node", (name) => {
  const dir = join(fixturesDir, name);
  const expected = readJson<Expected>(join(dir, "expected.json"));
  const card = readJson<Card>(join(dir, "model.json"));

  it("has the contract signature: x float32 [batch, window, n_features], t float64 [batch, horizon] -> y", async () => {
    const session = await ort.InferenceSession.create(join(dir, "model.onnx"));
    try {
      expect([...session.inputNames].sort()).toEqual(["t", "x"]);
      expect([...session.outputNames]).toEqual(["y"]);
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
        const got = y.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < rows * horizon * nTargets; i++) {
          const want = yAll[i] as number;
          const have = got[i] as number;
          expect(Number.isFinite(have)).toBe(true);
          worst = Math.max(worst, Math.abs(have - want) / Math.max(Math.abs(want), 1));
        }
        expect(worst).toBeLessThan(REL_TOL);
      }
    } finally {
      await session.release();
    }
  });
});
