/** Scores models and the persistence baseline on one test split (shared windows, raw units). */
import type { ModelCard, PerTargetMetrics, ScoreboardEntry } from "../common/contracts.ts";
import { predict } from "./onnx.ts";
import { type EntryBase, failedEntry } from "./scoreboard.ts";
import {
  compositeScore,
  meanOverTargets,
  nonFinite,
  normaliser,
  persistencePredictions,
  perTargetMetrics,
  type ScoreWeights,
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
}

export function prepareTestSet(
  series: Series,
  cfg: { window: number; horizon: number; targets: string[]; gapTolerance: number },
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
  };
}

function entry(
  base: EntryBase,
  perTarget: PerTargetMetrics,
  test: TestSet,
  weights: ScoreWeights,
): ScoreboardEntry {
  const mean = meanOverTargets(perTarget);
  return {
    ...base,
    status: "SCORED",
    score: compositeScore(perTarget, test.stds, weights),
    ...mean,
    per_target: perTarget,
  };
}

export function scoreBaseline(test: TestSet, weights: ScoreWeights): ScoreboardEntry {
  const pred = persistencePredictions(test.last, test.targets.length, test.horizon);
  return entry(
    { run_id: "persistence", model_type: "PERSISTENCE", kind: "baseline" },
    perTargetMetrics(pred, test.truth, test.targets),
    test,
    weights,
  );
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
  weights: ScoreWeights,
  /** Receives the test predictions of a scored model (the per-window series, series.ts). */
  onScored?: (pred: Float32Array) => void,
): Promise<ScoreboardEntry> {
  const problem = incompatibility(card, test);
  if (problem) return failedEntry(base, "FAILED", problem);
  try {
    const inputs = buildInputs(test.series, test.starts, card.features, test.window, test.horizon);
    const pred = await predict(modelBytes, inputs, {
      window: test.window,
      nFeatures: card.features.length,
      horizon: test.horizon,
      nTargets: test.targets.length,
    });
    const problem = nonFinite(pred, test.targets, test.horizon);
    if (problem) return failedEntry(base, "REFUSED", `${problem}: never promoted`);
    const scored = entry(base, perTargetMetrics(pred, test.truth, test.targets), test, weights);
    if (!Number.isFinite(scored.score))
      return failedEntry(base, "REFUSED", `score ${scored.score} is not finite: never promoted`);
    onScored?.(pred);
    return scored;
  } catch (error) {
    return failedEntry(base, "FAILED", `scoring failed: ${(error as Error).message}`);
  }
}
