/**
 * Pure scoring: error metrics in raw units, the persistence baseline, the composite score of
 * std-normalised errors, and the choice of a winner. No I/O here.
 */
import type {
  ErrorMetrics,
  PerHorizonMetrics,
  PerTargetMetrics,
  RatioToPersistence,
  ScoreboardEntry,
} from "../common/contracts.ts";

export interface ScoreWeights {
  rmse: number;
  mae: number;
  mse: number;
}

/** How the composite weighs forecast steps: all equal, step s by 1/s, or step 1 alone. */
export const HORIZON_WEIGHTINGS = ["uniform", "inverse", "first"] as const;
export type HorizonWeighting = (typeof HORIZON_WEIGHTINGS)[number];

export interface ScoreRule {
  weights: ScoreWeights;
  horizonWeighting: HorizonWeighting;
}

/** The steps (1-based) the decision summarises ratios and intervals at, those within the horizon. */
export function reportSteps(horizon: number): number[] {
  return [1, 5, 15, 30].filter((s) => s <= horizon);
}

/** The weight of each step (index 0 = step 1), summing to 1. */
export function stepWeights(weighting: HorizonWeighting, horizon: number): number[] {
  const raw = Array.from({ length: horizon }, (_, i) =>
    weighting === "uniform" ? 1 : weighting === "inverse" ? 1 / (i + 1) : i === 0 ? 1 : 0,
  );
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

/** Per target, MAE, MSE and RMSE at each step (index 0 = step 1); `pred`, `truth` [n, horizon, k]. */
export function perStepMetrics(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  targets: readonly string[],
  horizon: number,
): Record<string, ErrorMetrics[]> {
  if (pred.length !== truth.length)
    throw new Error(`prediction has ${pred.length} values, truth ${truth.length}`);
  const k = targets.length;
  const n = pred.length / (k * horizon);
  if (!Number.isInteger(n) || n === 0)
    throw new Error(`cannot score ${pred.length} values over ${horizon} steps and ${k} targets`);
  const out: Record<string, ErrorMetrics[]> = {};
  targets.forEach((name, j) => {
    out[name] = Array.from({ length: horizon }, (_, h) => {
      let abs = 0;
      let sq = 0;
      for (let w = 0; w < n; w++) {
        const i = (w * horizon + h) * k + j;
        const e = (pred[i] as number) - (truth[i] as number);
        abs += Math.abs(e);
        sq += e * e;
      }
      return { mae: abs / n, mse: sq / n, rmse: Math.sqrt(sq / n) };
    });
  });
  return out;
}

/** The decision record's per-horizon figures (MAE and RMSE of every step). */
export function perHorizon(perStep: Record<string, ErrorMetrics[]>): PerHorizonMetrics {
  const out: PerHorizonMetrics = {};
  for (const [name, steps] of Object.entries(perStep))
    out[name] = { mae: steps.map((m) => m.mae), rmse: steps.map((m) => m.rmse) };
  return out;
}

/** The composite score of each step (compositeScore), weighted over steps by the rule. */
export function horizonScore(
  perStep: Record<string, ErrorMetrics[]>,
  stds: Record<string, number>,
  rule: ScoreRule,
): number {
  const names = Object.keys(perStep);
  const horizon = perStep[names[0] as string]?.length ?? 0;
  if (horizon === 0) throw new Error("no metrics to score");
  const w = stepWeights(rule.horizonWeighting, horizon);
  let total = 0;
  w.forEach((weight, h) => {
    if (weight === 0) return;
    const atStep: PerTargetMetrics = {};
    for (const name of names) atStep[name] = (perStep[name] as ErrorMetrics[])[h] as ErrorMetrics;
    total += weight * compositeScore(atStep, stds, rule.weights);
  });
  return total;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : a === 0 ? 1 : null);

/** Per target, MAE and RMSE over the baseline's at the report steps (null where the baseline's is 0). */
export function ratioToPersistence(
  entry: PerHorizonMetrics,
  baseline: PerHorizonMetrics,
): RatioToPersistence {
  const out: RatioToPersistence = {};
  for (const [name, m] of Object.entries(entry)) {
    const b = baseline[name];
    if (!b) continue;
    const steps: RatioToPersistence[string] = {};
    for (const s of reportSteps(m.mae.length))
      steps[String(s)] = {
        mae: ratio(m.mae[s - 1] as number, b.mae[s - 1] as number),
        rmse: ratio(m.rmse[s - 1] as number, b.rmse[s - 1] as number),
      };
    out[name] = steps;
  }
  return out;
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
