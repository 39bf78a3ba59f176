/** evaluate's per-step scoring: step metrics, the horizon weighting, ratios to persistence, intervals, settings. */
import { describe, expect, it } from "vitest";
import { EvaluationDecision } from "../../functions/common/contracts.ts";
import { intervalMetrics, pinball } from "../../functions/evaluate/intervals.ts";
import {
  compositeScore,
  horizonScore,
  perHorizon,
  perStepMetrics,
  perTargetMetrics,
  ratioToPersistence,
  reportSteps,
  stepWeights,
} from "../../functions/evaluate/scoring.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";

const maeOnly = { rmse: 0, mae: 1, mse: 0 };

describe("perStepMetrics", () => {
  it("scores each forecast step over the windows ([n, horizon, k] row-major)", () => {
    // two windows, horizon 2, one target: step 1 errors 1, 3; step 2 errors 2, -4
    const m = perStepMetrics([1, 2, 3, -4], [0, 0, 0, 0], ["a"], 2);
    expect(m.a).toEqual([
      { mae: 2, mse: 5, rmse: Math.sqrt(5) },
      { mae: 3, mse: 10, rmse: Math.sqrt(10) },
    ]);
    expect(perHorizon(m)).toEqual({ a: { mae: [2, 3], rmse: [Math.sqrt(5), Math.sqrt(10)] } });
  });

  it("keeps the targets apart", () => {
    // one window, horizon 2, targets a and b: [[a1, b1], [a2, b2]]
    const m = perStepMetrics([1, 10, 2, 20], [0, 0, 0, 0], ["a", "b"], 2);
    expect(m.a?.map((s) => s.mae)).toEqual([1, 2]);
    expect(m.b?.map((s) => s.mae)).toEqual([10, 20]);
  });

  it("refuses values that do not fill whole windows", () => {
    expect(() => perStepMetrics([1, 2, 3], [1, 2, 3], ["a"], 2)).toThrow(/3 values over 2 steps/);
  });
});

describe("HORIZON_WEIGHTING", () => {
  it("weighs steps equally, by 1/s, or step 1 alone, always summing to 1", () => {
    expect(stepWeights("uniform", 4)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const inverse = stepWeights("inverse", 3);
    for (const [i, w] of [6 / 11, 3 / 11, 2 / 11].entries()) expect(inverse[i]).toBeCloseTo(w, 12);
    expect(stepWeights("first", 3)).toEqual([1, 0, 0]);
  });

  it("the composite is the weighted mean of each step's composite", () => {
    const perStep = {
      a: [1, 2, 4].map((mae) => ({ mae, rmse: 0, mse: 0 })),
      b: [3, 3, 3].map((mae) => ({ mae, rmse: 0, mse: 0 })),
    };
    const stds = { a: 1, b: 3 }; // b contributes 1 at every step
    const score = (w: "uniform" | "inverse" | "first") =>
      horizonScore(perStep, stds, { weights: maeOnly, horizonWeighting: w });
    expect(score("uniform")).toBeCloseTo((7 / 3 + 1) / 2, 12);
    expect(score("inverse")).toBeCloseTo((20 / 11 + 1) / 2, 12);
    expect(score("first")).toBeCloseTo((1 + 1) / 2, 12);
  });

  it("over one step it is the composite score it always was", () => {
    const pred = [1, 5, 2, 7, 0, 9];
    const truth = [2, 4, 4, 4, 1, 1];
    const stds = { a: 1.5, b: 2 };
    const weights = { rmse: 0.5, mae: 0.3, mse: 0.2 };
    const before = compositeScore(perTargetMetrics(pred, truth, ["a", "b"]), stds, weights);
    const perStep = perStepMetrics(pred, truth, ["a", "b"], 1);
    expect(horizonScore(perStep, stds, { weights, horizonWeighting: "uniform" })).toBeCloseTo(before, 12);
  });

  it("is a setting: uniform by default, a clear error for anything else; GATE_MARGIN a fraction >= 0", () => {
    expect(loadEvaluateSettings({}).horizonWeighting).toBe("uniform");
    expect(loadEvaluateSettings({ HORIZON_WEIGHTING: "inverse" }).horizonWeighting).toBe("inverse");
    expect(() => loadEvaluateSettings({ HORIZON_WEIGHTING: "last" })).toThrow(
      /HORIZON_WEIGHTING must be one of uniform, inverse, first, got 'last'/,
    );
    expect(loadEvaluateSettings({}).gateMargin).toBe(0);
    expect(loadEvaluateSettings({ GATE_MARGIN: "0.05" }).gateMargin).toBe(0.05);
    expect(() => loadEvaluateSettings({ GATE_MARGIN: "-0.1" })).toThrow(/GATE_MARGIN must be >= 0/);
  });
});

describe("ratioToPersistence", () => {
  it("reports MAE and RMSE over persistence's at steps 1, 5, 15 and 30 within the horizon", () => {
    expect(reportSteps(30)).toEqual([1, 5, 15, 30]);
    expect(reportSteps(6)).toEqual([1, 5]);
    const steps = (f: (s: number) => number) => Array.from({ length: 6 }, (_, i) => f(i + 1));
    const model = { a: { mae: steps((s) => s), rmse: steps((s) => 2 * s) } };
    const persistence = { a: { mae: steps(() => 4), rmse: steps(() => 4) } };
    expect(ratioToPersistence(model, persistence)).toEqual({
      a: { "1": { mae: 0.25, rmse: 0.5 }, "5": { mae: 1.25, rmse: 2.5 } },
    });
  });

  it("is 1 when both errors are 0 and null when only persistence's is", () => {
    const r = ratioToPersistence({ a: { mae: [0], rmse: [2] } }, { a: { mae: [0], rmse: [0] } });
    expect(r).toEqual({ a: { "1": { mae: 1, rmse: null } } });
  });
});

describe("intervalMetrics", () => {
  it("pinball loss charges tau below the quantile and 1 - tau above", () => {
    expect(pinball(10, 8, 0.1)).toBeCloseTo(0.2, 12);
    expect(pinball(10, 12, 0.1)).toBeCloseTo(1.8, 12);
    expect(pinball(10, 12, 0.9)).toBeCloseTo(0.2, 12);
  });

  it("coverage of the outermost interval and the mean pinball over every level", () => {
    // one target, horizon 1, two windows: 10 inside [8, 12], 20 below [21, 23]
    const q = [8, 10, 12, 21, 22, 23];
    const m = intervalMetrics(q, [10, 20], ["a"], 1, [0.1, 0.5, 0.9]);
    const pinballMean = (0.2 + 0 + 0.2 + (0.9 + 1 + 0.3)) / 6;
    expect(m.levels).toEqual([0.1, 0.5, 0.9]);
    expect(m.per_target.a?.coverage).toBe(0.5);
    expect(m.per_target.a?.pinball).toBeCloseTo(pinballMean, 12);
    expect(m.per_target.a?.by_step["1"]?.coverage).toBe(0.5);
    expect(m.per_target.a?.by_step["1"]?.pinball).toBeCloseTo(pinballMean, 12);
  });

  it("summarises each report step on its own, and every step overall", () => {
    // one window, horizon 5, two targets, levels 0.1 / 0.9: a is covered at steps 1-4, b nowhere
    const horizon = 5;
    const truth: number[] = [];
    const q: number[] = [];
    for (let h = 0; h < horizon; h++) {
      truth.push(0, 0);
      q.push(...(h < 4 ? [-1, 1] : [1, 2]), 5, 6);
    }
    const m = intervalMetrics(q, truth, ["a", "b"], horizon, [0.1, 0.9]);
    expect(Object.keys(m.per_target.a?.by_step ?? {})).toEqual(["1", "5"]);
    expect(m.per_target.a?.by_step["1"]?.coverage).toBe(1);
    expect(m.per_target.a?.by_step["5"]?.coverage).toBe(0);
    expect(m.per_target.a?.coverage).toBeCloseTo(0.8, 12);
    expect(m.per_target.b?.coverage).toBe(0);
    // b: the actual 0 lies below both quantiles 5 and 6: (1 - 0.1)·5 and (1 - 0.9)·6, over 2 levels
    expect(m.per_target.b?.pinball).toBeCloseTo((0.9 * 5 + 0.1 * 6) / 2, 12);
  });

  it("refuses quantiles that do not match the actuals", () => {
    expect(() => intervalMetrics([1, 2, 3], [1, 2], ["a"], 1, [0.1, 0.9])).toThrow(/expected 2×2/);
    expect(() => intervalMetrics([1, 2], [1], ["a"], 1, [0.9, 0.1])).toThrow(/not strictly ascending/);
  });
});

describe("decision records", () => {
  const old = {
    v: 1,
    identifier: "cell",
    config_hash: "a".repeat(64),
    generation: "0123456789abcdef",
    runs: [],
    decided_at: "2026-01-01T00:00:00.000Z",
    policy: "always",
    expected: ["GRU"],
    deadline_passed: false,
    n_test_windows: 3,
    scoreboard: [],
    baseline: {
      run_id: "persistence",
      model_type: "PERSISTENCE",
      kind: "baseline",
      status: "SCORED",
      score: 1,
      rmse: 1,
      mae: 1,
      mse: 1,
      per_target: { a: { mae: 1, rmse: 1, mse: 1 } },
    },
    winner: null,
    promoted: false,
    reason: "no candidate could be scored",
    pointer: null,
    previous: null,
    history_key: null,
  };

  it("one written before per-step scoring still parses", () => {
    expect(EvaluationDecision.parse(old).baseline.per_horizon).toBeUndefined();
  });

  it("a row's per-step figures, ratios, intervals and gate are checked", () => {
    const row = {
      ...old.baseline,
      run_id: "r1",
      model_type: "GRU",
      kind: "candidate",
      per_horizon: { a: { mae: [1], rmse: [1] } },
      ratio_to_persistence: { a: { "1": { mae: 0.9, rmse: null } } },
      intervals: { levels: [0.1, 0.9], per_target: { a: { coverage: 0.8, pinball: 0.2, by_step: {} } } },
      gate: { passed: true, failures: [] },
    };
    expect(EvaluationDecision.parse({ ...old, scoreboard: [row] }).scoreboard[0]?.gate?.passed).toBe(true);
    const bad = { ...row, intervals: { ...row.intervals, levels: [0, 0.9] } };
    expect(() => EvaluationDecision.parse({ ...old, scoreboard: [bad] })).toThrow(/levels/);
  });
});
