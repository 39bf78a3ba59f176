import { describe, expect, it } from "vitest";
import {
  compositeScore,
  meanOverTargets,
  normaliser,
  persistencePredictions,
  perTargetMetrics,
  pickWinner,
} from "../../functions/evaluate/scoring.ts";
import { parseWeights } from "../../functions/evaluate/settings.ts";
import { generationOf, readiness } from "../../functions/evaluate/state.ts";
import { buildInputs, buildTargets, windowStarts } from "../../functions/evaluate/windows.ts";

describe("perTargetMetrics", () => {
  it("computes MAE, MSE and RMSE per target over windows and steps (row-major [n, horizon, k])", () => {
    // two windows, horizon 1, targets a and b: errors a = [1, -3], b = [0, 2]
    const truth = [10, 100, 20, 200];
    const pred = [11, 100, 17, 202];
    const m = perTargetMetrics(pred, truth, ["a", "b"]);
    expect(m.a).toEqual({ mae: 2, mse: 5, rmse: Math.sqrt(5) });
    expect(m.b).toEqual({ mae: 1, mse: 2, rmse: Math.sqrt(2) });
    expect(meanOverTargets(m)).toEqual({ mae: 1.5, mse: 3.5, rmse: (Math.sqrt(5) + Math.sqrt(2)) / 2 });
  });

  it("refuses predictions and truth of different sizes", () => {
    expect(() => perTargetMetrics([1, 2], [1, 2, 3, 4], ["a", "b"])).toThrow(/2 values, truth 4/);
  });
});

describe("compositeScore", () => {
  it("weights RMSE/σ, MAE/σ and MSE/σ² per target and averages over targets", () => {
    const perTarget = { a: { rmse: 2, mae: 1, mse: 4 }, b: { rmse: 10, mae: 5, mse: 100 } };
    const stds = { a: 2, b: 10 };
    const w = { rmse: 0.5, mae: 0.3, mse: 0.2 };
    const a = 0.5 * (2 / 2) + 0.3 * (1 / 2) + 0.2 * (4 / 4);
    const b = 0.5 * (10 / 10) + 0.3 * (5 / 10) + 0.2 * (100 / 100);
    expect(compositeScore(perTarget, stds, w)).toBeCloseTo((a + b) / 2, 12);
  });

  it("is unit-free: scaling a target and its errors leaves the score unchanged", () => {
    const w = { rmse: 0.5, mae: 0.3, mse: 0.2 };
    const s1 = compositeScore({ a: { rmse: 2, mae: 1, mse: 4 } }, { a: 3 }, w);
    const s2 = compositeScore({ a: { rmse: 2000, mae: 1000, mse: 4_000_000 } }, { a: 3000 }, w);
    expect(s2).toBeCloseTo(s1, 12);
  });

  it("normalises by the population standard deviation, 1 for a constant series", () => {
    expect(normaliser([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(normaliser([3, 3, 3])).toBe(1);
  });
});

describe("persistence baseline", () => {
  it("repeats the last observed targets over the horizon", () => {
    const p = persistencePredictions([1, 2, 3, 4], 2, 3); // two windows, two targets
    expect(Array.from(p)).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
  });
});

describe("pickWinner", () => {
  it("takes the lowest score", () => {
    const w = pickWinner([
      { run_id: "a", score: 0.5, created_at: "2026-01-01T00:00:00Z" },
      { run_id: "b", score: 0.4, created_at: "2025-01-01T00:00:00Z" },
    ]);
    expect(w?.run_id).toBe("b");
  });

  it("gives a tie to the newer run", () => {
    const w = pickWinner([
      { run_id: "new", score: 0.5, created_at: "2026-01-02T00:00:00Z" },
      { run_id: "old", score: 0.5, created_at: "2026-01-01T00:00:00Z" },
    ]);
    expect(w?.run_id).toBe("new");
  });

  it("ignores non-finite scores and returns null without candidates", () => {
    expect(pickWinner([{ run_id: "x", score: Number.NaN, created_at: "" }])).toBeNull();
    expect(pickWinner([])).toBeNull();
  });
});

describe("SCORE_WEIGHTS", () => {
  it("defaults to 0.5 RMSE + 0.3 MAE + 0.2 MSE", () => {
    expect(parseWeights({})).toEqual({ rmse: 0.5, mae: 0.3, mse: 0.2 });
  });
  it("rejects unknown metrics and negative weights, naming them", () => {
    expect(() => parseWeights({ mape: "1" })).toThrow(/'mape' is not rmse, mae or mse/);
    expect(() => parseWeights({ rmse: "-1" })).toThrow(/SCORE_WEIGHTS.rmse must be a number >= 0/);
  });
});

describe("windows (same rule as the trainer)", () => {
  /** Brute force: every start whose window+horizon rows have no step above the tolerance. */
  function bruteForce(times: number[], window: number, horizon: number, tol: number): number[] {
    const out: number[] = [];
    for (let s = 0; s + window + horizon <= times.length; s++) {
      let ok = true;
      for (let i = s + 1; i < s + window + horizon; i++)
        if ((times[i] as number) - (times[i - 1] as number) > tol) ok = false;
      if (ok) out.push(s);
    }
    return out;
  }

  it("skips windows that span a gap larger than the tolerance", () => {
    // 120 s steps with a 600 s gap after row 5 and a 360 s step (allowed) after row 9
    const times = [0, 120, 240, 360, 480, 600, 1200, 1320, 1440, 1560, 1920, 2040, 2160, 2280];
    const starts = windowStarts(times, 3, 1, 360);
    expect(starts).toEqual(bruteForce(times, 3, 1, 360));
    expect(starts).not.toContain(3); // rows 3..6 cross the 600 s gap
    expect(starts).toContain(6); // rows 6..9 are contiguous
    expect(windowStarts(times.slice(0, 3), 3, 1, 360)).toEqual([]);
  });

  it("builds x in card feature order, t from the forecast rows, and truth/last from the targets", () => {
    const series = {
      times: Float64Array.from([0, 120, 240, 360]),
      columns: new Map([
        ["a", Float64Array.from([1, 2, 3, 4])],
        ["b", Float64Array.from([10, 20, 30, 40])],
      ]),
    };
    const x = buildInputs(series, [0, 1], ["b", "a"], 2, 1);
    expect(Array.from(x.x)).toEqual([10, 1, 20, 2, 20, 2, 30, 3]);
    expect(Array.from(x.t)).toEqual([240, 360]);
    const y = buildTargets(series, [0, 1], ["a"], 2, 1);
    expect(Array.from(y.truth)).toEqual([3, 4]);
    expect(Array.from(y.last)).toEqual([2, 3]);
    expect(() => buildInputs(series, [0], ["c"], 2, 1)).toThrow(/column 'c' is not in the test data/);
  });
});

describe("evaluation readiness", () => {
  const run = (
    run_id: string,
    model_type: "GRU" | "LSTM" | "PROPHET",
    status: "RUNNING" | "SUCCESS" | "FAILED",
    first_seen: string,
  ) => ({
    run_id,
    model_type,
    status,
    first_seen,
    finished_at: status === "RUNNING" ? null : first_seen,
    terminal: null,
  });
  const start = "2026-01-01T00:00:00.000Z";
  const soon = new Date("2026-01-01T00:00:10.000Z");

  it("waits until every expected type's latest run is terminal", () => {
    const runs = [run("g", "GRU", "SUCCESS", start), run("l", "LSTM", "RUNNING", start)];
    expect(readiness(["GRU", "LSTM", "PROPHET"], runs, 3600, soon)).toEqual({
      ready: false,
      deadlinePassed: false,
      pending: ["LSTM", "PROPHET"],
    });
    const done = [
      run("g", "GRU", "SUCCESS", start),
      run("l", "LSTM", "FAILED", start),
      run("p", "PROPHET", "SUCCESS", start),
    ];
    expect(readiness(["GRU", "LSTM", "PROPHET"], done, 3600, soon)).toEqual({
      ready: true,
      deadlinePassed: false,
      pending: [],
    });
  });

  it("goes ahead with what is terminal once EVAL_DEADLINE_SECONDS has passed", () => {
    const runs = [run("g", "GRU", "SUCCESS", start)];
    expect(readiness(["GRU", "LSTM"], runs, 5, soon)).toEqual({
      ready: true,
      deadlinePassed: true,
      pending: ["LSTM"],
    });
  });

  it("judges a type by its newest run (a retried type is pending again)", () => {
    const runs = [run("g1", "GRU", "FAILED", start), run("g2", "GRU", "RUNNING", "2026-01-01T00:00:05.000Z")];
    expect(readiness(["GRU"], runs, 3600, soon).pending).toEqual(["GRU"]);
  });
});

describe("evaluation generations", () => {
  it("names the same set of runs the same way, in any order, and another set differently", () => {
    expect(generationOf(["b", "a"])).toBe(generationOf(["a", "b"]));
    expect(generationOf(["a", "b"])).toMatch(/^[0-9a-f]{16}$/);
    expect(generationOf(["a", "c"])).not.toBe(generationOf(["a", "b"]));
  });

  it("restarts the deadline clock at the newest run (a retry is not cut short)", () => {
    const old = {
      run_id: "g1",
      model_type: "GRU" as const,
      status: "SUCCESS" as const,
      first_seen: "2026-01-01T00:00:00.000Z",
      finished_at: null,
      terminal: null,
    };
    const retry = {
      run_id: "l2",
      model_type: "LSTM" as const,
      status: "RUNNING" as const,
      first_seen: "2026-01-01T05:00:00.000Z",
      finished_at: null,
      terminal: null,
    };
    const r = readiness(["GRU", "LSTM"], [old, retry], 3600, new Date("2026-01-01T05:10:00.000Z"));
    expect(r).toEqual({ ready: false, deadlinePassed: false, pending: ["LSTM"] });
  });
});
