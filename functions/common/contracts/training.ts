/** Training runs: the trainer's job spec and parameters, and the documents a run leaves in model-artifacts. */
import { z } from "zod";
import { PerTargetMetrics, RunId, RunStatus, runFields, S3Uri } from "./fields.ts";
import { EnsembleRequest, ModelTrainingMessage, TrainingDataMessage } from "./messages.ts";

/** Column names of the processed Parquet: distinct, never `time` (the index). */
const ColumnNames = z
  .array(z.string().min(1))
  .min(1)
  .refine((names) => new Set(names).size === names.length, "must not repeat a column")
  .refine((names) => !names.includes("time"), "must not contain 'time'");

export const TrainParams = z.object({
  window: z.number().int().positive().max(10_000).default(10),
  horizon: z.number().int().positive().max(10_000).default(1),
  targets: ColumnNames.default(["down", "up"]),
  features: ColumnNames.nullable().default(null),
  step_seconds: z.number().positive().default(120),
  gap_tolerance_seconds: z.number().positive().default(360),
  max_epochs: z.number().int().positive().max(100_000).nullable().default(null),
  /** Prophet's Stan backend takes an unsigned 32-bit seed. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(42),
  device: z.enum(["auto", "cpu", "cuda"]).default("auto"),
  /** Levels of the model's `q` output. */
  quantiles: z
    .array(z.number().gt(0).lt(1))
    .min(1)
    .max(9)
    .refine((qs) => qs.every((q, i) => i === 0 || q > (qs[i - 1] as number)), "must be strictly ascending")
    .default([0.1, 0.5, 0.9]),
});
export type TrainParams = z.infer<typeof TrainParams>;

/**
 * What a trainer process, Lambda or task receives. functions/train/src/flts_train/spec.py accepts and refuses
 * the same JSON (test/fixtures/job-specs.json, checked on both sides).
 */
export const TrainerJobSpec = z
  .object({
    v: z.literal(1),
    ...runFields,
    training_data: TrainingDataMessage,
    artifacts: z.object({ bucket: z.string().min(1), prefix: z.string().regex(/^runs\/[^/]+\/$/) }),
    params: TrainParams.partial().strict().default({}),
    /** An ENSEMBLE's members (required for ENSEMBLE, refused for every other type). */
    ensemble: EnsembleRequest.optional(),
  })
  .superRefine((spec, ctx) => {
    const defaults = TrainParams.parse({});
    const targets = spec.params.targets ?? defaults.targets;
    const missing = targets.filter((t) => spec.params.features && !spec.params.features.includes(t));
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if ((spec.model_type === "ENSEMBLE") !== (spec.ensemble !== undefined))
      issue(
        ["ensemble"],
        spec.ensemble ? "is only for model_type ENSEMBLE" : "is required for model_type ENSEMBLE",
      );
    if (spec.training_data.config_hash !== spec.config_hash)
      issue(["training_data", "config_hash"], "must equal config_hash");
    if (missing.length)
      issue(["params", "features"], `must include every target (missing ${missing.join(", ")})`);
    const step = spec.params.step_seconds ?? defaults.step_seconds;
    if ((spec.params.gap_tolerance_seconds ?? defaults.gap_tolerance_seconds) < step)
      issue(["params", "gap_tolerance_seconds"], "must be >= params.step_seconds");
  });
export type TrainerJobSpec = z.infer<typeof TrainerJobSpec>;

/** `model-artifacts/runs/<run_id>/run.json`, written by train-dispatch and kept by the pipeline. */
export const RunRecord = z.object({
  ...runFields,
  backend: z.enum(["local", "lambda", "ecs"]),
  status: RunStatus,
  artifact_uri: S3Uri,
  training_data: TrainingDataMessage,
  created_at: z.string(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** `runs/<run_id>/heartbeat.json`, rewritten by the trainer while it runs. */
export const Heartbeat = z.looseObject({
  run_id: RunId,
  at: z.string().refine((s) => Number.isFinite(Date.parse(s)), "must be an ISO-8601 time"),
  beat: z.number().int().nonnegative(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** `runs/<run_id>/model.json`: the model card written by the trainer. */
export const ModelCard = z.looseObject({
  v: z.literal(1),
  ...runFields,
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
  /** Levels of the `q` output, ascending ([]: no `q`, e.g. older cards). */
  quantiles: z.array(z.number().gt(0).lt(1)).default([]),
  /** The validation predictions the run left (validation.npz); null or absent: none. */
  validation: z
    .object({ n_windows: z.number().int().nonnegative(), out_of_sample: z.boolean() })
    .nullable()
    .default(null),
  created_at: z.string(),
});
export type ModelCard = z.infer<typeof ModelCard>;

/** Per target, the error of each forecast step (index 0 = one step ahead). */
const PerStepMetrics = z.record(
  z.string(),
  z.object({ mae: z.array(z.number().nonnegative()), rmse: z.array(z.number().nonnegative()) }),
);

/** Per target: the share of test actuals inside the outermost quantile levels (null with one level) and pinball loss. */
const IntervalMetrics = z.record(
  z.string(),
  z.looseObject({
    levels: z.tuple([z.number(), z.number()]),
    coverage: z.number().min(0).max(1).nullable(),
    coverage_per_step: z.array(z.number().min(0).max(1)).nullable(),
    pinball: z.number().nonnegative(),
  }),
);

/** `runs/<run_id>/metrics.json`: the trainer's own test metrics (the per-step and interval fields are absent in older runs). */
export const TrainerMetrics = z.looseObject({
  test: PerTargetMetrics,
  persistence: PerTargetMetrics,
  n_test_windows: z.number().int().nonnegative(),
  per_step: PerStepMetrics.optional(),
  persistence_per_step: PerStepMetrics.optional(),
  intervals: IntervalMetrics.optional(),
});
export type TrainerMetrics = z.infer<typeof TrainerMetrics>;

/** `model-artifacts/guards/<config_hash>/<model_type>.json`: the durable duplicate guard of train-dispatch. */
export const DispatchGuard = z.object({
  ...runFields,
  created_at: z.string(),
});
export type DispatchGuard = z.infer<typeof DispatchGuard>;

/** `model-artifacts/evaluations/<identifier>/<config_hash>/runs/<run_id>.<STATUS>.json`. */
export const RunStatusRecord = z.object({
  message: ModelTrainingMessage,
  received_at: z.string(),
});
export type RunStatusRecord = z.infer<typeof RunStatusRecord>;
