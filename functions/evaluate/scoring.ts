/**
 * Pure scoring: error metrics in raw units, the persistence baseline, the composite score of
 * std-normalised errors, and the choice of a winner. No I/O here.
 */
import type { ErrorMetrics, PerTargetMetrics, ScoreboardEntry } from "../common/contracts.ts";

export interface ScoreWeights {
  rmse: number;
  mae: number;
  mse: number;
}

/**
 * Per-target MAE, MSE and RMSE over every window and horizon step.
 * `pred` and `truth` are row-major [n, horizon, nTargets].
 */
export function perTargetMetrics(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  targets: readonly string[],
): PerTargetMetrics {
  if (pred.length !== truth.length)
    throw new Error(`prediction has ${pred.length} values, truth ${truth.length}`);
  const k = targets.length;
  const n = pred.length / k;
  if (!Number.isInteger(n) || n === 0)
    throw new Error(`cannot score ${pred.length} values over ${k} targets`);
  const out: PerTargetMetrics = {};
  targets.forEach((name, j) => {
    let abs = 0;
    let sq = 0;
    for (let i = j; i < pred.length; i += k) {
      const e = (pred[i] as number) - (truth[i] as number);
      abs += Math.abs(e);
      sq += e * e;
    }
    const mse = sq / n;
    out[name] = { mae: abs / n, mse, rmse: Math.sqrt(mse) };
  });
  return out;
}

/** Mean of each metric over targets. */
export function meanOverTargets(perTarget: PerTargetMetrics): ErrorMetrics {
  const values = Object.values(perTarget);
  const mean = (key: keyof ErrorMetrics) => values.reduce((s, m) => s + m[key], 0) / values.length;
  return { mae: mean("mae"), rmse: mean("rmse"), mse: mean("mse") };
}

/** Population standard deviation; 1 when it is 0 or undefined (a constant target cannot be normalised). */
export function normaliser(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 1;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += ((values[i] as number) - mean) ** 2;
  const std = Math.sqrt(sq / n);
  return std > 0 && Number.isFinite(std) ? std : 1;
}

/**
 * Composite score (lower is better): per target w.rmse·RMSE/σ + w.mae·MAE/σ + w.mse·MSE/σ²,
 * σ the target's std on the test split, averaged over targets.
 */
export function compositeScore(
  perTarget: PerTargetMetrics,
  stds: Record<string, number>,
  weights: ScoreWeights,
): number {
  const names = Object.keys(perTarget);
  if (names.length === 0) throw new Error("no metrics to score");
  let total = 0;
  for (const name of names) {
    const m = perTarget[name] as ErrorMetrics;
    const s = stds[name];
    if (s === undefined) throw new Error(`no standard deviation for target '${name}'`);
    total += (weights.rmse * m.rmse) / s + (weights.mae * m.mae) / s + (weights.mse * m.mse) / (s * s);
  }
  return total / names.length;
}

/** The last observed value of each target repeated over the horizon: [n, horizon, nTargets]. */
export function persistencePredictions(
  last: ArrayLike<number>,
  nTargets: number,
  horizon: number,
): Float64Array {
  const n = last.length / nTargets;
  const out = new Float64Array(n * horizon * nTargets);
  for (let w = 0; w < n; w++) {
    for (let h = 0; h < horizon; h++) {
      for (let j = 0; j < nTargets; j++)
        out[(w * horizon + h) * nTargets + j] = last[w * nTargets + j] as number;
    }
  }
  return out;
}

export interface Ranked {
  run_id: string;
  score: number;
  /** ISO time the run was created (ties go to the newer run). */
  created_at: string;
}

/** The best (lowest score) candidate; equal scores go to the newer run. */
export function pickWinner<T extends Ranked>(candidates: readonly T[]): T | null {
  let best: T | null = null;
  for (const c of candidates) {
    if (!Number.isFinite(c.score)) continue;
    if (
      best === null ||
      c.score < best.score ||
      (c.score === best.score &&
        (c.created_at > best.created_at || (c.created_at === best.created_at && c.run_id > best.run_id)))
    ) {
      best = c;
    }
  }
  return best;
}

/**
 * Describes the non-finite values (NaN, ±Inf) of `pred` ([n, horizon, nTargets] row-major): their
 * count, per target, and the first one's window; null when every value is finite.
 */
export function nonFinite(
  pred: ArrayLike<number>,
  targets: readonly string[],
  horizon: number,
): string | null {
  const k = targets.length;
  const perTarget = new Map<string, number>();
  let first = -1;
  for (let i = 0; i < pred.length; i++) {
    if (Number.isFinite(pred[i] as number)) continue;
    if (first < 0) first = i;
    const name = targets[i % k] as string;
    perTarget.set(name, (perTarget.get(name) ?? 0) + 1);
  }
  if (first < 0) return null;
  const count = [...perTarget.values()].reduce((a, b) => a + b, 0);
  const listing = [...perTarget].map(([name, c]) => `${name} ${c}`).join(", ");
  const window = Math.floor(first / (horizon * k));
  return `test predictions hold ${count} non-finite value(s) of ${pred.length} (${listing}; first in window ${window}, ${targets[first % k]} ${pred[first]})`;
}

/** Only a scored entry with a finite score may win or stand as a champion. */
export function rankable(entry: ScoreboardEntry): entry is ScoreboardEntry & { score: number } {
  return entry.status === "SCORED" && entry.score !== null && Number.isFinite(entry.score);
}
