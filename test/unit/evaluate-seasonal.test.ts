/** The seasonal baseline (same time yesterday) and the per-target quality gate. */
import { describe, expect, it } from "vitest";
import type { ScoreboardEntry } from "../../functions/common/contracts.ts";
import { applyPolicy, chooseCandidate, qualityGate } from "../../functions/evaluate/policy.ts";
import { prepareTestSet } from "../../functions/evaluate/score-run.ts";
import { buildScoreboard, type RankedCandidate } from "../../functions/evaluate/scoreboard.ts";
import { rowAt, scoreSeasonal, seasonalPredictions } from "../../functions/evaluate/seasonal.ts";

const STEP = 120;
const DAY_ROWS = 86_400 / STEP;
const rule = { weights: { rmse: 0, mae: 1, mse: 0 }, horizonWeighting: "uniform" as const };

/** A target that repeats every day exactly (time of day only), 120 s steps. */
function dailySeries(times: number[]) {
  const value = (t: number) => 100 + 50 * Math.sin((2 * Math.PI * (t % 86_400)) / 86_400) + (t % 600) / 60;
  return {
    times: Float64Array.from(times),
    columns: new Map([["down", Float64Array.from(times, value)]]),
  };
}

const cfg = { window: 2, horizon: 3, targets: ["down"], gapTolerance: 360, stepSeconds: STEP };

describe("rowAt", () => {
  it("finds the nearest row within the tolerance, or none", () => {
    const times = [0, 120, 240];
    expect(rowAt(times, 170, 60)).toBe(1);
    expect(rowAt(times, 181, 60)).toBe(2);
    expect(rowAt(times, 300, 59)).toBe(-1);
    expect(rowAt(times, -61, 60)).toBe(-1);
    expect(rowAt([], 0, 60)).toBe(-1);
  });
});

describe("the seasonal baseline", () => {
  const rows = Math.round(1.5 * DAY_ROWS); // a day and a half
  const times = Array.from({ length: rows }, (_, i) => i * STEP);

  it("is scored only on the windows whose every step has a value a day earlier", () => {
    const test = prepareTestSet(dailySeries(times), cfg);
    const { windows } = seasonalPredictions(test);
    // window s forecasts rows s+2..s+4; the first has a row a day earlier when s + 2 >= DAY_ROWS
    expect(windows[0]).toBe(DAY_ROWS - 2);
    expect(windows.length).toBe(test.starts.length - (DAY_ROWS - 2));
    const row = scoreSeasonal(test, rule);
    expect(row).toMatchObject({ run_id: "seasonal", model_type: "SEASONAL", kind: "seasonal" });
    expect(row.n_windows).toBe(windows.length);
    // the series repeats every day: same time yesterday is exact, persistence is not
    expect(row.mae).toBeCloseTo(0, 9);
    expect(row.per_horizon?.down?.mae).toHaveLength(3);
    expect(row.ratio_to_persistence?.down?.["1"]?.mae).toBeCloseTo(0, 9);
    expect(row.gate).toBeUndefined();
  });

  it("takes yesterday's row within half a step, and drops a window whose step has none", () => {
    // yesterday's rows shifted by 50 s (within 60 s), and one of them missing
    const missing = 100;
    const shifted = times.map((t, i) => (i < DAY_ROWS ? t + 50 : t)).filter((_, i) => i !== missing);
    const test = prepareTestSet(dailySeries(shifted), { ...cfg, gapTolerance: 400 });
    const { windows, pred } = seasonalPredictions(test);
    const firstStep = new Set(
      windows.map((w) => test.series.times[(test.starts[w] as number) + 2] as number),
    );
    // a day after the missing row (12 000 s) no row lies within 60 s: the windows forecasting it are gone
    for (const t of [12_000, 12_000 - STEP, 12_000 - 2 * STEP]) expect(firstStep.has(86_400 + t)).toBe(false);
    // the next window clear of it keeps its place, matched with rows 50 s off
    expect(firstStep.has(86_400 + 12_000 + STEP)).toBe(true);
    expect(firstStep.has(86_400 + 12_000 - 3 * STEP)).toBe(true);
    expect(windows.length).toBeGreaterThan(0);
    expect(pred.length).toBe(windows.length * 3);
    // yesterday kept every third row: each window has a step 120 s from the nearest of them
    const sparse = times.filter((_, i) => i >= DAY_ROWS || i % 3 === 0);
    expect(seasonalPredictions(prepareTestSet(dailySeries(sparse), cfg)).windows).toEqual([]);
  });

  it("is MISSING with zero windows when the test split is shorter than a day", () => {
    const test = prepareTestSet(dailySeries(times.slice(0, 100)), cfg);
    expect(scoreSeasonal(test, rule)).toMatchObject({ status: "MISSING", score: null, n_windows: 0 });
  });

  it("is listed on the scoreboard after persistence but never ranked", () => {
    const test = prepareTestSet(dailySeries(times), cfg);
    const seasonal = scoreSeasonal(test, rule);
    const baseline = { ...seasonal, run_id: "persistence", kind: "baseline" as const };
    const board = buildScoreboard({
      expected: [],
      runs: [],
      latest: new Set(),
      scored: new Map(),
      baseline,
      seasonal,
      champion: null,
    });
    expect(board.rows.map((r) => r.kind)).toEqual(["baseline", "seasonal"]);
    expect(board.ranked).toEqual([]);
  });
});

const steps = (...mae: number[]) => ({ mae, rmse: mae });

describe("qualityGate", () => {
  const persistence = { down: steps(1, 2), up: steps(1, 0) };

  it("fails every target and step whose MAE exceeds persistence's, naming them", () => {
    const gate = qualityGate({ down: steps(0.9, 2.05), up: steps(1, 0.1) }, persistence, 0);
    expect(gate.passed).toBe(false);
    expect(gate.failures).toEqual([
      { target: "down", step: 2, mae: 2.05, persistence_mae: 2, ratio: 1.025 },
      { target: "up", step: 2, mae: 0.1, persistence_mae: 0, ratio: null },
    ]);
  });

  it("passes a tie, and a loss within GATE_MARGIN", () => {
    expect(qualityGate({ down: steps(1, 2) }, persistence, 0).passed).toBe(true);
    expect(qualityGate({ down: steps(0.9, 2.05) }, persistence, 0.05).passed).toBe(true);
    expect(qualityGate({ down: steps(0.9, 2.05) }, persistence, 0.02).passed).toBe(false);
  });
});

describe("promotion with the quality gate", () => {
  const baseline: ScoreboardEntry = {
    run_id: "persistence",
    model_type: "PERSISTENCE",
    kind: "baseline",
    status: "SCORED",
    score: 1,
    rmse: 1,
    mae: 1,
    mse: 1,
  };
  const persistence = { down: steps(1, 1), up: steps(1, 1) };
  function candidate(run_id: string, score: number, perHorizon: typeof persistence): RankedCandidate {
    const entry: ScoreboardEntry = {
      ...baseline,
      run_id,
      model_type: "GBDT",
      kind: "candidate",
      score,
      per_horizon: perHorizon,
      gate: qualityGate(perHorizon, persistence, 0),
    };
    return { run_id, model_type: "GBDT", score, created_at: "2026-01-01T00:00:00.000Z", entry };
  }
  const failsUp = candidate("fails-up", 0.4, { down: steps(0.5, 0.5), up: steps(0.9, 1.1) });
  const passes = candidate("passes", 0.6, { down: steps(0.8, 0.9), up: steps(0.9, 0.95) });
  const judge = (ranked: RankedCandidate[], policy: "beat_baseline" | "always") =>
    applyPolicy({ policy, best: chooseCandidate(ranked, policy), baseline, champion: null, previous: null });

  it("the winner is the best-scoring candidate that passes, not the best-scoring one", () => {
    expect(chooseCandidate([failsUp, passes], "beat_baseline")?.run_id).toBe("passes");
    expect(judge([failsUp, passes], "beat_baseline")).toMatchObject({ promote: true });
  });

  it("with no candidate passing nothing is promoted, and the reason names the failing target and step", () => {
    const worse = candidate("worse", 0.5, { down: steps(1.2, 0.5), up: steps(0.5, 1.3) });
    expect(judge([failsUp, worse], "beat_baseline")).toEqual({
      promote: false,
      reason:
        "no candidate passes the per-target quality gate: best candidate GBDT fails-up (score 0.400000) up at step 2 has MAE 1.10000 against persistence's 1.00000 (ratio 1.100)",
    });
    expect(judge([worse], "beat_baseline").reason).toMatch(
      /up at step 2 .* \(ratio 1\.300; 1 more failing step\(s\)\)$/,
    );
  });

  it("PROMOTION_POLICY=always bypasses the gate and says so", () => {
    expect(chooseCandidate([failsUp, passes], "always")?.run_id).toBe("fails-up");
    expect(judge([failsUp, passes], "always")).toEqual({
      promote: true,
      reason:
        "GBDT fails-up wins with score 0.400000 (baseline 1.000000; policy always: baseline and quality gate bypassed)",
    });
  });
});
