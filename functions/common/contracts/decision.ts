/** What evaluation decides: the scoreboard, the promotion pointer and its history, the decision record. */
import { z } from "zod";
import { ConfigHash, Identifier, ModelType, modelFields, PerTargetMetrics, RunId, S3Uri } from "./fields.ts";

/** Per target, every forecast step's error (index 0 = step 1). */
export const PerHorizonMetrics = z.record(
  z.string(),
  z.object({ mae: z.array(z.number().nonnegative()), rmse: z.array(z.number().nonnegative()) }),
);
export type PerHorizonMetrics = z.infer<typeof PerHorizonMetrics>;

/** A ratio of two errors: 1 when both are 0, null when only the denominator (persistence's) is. */
const Ratio = z.number().nonnegative().nullable();

/** Per target, by step ("1", "5", "15", "30" where ≤ horizon): MAE and RMSE over persistence's. */
export const RatioToPersistence = z.record(
  z.string(),
  z.record(z.string(), z.object({ mae: Ratio, rmse: Ratio })),
);
export type RatioToPersistence = z.infer<typeof RatioToPersistence>;

const IntervalFigures = z.object({
  /** Share of actuals inside the outermost interval [levels[0], levels[last]]. */
  coverage: z.number().min(0).max(1),
  /** Mean pinball loss over every level, raw units. */
  pinball: z.number().nonnegative(),
});

/** A candidate's quantile forecasts on the test split (only for models with a `q` output). */
export const IntervalMetrics = z.object({
  levels: z.array(z.number().gt(0).lt(1)).min(1),
  per_target: z.record(
    z.string(),
    IntervalFigures.extend({ by_step: z.record(z.string(), IntervalFigures) }),
  ),
});
export type IntervalMetrics = z.infer<typeof IntervalMetrics>;

/** The per-target quality gate: MAE at every step against persistence's (GATE_MARGIN). */
export const GateResult = z.object({
  passed: z.boolean(),
  failures: z.array(
    z.object({
      target: z.string(),
      step: z.number().int().positive(),
      mae: z.number().nonnegative(),
      persistence_mae: z.number().nonnegative(),
      ratio: Ratio,
    }),
  ),
});
export type GateResult = z.infer<typeof GateResult>;

export const ScoreboardEntry = z.object({
  run_id: z.string(),
  model_type: z.string(),
  /** seasonal: the same-time-yesterday baseline, on the windows that have it; never eligible. */
  kind: z.enum(["candidate", "baseline", "seasonal", "champion"]),
  /** REFUSED: scored output held non-finite values; never promoted. */
  status: z.enum(["SCORED", "FAILED", "MISSING", "REFUSED"]),
  score: z.number().nullable(),
  rmse: z.number().nullable(),
  mae: z.number().nullable(),
  mse: z.number().nullable(),
  per_target: PerTargetMetrics.optional(),
  per_horizon: PerHorizonMetrics.optional(),
  ratio_to_persistence: RatioToPersistence.optional(),
  intervals: IntervalMetrics.optional(),
  gate: GateResult.optional(),
  /** The windows this row was scored on, when fewer than the decision's (the seasonal baseline). */
  n_windows: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
});
export type ScoreboardEntry = z.infer<typeof ScoreboardEntry>;

export const PROMOTION_POLICIES = ["beat_baseline_and_champion", "beat_baseline", "always"] as const;
export const PromotionPolicy = z.enum(PROMOTION_POLICIES);
export type PromotionPolicy = z.infer<typeof PromotionPolicy>;

/** `model-promotion/<scope>/current.json` and `<scope>/<config_hash>/current.json`. */
export const PromotionPointer = z.looseObject({
  ...modelFields,
  scope: z.string().min(1),
  score: z.number(),
  card_uri: S3Uri,
  promoted_at: z.string(),
});
export type PromotionPointer = z.infer<typeof PromotionPointer>;

/** `model-promotion/<scope>/<config_hash>/promotion-<timestamp>.json`. */
export const PromotionHistoryEntry = z.object({
  pointer: PromotionPointer,
  previous: PromotionPointer.nullable(),
  scoreboard: z.array(ScoreboardEntry),
  reason: z.string(),
});
export type PromotionHistoryEntry = z.infer<typeof PromotionHistoryEntry>;

/** `evaluations/<identifier>/<config_hash>/decisions/<generation>.json`: written once (conditional put). */
export const EvaluationDecision = z.object({
  v: z.literal(1),
  identifier: Identifier,
  config_hash: ConfigHash,
  /** Names the set of runs decided on (the newest run of each expected type). */
  generation: z.string().regex(/^[0-9a-f]{16}$/),
  runs: z.array(RunId),
  decided_at: z.string(),
  policy: PromotionPolicy,
  expected: z.array(ModelType),
  deadline_passed: z.boolean(),
  n_test_windows: z.number().int().nonnegative(),
  scoreboard: z.array(ScoreboardEntry),
  baseline: ScoreboardEntry,
  winner: z.object({ run_id: RunId, model_type: ModelType, score: z.number() }).nullable(),
  promoted: z.boolean(),
  reason: z.string(),
  pointer: PromotionPointer.nullable(),
  previous: PromotionPointer.nullable(),
  history_key: z.string().nullable(),
});
export type EvaluationDecision = z.infer<typeof EvaluationDecision>;
