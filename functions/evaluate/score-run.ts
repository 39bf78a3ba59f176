/** Scores models and the persistence baseline on one test split (shared windows, raw units). */
import type { ModelCard, ScoreboardEntry } from "../common/contracts.ts";
import { intervalMetrics } from "./intervals.ts";
import { predict } from "./onnx.ts";
import { qualityGate } from "./policy.ts";
import { type EntryBase, failedEntry } from "./scoreboard.ts";
import {
  horizonScore,
  meanOverTargets,
  nonFinite,
  normaliser,
  perHorizon,
  perStepMetrics,
  persistencePredictions,
  perTargetMetrics,
  ratioToPersistence,
  type ScoreRule,
} from "./scoring.ts";
import { buildInputs, buildTargets, type Series, windowStarts } from "./windows.ts";

export interface TestSet {
  series: Series;
  window: number;
  horizon: number;
  targets: string[];
  starts: number[];
  truth: Float64Array;
  last: Float64Array;
  stds: Record<string, number>;
  /** The data's step; the seasonal baseline's tolerance is half of it. */
  stepSeconds: number;
}

/** The median spacing of the rows (the step when the configuration does not say). */
function medianStep(times: ArrayLike<number>): number {
  const d: number[] = [];
  for (let i = 1; i < times.length; i++) d.push((times[i] as number) - (times[i - 1] as number));
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)] ?? 0;
}

export function prepareTestSet(
  series: Series,
  cfg: { window: number; horizon: number; targets: string[]; gapTolerance: number; stepSeconds?: number },
): TestSet {
  const starts = windowStarts(series.times, cfg.window, cfg.horizon, cfg.gapTolerance);
  const { truth, last } = buildTargets(series, starts, cfg.targets, cfg.window, cfg.horizon);
  const stds: Record<string, number> = {};
  for (const t of cfg.targets) stds[t] = normaliser(series.columns.get(t) ?? []);
  return {
    series,
    window: cfg.window,
    horizon: cfg.horizon,
    targets: cfg.targets,
    starts,
    truth,
    last,
    stds,
    stepSeconds: cfg.stepSeconds ?? medianStep(series.times),
  };
}

/** A scored row: pooled per-target metrics, every step's, and the horizon-weighted composite score. */
export function scoredEntry(
  base: EntryBase,
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  test: Pick<TestSet, "targets" | "horizon" | "stds">,
  rule: ScoreRule,
): ScoreboardEntry {
  const perTarget = perTargetMetrics(pred, truth, test.targets);
  const perStep = perStepMetrics(pred, truth, test.targets, test.horizon);
  return {
    ...base,
    status: "SCORED",
    score: horizonScore(perStep, test.stds, rule),
    ...meanOverTargets(perTarget),
    per_target: perTarget,
    per_horizon: perHorizon(perStep),
  };
}

export function scoreBaseline(test: TestSet, rule: ScoreRule): ScoreboardEntry {
  const pred = persistencePredictions(test.last, test.targets.length, test.horizon);
  return scoredEntry(
    { run_id: "persistence", model_type: "PERSISTENCE", kind: "baseline" },
    pred,
    test.truth,
    test,
    rule,
  );
}

/** A scored row with its ratios to the persistence baseline and its quality gate (policy.ts). */
export function compareWithBaseline(
  entry: ScoreboardEntry,
  baseline: ScoreboardEntry,
  gateMargin: number,
): ScoreboardEntry {
  if (entry.status !== "SCORED" || !entry.per_horizon || !baseline.per_horizon) return entry;
  return {
    ...entry,
    ratio_to_persistence: ratioToPersistence(entry.per_horizon, baseline.per_horizon),
    gate: qualityGate(entry.per_horizon, baseline.per_horizon, gateMargin),
  };
}

/** Checks that a card fits the test set; returns the problem, or null. */
export function incompatibility(card: ModelCard, test: TestSet): string | null {
  if (card.window !== test.window)
    return `model window ${card.window} differs from the data's ${test.window}`;
  if (card.horizon !== test.horizon)
    return `model horizon ${card.horizon} differs from the data's ${test.horizon}`;
  if (card.targets.join(",") !== test.targets.join(","))
    return `model targets [${card.targets}] differ from the data's [${test.targets}]`;
  const missing = card.features.filter((f) => !test.series.columns.has(f));
  if (missing.length) return `model features ${missing.join(", ")} are not in the test data`;
  return null;
}

export async function scoreModel(
  base: EntryBase,
  card: ModelCard,
  modelBytes: Uint8Array,
  test: TestSet,
  rule: ScoreRule,
  /** Receives the test predictions of a scored model (the per-window series, series.ts). */
  onScored?: (pred: Float32Array) => void,
): Promise<ScoreboardEntry> {
  const problem = incompatibility(card, test);
  if (problem) return failedEntry(base, "FAILED", problem);
  const { quantiles } = card;
  try {
    const inputs = buildInputs(test.series, test.starts, card.features, test.window, test.horizon);
    const { y, q } = await predict(modelBytes, inputs, {
      window: test.window,
      nFeatures: card.features.length,
      horizon: test.horizon,
      nTargets: test.targets.length,
      nQuantiles: quantiles.length,
    });
    const problem = nonFinite(y, test.targets, test.horizon);
    if (problem) return failedEntry(base, "REFUSED", `${problem}: never promoted`);
    const scored = scoredEntry(base, y, test.truth, test, rule);
    if (!Number.isFinite(scored.score))
      return failedEntry(base, "REFUSED", `score ${scored.score} is not finite: never promoted`);
    if (q) {
      const bad = q.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        return failedEntry(base, "REFUSED", `quantile output q[${bad}] is ${q[bad]}: never promoted`);
      scored.intervals = intervalMetrics(q, test.truth, test.targets, test.horizon, quantiles);
    }
    onScored?.(y);
    return scored;
  } catch (error) {
    return failedEntry(base, "FAILED", `scoring failed: ${(error as Error).message}`);
  }
}
