/**
 * The one place for every message, record and document the stages exchange.
 * Shapes stay compatible with the original FLTS services (see DESIGN.md, "Contracts").
 */
import { z } from "zod";

export const TOPICS = {
  trainingData: "training-data",
  modelTraining: "model-training",
  modelSelected: "model-selected",
  inferenceData: "inference-data",
  performanceEval: "performance-eval",
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
export const dlqTopic = (topic: string): string => `DLQ-${topic}`;

export const MODEL_TYPES = ["GRU", "LSTM", "PROPHET"] as const;
export const ModelType = z.enum(MODEL_TYPES);
export type ModelType = z.infer<typeof ModelType>;

export const RUN_STATUSES = ["RUNNING", "SUCCESS", "FAILED"] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

const ConfigHash = z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-character lowercase hex SHA-256");
const Identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only");
const RunId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only");
const S3Uri = z.string().regex(/^s3:\/\/[^/]+\/.*/, "must be an s3://bucket/key URI");
/** Field schemas reused by other modules (identifier, run id, config hash). */
export const IdentifierField = Identifier;
export const RunIdField = RunId;
export const ConfigHashField = ConfigHash;

export const ErrorMetrics = z.object({
  mae: z.number().nonnegative(),
  rmse: z.number().nonnegative(),
  mse: z.number().nonnegative(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetrics>;
export const PerTargetMetrics = z.record(z.string(), ErrorMetrics);
export type PerTargetMetrics = z.infer<typeof PerTargetMetrics>;

/** `training-data`: the claim check for one processed data set. */
/** Amounts that cannot be negative: traffic volumes (bits), users seen, resource blocks used. */
export const VOLUME_COLUMNS = ["down", "up", "rnti_count", "rb_down", "rb_up"] as const;

export const TrainingDataMessage = z.looseObject({
  bucket: z.string().min(1),
  object_key: z.string().min(1),
  test_object_key: z.string().min(1),
  config_hash: ConfigHash,
  identifier: Identifier,
  v: z.literal(1),
  size: z.number().int().nonnegative(),
  /** What preprocess did (optional: claim checks of the original services do not carry it). */
  report: z.lazy(() => PreprocessReport).optional(),
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

/** `model-selected`: a promotion. */
export const ModelSelectedMessage = z.looseObject({
  model_uri: S3Uri,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  identifier: Identifier,
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
  config_hash: ConfigHash,
  identifier: Identifier,
  v: z.literal(1),
  size: z.number().int().nonnegative(),
  purpose: z.literal("score"),
});
export type InferenceDataMessage = z.infer<typeof InferenceDataMessage>;

/** Per target: live MAE / persistence MAE, the same ratio on the model's own test split, and their quotient. */
export const DriftEntry = z.object({
  live_ratio: z.number().nonnegative().nullable(),
  reference_ratio: z.number().nonnegative().nullable(),
  change: z.number().nonnegative().nullable(),
});

/** `performance-eval`: what one batch-inference run measured. */
export const PerformanceEvalMessage = z.looseObject({
  identifier: Identifier,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  n_windows: z.number().int().nonnegative(),
  metrics: PerTargetMetrics,
  persistence: PerTargetMetrics,
  ratio: z.record(z.string(), z.number().nonnegative().nullable()),
  drift: z.record(z.string(), DriftEntry),
  output_uri: S3Uri,
  seconds: z.number().nonnegative(),
  /** The scored claim check's object and config hash (of the scored data, not the model). */
  source: z.object({ bucket: z.string().min(1), object_key: z.string().min(1), config_hash: ConfigHash }),
  /** Windows left out: their rows span a gap, or a feature cell is not finite. */
  windows_skipped: z.object({
    gap: z.number().int().nonnegative(),
    non_finite: z.number().int().nonnegative(),
  }),
});
export type PerformanceEvalMessage = z.infer<typeof PerformanceEvalMessage>;

/** `model-promotion/<identifier>/drift/<run_id>-<id>.json`: monitor's record of a degraded model (written once). */
export const DriftEvent = z.object({
  v: z.literal(1),
  identifier: Identifier,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  threshold: z.number().positive(),
  /** Where the ratio at promotion came from: the decision record, or the model card when none names the run. */
  reference: z.enum(["decision", "card"]),
  targets: z.record(
    z.string(),
    z.object({
      live_ratio: z.number().nullable(),
      reference_ratio: z.number().nullable(),
      change: z.number().nullable(),
      drifted: z.boolean(),
    }),
  ),
  output_uri: S3Uri,
  detected_at: z.string(),
});
export type DriftEvent = z.infer<typeof DriftEvent>;

/**
 * One row of a batch result (Parquet `inference-logs/<identifier>/<YYYYMMDD>/batch-<run_id>-<id>.parquet`):
 * the instant forecast, its step (1..horizon), each target's forecast and, where the data has it, the actual.
 */
export function batchResultRow(targets: readonly string[]) {
  const shape: Record<string, z.ZodType> = {
    ts: z.date(),
    step: z.number().int().positive(),
  };
  for (const target of targets) {
    shape[target] = z.number();
    shape[`${target}_actual`] = z.number().nullable();
  }
  return z.strictObject(shape);
}

/** What lands in `DLQ-<topic>` when a message fails validation or exhausts its retries. */
export const DlqEnvelope = z.object({
  source_topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  value: z.string(),
  consumer_group: z.string(),
  function: z.string(),
  error: z.string(),
  attempts: z.number().int().positive(),
  failed_at: z.string(),
});
export type DlqEnvelope = z.infer<typeof DlqEnvelope>;

export const TrainParams = z.object({
  window: z.number().int().positive().default(10),
  horizon: z.number().int().positive().default(1),
  targets: z.array(z.string().min(1)).min(1).default(["down", "up"]),
  features: z.array(z.string().min(1)).min(1).nullable().default(null),
  step_seconds: z.number().positive().default(120),
  gap_tolerance_seconds: z.number().positive().default(360),
  max_epochs: z.number().int().positive().nullable().default(null),
  seed: z.number().int().default(42),
  device: z.enum(["auto", "cpu", "cuda"]).default("auto"),
});
export type TrainParams = z.infer<typeof TrainParams>;

/** What a trainer process, Lambda or task receives (mirrored by functions/train/src/flts_train/spec.py). */
export const TrainerJobSpec = z.object({
  v: z.literal(1),
  run_id: RunId,
  model_type: ModelType,
  identifier: Identifier,
  config_hash: ConfigHash,
  training_data: TrainingDataMessage,
  artifacts: z.object({ bucket: z.string().min(1), prefix: z.string().regex(/^runs\/[^/]+\/$/) }),
  params: TrainParams.partial().default({}),
});
export type TrainerJobSpec = z.infer<typeof TrainerJobSpec>;

/** `model-artifacts/runs/<run_id>/run.json`, written by train-dispatch and kept by the pipeline. */
export const RunRecord = z.object({
  run_id: RunId,
  model_type: ModelType,
  identifier: Identifier,
  config_hash: ConfigHash,
  backend: z.enum(["local", "lambda", "ecs"]),
  status: RunStatus,
  artifact_uri: S3Uri,
  training_data: TrainingDataMessage,
  created_at: z.string(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** `runs/<run_id>/model.json`: the model card written by the trainer. */
export const ModelCard = z.looseObject({
  v: z.literal(1),
  run_id: RunId,
  model_type: ModelType,
  identifier: Identifier,
  config_hash: ConfigHash,
  features: z.array(z.string()).min(1),
  targets: z.array(z.string()).min(1),
  window: z.number().int().positive(),
  horizon: z.number().int().positive(),
  step_seconds: z.number().positive(),
  training_data: TrainingDataMessage,
  hyperparameters: z.record(z.string(), z.unknown()).default({}),
  metrics: z.object({ test: PerTargetMetrics, persistence: PerTargetMetrics }),
  library_versions: z.record(z.string(), z.string()).default({}),
  device: z.string(),
  epochs: z.number().int().nonnegative().nullable().default(null),
  timings: z.record(z.string(), z.number()).default({}),
  created_at: z.string(),
});
export type ModelCard = z.infer<typeof ModelCard>;

/** `runs/<run_id>/metrics.json`: the trainer's own test metrics. */
export const TrainerMetrics = z.looseObject({
  test: PerTargetMetrics,
  persistence: PerTargetMetrics,
  n_test_windows: z.number().int().nonnegative(),
});
export type TrainerMetrics = z.infer<typeof TrainerMetrics>;

/** `model-promotion/<scope>/current.json` and `<scope>/<config_hash>/current.json`. */
export const PromotionPointer = z.looseObject({
  model_uri: S3Uri,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  identifier: Identifier,
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

/** Formats a zod error as `field: problem; field: problem`, naming each offending path. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

export class ContractError extends Error {
  /** Retrying cannot fix a message that breaks its contract. */
  readonly permanent = true;
  constructor(
    readonly contract: string,
    readonly details: string,
  ) {
    super(`invalid ${contract}: ${details}`);
  }
}

/** Parses `value` against `schema`, throwing a ContractError that names each bad field. */
export function parseContract<S extends z.ZodType>(schema: S, contract: string, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ContractError(contract, describeIssues(result.error));
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// Pipeline documents (preprocess sidecar, evaluation state and decision).

export const NAN_POLICIES = ["drop", "ffill", "constant"] as const;
export const NEGATIVE_POLICIES = ["reject", "clip"] as const;

/** Every setting that changes the processed data; hashed (with the raw digest and salt) into `config_hash`. */
export const PreprocessConfig = z.object({
  time_column: z.literal("time"),
  features: z.array(z.string().min(1)).min(1).nullable(),
  targets: z.array(z.string().min(1)).min(1),
  nan_policy: z.enum(NAN_POLICIES),
  nan_constant: z.number(),
  /** Negative cells in `volume_columns`: a permanent error, or clipped to 0. */
  negative_policy: z.enum(NEGATIVE_POLICIES),
  volume_columns: z.array(z.string().min(1)),
  /** The features when `features` is null: those of these columns the CSV has. */
  reference_columns: z.array(z.string().min(1)).min(1),
  clip: z
    .object({
      lower_pct: z.number().min(0).max(1),
      upper_pct: z.number().min(0).max(1),
    })
    .refine((c) => c.lower_pct < c.upper_pct, "lower_pct must be below upper_pct")
    .nullable(),
  split: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("fraction"), test_fraction: z.number().gt(0).lt(1) }),
    z.object({ kind: z.literal("file"), test_file: z.string().min(1) }),
  ]),
  min_rows: z.number().int().positive(),
  window: z.number().int().positive(),
  horizon: z.number().int().positive(),
  step_seconds: z.number().positive(),
  gap_tolerance_seconds: z.number().positive(),
});
export type PreprocessConfig = z.infer<typeof PreprocessConfig>;

const Count = z.number().int().nonnegative();

/** What preprocess did to one data set: in the sidecar, the claim check and the handler's result. */
export const PreprocessReport = z.object({
  /** Data rows read (main CSV plus its _test companion). */
  rows_read: Count,
  duplicates_dropped: Count,
  /** Rows the NaN policy dropped (`drop`, or leading rows `ffill` has nothing to carry into). */
  rows_dropped_missing: Count,
  nan_policy: z.enum(NAN_POLICIES),
  /** Per column with at least one missing cell (in the rows kept after de-duplication). */
  missing_cells: z.record(z.string(), z.object({ empty: Count, nan: Count, inf: Count, filled: Count })),
  negative_policy: z.enum(NEGATIVE_POLICIES),
  /** Per column with at least one negative cell clipped to 0 (rows kept after de-duplication). */
  negatives_clipped: z.record(z.string(), Count),
  /** `FEATURES` (explicit) or `reference_columns` (the default). */
  feature_selection: z.enum(["FEATURES", "reference_columns"]),
  features: z.array(z.string()).min(1),
  /** CSV columns other than `time` that are not features (never used by training). */
  features_left_out: z.array(z.string()),
});
export type PreprocessReport = z.infer<typeof PreprocessReport>;

const SplitStats = z.object({
  key: z.string().min(1),
  rows: z.number().int().nonnegative(),
  start: z.string().nullable(),
  end: z.string().nullable(),
});

/** `processed-data/<identifier>/<config_hash>/.meta.json`: written last, its presence marks the set done. */
export const ProcessedMeta = z.object({
  v: z.literal(1),
  identifier: Identifier,
  config_hash: ConfigHash,
  config: PreprocessConfig,
  raw: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    test_key: z.string().nullable(),
    test_sha256: z.string().nullable(),
  }),
  columns: z.array(z.string()).min(1),
  features: z.array(z.string()).min(1),
  targets: z.array(z.string()).min(1),
  clip_bounds: z.record(z.string(), z.object({ lower: z.number(), upper: z.number() })).nullable(),
  rows: z.object({
    input: z.number().int().nonnegative(),
    duplicates_dropped: z.number().int().nonnegative(),
    nan_rows_dropped: z.number().int().nonnegative(),
  }),
  report: z.lazy(() => PreprocessReport),
  train: SplitStats,
  test: SplitStats,
  claim_check: TrainingDataMessage,
  created_at: z.string(),
});
export type ProcessedMeta = z.infer<typeof ProcessedMeta>;

/** `model-artifacts/guards/<config_hash>/<model_type>.json`: the durable duplicate guard of train-dispatch. */
export const DispatchGuard = z.object({
  run_id: RunId,
  model_type: ModelType,
  identifier: Identifier,
  config_hash: ConfigHash,
  created_at: z.string(),
});
export type DispatchGuard = z.infer<typeof DispatchGuard>;

/** `model-artifacts/evaluations/<identifier>/<config_hash>/runs/<run_id>.<STATUS>.json`. */
export const RunStatusRecord = z.object({
  message: ModelTrainingMessage,
  received_at: z.string(),
});
export type RunStatusRecord = z.infer<typeof RunStatusRecord>;

export const PROMOTION_POLICIES = ["beat_baseline_and_champion", "beat_baseline", "always"] as const;
export const PromotionPolicy = z.enum(PROMOTION_POLICIES);
export type PromotionPolicy = z.infer<typeof PromotionPolicy>;

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

/** An error that retrying cannot fix (bad input): the runtime sends the message to the DLQ at once. */
export class PermanentError extends Error {
  readonly permanent = true;
}

export function isPermanent(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { permanent?: unknown }).permanent === true;
}
