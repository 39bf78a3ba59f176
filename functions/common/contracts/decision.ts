/** What evaluation decides: the scoreboard, the promotion pointer and its history, the decision record. */
import { z } from "zod";
import { ConfigHash, Identifier, ModelType, modelFields, PerTargetMetrics, RunId, S3Uri } from "./fields.ts";

export const ScoreboardEntry = z.object({
  run_id: z.string(),
  model_type: z.string(),
  kind: z.enum(["candidate", "baseline", "champion"]),
  /** REFUSED: scored output held non-finite values; never promoted. */
  status: z.enum(["SCORED", "FAILED", "MISSING", "REFUSED"]),
  score: z.number().nullable(),
  rmse: z.number().nullable(),
  mae: z.number().nullable(),
  mse: z.number().nullable(),
  per_target: PerTargetMetrics.optional(),
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
