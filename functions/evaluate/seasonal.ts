/**
 * Pure: the seasonal baseline, "same time yesterday": each forecast step predicted by the target's
 * value 86 400 s earlier in the test split (within half a step). Scored on the windows where every
 * step has one, against persistence on those same windows; a scoreboard row of kind `seasonal`,
 * never eligible and never gating.
 */
import type { ScoreboardEntry } from "../common/contracts.ts";
import { scoredEntry, type TestSet } from "./score-run.ts";
import { type EntryBase, failedEntry } from "./scoreboard.ts";
import { persistencePredictions, ratioToPersistence, type ScoreRule } from "./scoring.ts";

export const SEASON_SECONDS = 86_400;

const BASE: EntryBase = { run_id: "seasonal", model_type: "SEASONAL", kind: "seasonal" };

/** The row whose time is nearest `t` within `tolerance`, or -1 (`times` ascending). */
export function rowAt(times: ArrayLike<number>, t: number, tolerance: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  for (const i of [lo - 1, lo]) {
    const v = times[i];
    if (v === undefined) continue;
    if (Math.abs(v - t) <= tolerance && (best < 0 || Math.abs(v - t) < Math.abs((times[best] as number) - t)))
      best = i;
  }
  return best;
}

/** The windows (indices into `test.starts`) that have a value a day earlier at every step, and those values. */
export function seasonalPredictions(test: TestSet): { windows: number[]; pred: Float64Array } {
  const { series, starts, window, horizon, targets } = test;
  const k = targets.length;
  const cols = targets.map((t) => series.columns.get(t) ?? new Float64Array(0));
  const tolerance = test.stepSeconds / 2;
  const windows: number[] = [];
  const values: number[] = [];
  starts.forEach((s, w) => {
    const row: number[] = [];
    for (let h = 0; h < horizon; h++) {
      const j = rowAt(series.times, (series.times[s + window + h] as number) - SEASON_SECONDS, tolerance);
      if (j < 0) return;
      for (const col of cols) {
        const v = col[j] as number;
        if (!Number.isFinite(v)) return;
        row.push(v);
      }
    }
    windows.push(w);
    values.push(...row);
  });
  if (values.length !== windows.length * horizon * k) throw new Error("seasonal values out of step");
  return { windows, pred: Float64Array.from(values) };
}

function pick(values: Float64Array, windows: readonly number[], size: number): Float64Array {
  const out = new Float64Array(windows.length * size);
  windows.forEach((w, i) => {
    out.set(values.subarray(w * size, (w + 1) * size), i * size);
  });
  return out;
}

export function scoreSeasonal(test: TestSet, rule: ScoreRule): ScoreboardEntry {
  const { windows, pred } = seasonalPredictions(test);
  const k = test.targets.length;
  if (windows.length === 0)
    return {
      ...failedEntry(BASE, "MISSING", "no test window has every step's value a day earlier"),
      n_windows: 0,
    };
  const truth = pick(test.truth, windows, test.horizon * k);
  const persistence = persistencePredictions(pick(test.last, windows, k), k, test.horizon);
  const baseline = scoredEntry({ ...BASE, kind: "baseline" }, persistence, truth, test, rule);
  const row = scoredEntry(BASE, pred, truth, test, rule);
  return {
    ...row,
    ratio_to_persistence: ratioToPersistence(row.per_horizon ?? {}, baseline.per_horizon ?? {}),
    n_windows: windows.length,
  };
}
