/** scoreModel on a real horizon-30 model with quantiles (real onnxruntime, the linear30 fixture). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelCard } from "../../functions/common/contracts.ts";
import { intervalMetrics } from "../../functions/evaluate/intervals.ts";
import { predict } from "../../functions/evaluate/onnx.ts";
import {
  compareWithBaseline,
  prepareTestSet,
  scoreBaseline,
  scoreModel,
} from "../../functions/evaluate/score-run.ts";
import { buildInputs, type Series } from "../../functions/evaluate/windows.ts";

const dir = join(import.meta.dirname, "..", "fixtures", "models", "linear30");
const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")));
const bytes = readFileSync(join(dir, "model.onnx"));
const rule = { weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, horizonWeighting: "uniform" as const };

/** 200 two-minute rows of every card feature: a daily-ish wave per column, volumes in the thousands. */
function series(): Series {
  const times = Float64Array.from({ length: 200 }, (_, i) => 1_700_000_000 + i * 120);
  const columns = new Map<string, Float64Array>();
  card.features.forEach((f, j) => {
    const scale = f === "down" || f === "up" ? 5000 : 10;
    columns.set(
      f,
      Float64Array.from(times, (_, i) => scale * (1.5 + Math.sin(i / 15 + j)) + (i % 7)),
    );
  });
  return { times, columns };
}

describe("scoring a model with a q output", () => {
  const test = prepareTestSet(series(), {
    window: card.window,
    horizon: card.horizon,
    targets: card.targets,
    gapTolerance: 360,
    stepSeconds: 120,
  });
  const base = { run_id: "r-linear", model_type: "LINEAR", kind: "candidate" as const };

  it("reports every step's errors and the intervals of the card's levels", async () => {
    const entry = await scoreModel(base, card, bytes, test, rule);
    expect(entry.status).toBe("SCORED");
    expect(entry.per_horizon?.down?.mae).toHaveLength(30);
    expect(entry.per_horizon?.up?.rmse).toHaveLength(30);
    const inputs = buildInputs(test.series, test.starts, card.features, test.window, test.horizon);
    const { q } = await predict(bytes, inputs, {
      window: card.window,
      nFeatures: card.features.length,
      horizon: card.horizon,
      nTargets: card.targets.length,
      nQuantiles: 3,
    });
    expect(entry.intervals).toEqual(
      intervalMetrics(q as Float32Array, test.truth, test.targets, test.horizon, [0.1, 0.5, 0.9]),
    );
    expect(Object.keys(entry.intervals?.per_target.down?.by_step ?? {})).toEqual(["1", "5", "15", "30"]);
  });

  it("compares the row with persistence at the report steps and gates it at every step", async () => {
    const baseline = scoreBaseline(test, rule);
    const entry = compareWithBaseline(await scoreModel(base, card, bytes, test, rule), baseline, 0);
    const ratio = entry.ratio_to_persistence?.up?.["15"]?.mae;
    expect(ratio).toBeCloseTo(
      (entry.per_horizon?.up?.mae[14] as number) / (baseline.per_horizon?.up?.mae[14] as number),
      12,
    );
    const failing = (["down", "up"] as const).flatMap((t) =>
      (entry.per_horizon?.[t]?.mae ?? []).flatMap((m, i) =>
        m > (baseline.per_horizon?.[t]?.mae[i] as number) ? [`${t}@${i + 1}`] : [],
      ),
    );
    expect(entry.gate?.failures.map((f) => `${f.target}@${f.step}`)).toEqual(failing);
    expect(entry.gate?.passed).toBe(failing.length === 0);
  });

  it("fails a model whose card lists levels it does not output", async () => {
    const gru = join(import.meta.dirname, "..", "fixtures", "models", "gru");
    const gruCard = ModelCard.parse({
      ...JSON.parse(readFileSync(join(gru, "model.json"), "utf8")),
      quantiles: [0.1, 0.9],
    });
    const small = prepareTestSet(series(), {
      window: gruCard.window,
      horizon: gruCard.horizon,
      targets: gruCard.targets,
      gapTolerance: 360,
    });
    const entry = await scoreModel(base, gruCard, readFileSync(join(gru, "model.onnx")), small, rule);
    expect(entry).toMatchObject({ status: "FAILED", score: null });
    expect(entry.error).toMatch(/lists 2 quantile level\(s\) but the model has no output 'q'/);
  });
});
