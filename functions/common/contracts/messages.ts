/** The messages on the pipeline's topics (TOPICS), each the shape of the original FLTS services. */
import { z } from "zod";
import { GENERATION } from "../keys/segments.ts";
import { ScoreboardEntry } from "./decision.ts";
import {
  ConfigHash,
  ErrorMetrics,
  Identifier,
  ModelType,
  modelFields,
  PerTargetMetrics,
  RunId,
  RunStatus,
  S3Uri,
} from "./fields.ts";
import { PreprocessReport } from "./preprocess.ts";

/** One member of an ensemble: a successful run of the generation, never an ENSEMBLE itself. */
export const EnsembleMember = z.object({
  run_id: RunId,
  model_type: ModelType.refine((t) => t !== "ENSEMBLE", "an ENSEMBLE cannot be a member of an ensemble"),
});
export type EnsembleMember = z.infer<typeof EnsembleMember>;

/** What an ENSEMBLE run combines: 2 to 8 distinct runs of one evaluation generation (16 hex). */
export const EnsembleRequest = z.object({
  generation: z
    .string()
    .regex(new RegExp(`^${GENERATION}$`), "must be an evaluation generation (16 lowercase hex)"),
  members: z
    .array(EnsembleMember)
    .min(2)
    .max(8)
    .refine((ms) => new Set(ms.map((m) => m.run_id)).size === ms.length, "must not repeat a run_id"),
});
export type EnsembleRequest = z.infer<typeof EnsembleRequest>;

/** What a claim check of a processed data set carries besides its objects. */
const dataSetFields = {
  config_hash: ConfigHash,
  identifier: Identifier,
  v: z.literal(1),
  size: z.number().int().nonnegative(),
};

/** `training-data`: the claim check for one processed data set. */
export const TrainingDataMessage = z.looseObject({
  bucket: z.string().min(1),
  object_key: z.string().min(1),
  test_object_key: z.string().min(1),
  ...dataSetFields,
  /** What preprocess did (optional: claim checks of the original services do not carry it). */
  report: PreprocessReport.optional(),
  /** Set by evaluate: train only an ENSEMBLE of these members (optional: plain claim checks train every type). */
  ensemble: EnsembleRequest.optional(),
});
export type TrainingDataMessage = z.infer<typeof TrainingDataMessage>;

/** `model-training`: one run's state change. `metrics` is the mean over targets, as in the original. */
export const ModelTrainingMessage = z.looseObject({
  operation: z.string().min(1),
  status: RunStatus,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  identifier: Identifier,
  artifact_uri: S3Uri,
  metrics: ErrorMetrics.nullable().default(null),
  per_target: PerTargetMetrics.optional(),
  error: z.string().nullable().default(null),
});
export type ModelTrainingMessage = z.infer<typeof ModelTrainingMessage>;

/** `model-selected`: a promotion. */
export const ModelSelectedMessage = z.looseObject({
  ...modelFields,
  score: z.number(),
  rmse: z.number(),
  mae: z.number(),
  mse: z.number(),
  scoreboard: z.array(ScoreboardEntry),
});
export type ModelSelectedMessage = z.infer<typeof ModelSelectedMessage>;

/** `inference-data`: the claim check of a processed data set to score (the original's shape plus `purpose`). */
export const InferenceDataMessage = z.looseObject({
  bucket: z.string().min(1),
  object_key: z.string().min(1),
  ...dataSetFields,
  purpose: z.literal("score"),
});
export type InferenceDataMessage = z.infer<typeof InferenceDataMessage>;
