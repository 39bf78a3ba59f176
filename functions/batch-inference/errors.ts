/**
 * Running error sums per target for the model and the persistence baseline (the last observed
 * value repeated), over every window and horizon step whose actual is finite. Same definitions as
 * functions/evaluate/scoring.ts (perTargetMetrics), accumulated block by block.
 */
import type { PerTargetMetrics } from "../common/contracts.ts";

export class ErrorSums {
  private readonly abs: Float64Array;
  private readonly sq: Float64Array;
  private readonly pAbs: Float64Array;
  private readonly pSq: Float64Array;
  private readonly count: Float64Array;

  constructor(
    private readonly targets: readonly string[],
    private readonly horizon: number,
  ) {
    const k = targets.length;
    this.abs = new Float64Array(k);
    this.sq = new Float64Array(k);
    this.pAbs = new Float64Array(k);
    this.pSq = new Float64Array(k);
    this.count = new Float64Array(k);
  }

  /** `pred` and `truth` [n, horizon, k]; `last` [n, k]. */
  add(pred: ArrayLike<number>, truth: ArrayLike<number>, last: ArrayLike<number>): void {
    const k = this.targets.length;
    const h = this.horizon;
    for (let i = 0; i < truth.length; i++) {
      const actual = truth[i] as number;
      if (!Number.isFinite(actual)) continue;
      const j = i % k;
      const w = Math.floor(i / (h * k));
      const e = (pred[i] as number) - actual;
      const p = (last[w * k + j] as number) - actual;
      this.abs[j] = (this.abs[j] as number) + Math.abs(e);
      this.sq[j] = (this.sq[j] as number) + e * e;
      this.pAbs[j] = (this.pAbs[j] as number) + Math.abs(p);
      this.pSq[j] = (this.pSq[j] as number) + p * p;
      this.count[j] = (this.count[j] as number) + 1;
    }
  }

  /** Forecasts scored per target. */
  scored(target: string): number {
    return this.count[this.targets.indexOf(target)] ?? 0;
  }

  model(): PerTargetMetrics {
    return this.metrics(this.abs, this.sq);
  }

  persistence(): PerTargetMetrics {
    return this.metrics(this.pAbs, this.pSq);
  }

  private metrics(abs: Float64Array, sq: Float64Array): PerTargetMetrics {
    const out: PerTargetMetrics = {};
    this.targets.forEach((name, j) => {
      const n = this.count[j] as number;
      if (n === 0) return;
      const mse = (sq[j] as number) / n;
      out[name] = { mae: (abs[j] as number) / n, mse, rmse: Math.sqrt(mse) };
    });
    return out;
  }
}

/** MAE / persistence MAE per target (null when persistence is exact or nothing was scored). */
export function maeRatio(
  model: PerTargetMetrics,
  persistence: PerTargetMetrics,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, m] of Object.entries(model)) {
    const p = persistence[name];
    out[name] = p && p.mae > 0 ? m.mae / p.mae : null;
  }
  return out;
}
