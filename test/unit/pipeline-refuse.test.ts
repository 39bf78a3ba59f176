/** evaluate refuses a candidate whose test predictions are not finite (real onnxruntime, real fixture model). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelCard, type ScoreboardEntry } from "../../functions/common/contracts.ts";
import { prepareTestSet, scoreModel } from "../../functions/evaluate/score-run.ts";
import { nonFinite, pickWinner, rankable } from "../../functions/evaluate/scoring.ts";
import type { Series } from "../../functions/evaluate/windows.ts";

const fixtures = join(import.meta.dirname, "..", "fixtures", "models");
const rule = { weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, horizonWeighting: "uniform" as const };

function series(times: number[], features: string[]): Series {
  const columns = new Map<string, Float64Array>();
  features.forEach((f, j) => {
    columns.set(
      f,
      Float64Array.from(times, (_, i) => 1e6 * (1 + ((i + j) % 5))),
    );
  });
  return { times: Float64Array.from(times), columns };
}

async function scoreProphetAt(times: number[]): Promise<ScoreboardEntry> {
  const dir = join(fixtures, "prophet");
  const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")));
  const test = prepareTestSet(series(times, card.features), {
    window: card.window,
    horizon: card.horizon,
    targets: card.targets,
    gapTolerance: 360,
  });
  const base = { run_id: "r-prophet", model_type: "PROPHET", kind: "candidate" as const };
  return scoreModel(base, card, readFileSync(join(dir, "model.onnx")), test, rule);
}

describe("a candidate with non-finite test predictions", () => {
  it("gets status REFUSED, no score, and an error that says why", async () => {
    // Prophet's trend, 1e40 s from its data, overflows the float32 output: the graph answers ±Inf.
    const entry = await scoreProphetAt(Array.from({ length: 20 }, () => 1e40));
    expect(entry).toMatchObject({ status: "REFUSED", score: null, rmse: null, mae: null, mse: null });
    expect(entry.error).toMatch(/^test predictions hold \d+ non-finite value\(s\) of 20 .*: never promoted$/);
    expect(rankable(entry)).toBe(false);
  });

  it("the same model on ordinary times is scored (so the refusal above is the values' doing)", async () => {
    const entry = await scoreProphetAt(Array.from({ length: 20 }, (_, i) => 1.52e9 + 120 * i));
    expect(entry.status).toBe("SCORED");
    expect(Number.isFinite(entry.score)).toBe(true);
    expect(rankable(entry)).toBe(true);
  });
});

describe("nonFinite and rankable", () => {
  it("counts non-finite values per target and names the first", () => {
    // two windows, horizon 1, targets down and up
    expect(nonFinite([1, 2, Number.NaN, Number.POSITIVE_INFINITY], ["down", "up"], 1)).toBe(
      "test predictions hold 2 non-finite value(s) of 4 (down 1, up 1; first in window 1, down NaN)",
    );
    expect(nonFinite(new Float32Array([1, 2, 3, 4]), ["down", "up"], 1)).toBeNull();
  });

  it("only a SCORED entry with a finite score ranks; a refused one can never win", () => {
    const scored = (run_id: string, score: number | null, status: ScoreboardEntry["status"] = "SCORED") =>
      ({ run_id, model_type: "GRU", kind: "candidate", status, score, rmse: 1, mae: 1, mse: 1 }) as const;
    const entries: ScoreboardEntry[] = [
      scored("refused", null, "REFUSED"),
      scored("nan", Number.NaN),
      scored("ok", 0.5),
    ];
    const ranked = entries
      .filter(rankable)
      .map((e) => ({ run_id: e.run_id, score: e.score, created_at: "2026-01-01T00:00:00Z" }));
    expect(ranked.map((r) => r.run_id)).toEqual(["ok"]);
    expect(pickWinner(ranked)?.run_id).toBe("ok");
  });
});
