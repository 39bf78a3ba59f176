/**
 * Pure: how good a candidate's quantile forecasts are on the test split. Per target, the coverage of
 * the outermost interval (levels[0]..levels[last]) and the mean pinball loss over every level, over
 * all steps and at the report steps (scoring.ts reportSteps).
 */
import type { IntervalMetrics } from "../common/contracts.ts";
import { reportSteps } from "./scoring.ts";

/** Pinball (quantile) loss of forecast `q` at level `tau` for the actual `y`. */
export function pinball(y: number, q: number, tau: number): number {
  const d = y - q;
  return d >= 0 ? tau * d : (tau - 1) * d;
}

interface Sums {
  covered: number;
  loss: number;
  count: number;
}

const figures = (s: Sums, nq: number) => ({
  coverage: s.covered / s.count,
  pinball: s.loss / (s.count * nq),
});

/**
 * `q` [n, horizon, k, nq] (levels ascending), `truth` [n, horizon, k], both row-major.
 */
export function intervalMetrics(
  q: ArrayLike<number>,
  truth: ArrayLike<number>,
  targets: readonly string[],
  horizon: number,
  levels: readonly number[],
): IntervalMetrics {
  const k = targets.length;
  const nq = levels.length;
  if (nq === 0) throw new Error("no quantile levels");
  if (levels.some((l, i) => i > 0 && l <= (levels[i - 1] as number)))
    throw new Error(`quantile levels [${levels.join(", ")}] are not strictly ascending`);
  if (q.length !== truth.length * nq)
    throw new Error(`quantiles hold ${q.length} values, expected ${truth.length}×${nq}`);
  const n = truth.length / (horizon * k);
  if (!Number.isInteger(n) || n === 0) throw new Error(`cannot score ${truth.length} actuals`);
  const perTarget: IntervalMetrics["per_target"] = {};
  targets.forEach((name, j) => {
    const steps: Sums[] = Array.from({ length: horizon }, () => ({ covered: 0, loss: 0, count: 0 }));
    for (let w = 0; w < n; w++)
      for (let h = 0; h < horizon; h++) {
        const i = (w * horizon + h) * k + j;
        const y = truth[i] as number;
        const base = i * nq;
        const s = steps[h] as Sums;
        for (let l = 0; l < nq; l++) s.loss += pinball(y, q[base + l] as number, levels[l] as number);
        if (y >= (q[base] as number) && y <= (q[base + nq - 1] as number)) s.covered += 1;
        s.count += 1;
      }
    const all = steps.reduce(
      (a, s) => ({ covered: a.covered + s.covered, loss: a.loss + s.loss, count: a.count + s.count }),
      { covered: 0, loss: 0, count: 0 },
    );
    const byStep: Record<string, { coverage: number; pinball: number }> = {};
    for (const s of reportSteps(horizon)) byStep[String(s)] = figures(steps[s - 1] as Sums, nq);
    perTarget[name] = { ...figures(all, nq), by_step: byStep };
  });
  return { levels: [...levels], per_target: perTarget };
}
