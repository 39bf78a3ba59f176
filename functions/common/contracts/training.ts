/** Training runs: the trainer's job spec and parameters, and the documents a run leaves in model-artifacts. */
import { z } from "zod";
import { PerTargetMetrics, RunId, RunStatus, runFields, S3Uri } from "./fields.ts";
import { ModelTrainingMessage, TrainingDataMessage } from "./messages.ts";

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
  ...runFields,
  training_data: TrainingDataMessage,
  artifacts: z.object({ bucket: z.string().min(1), prefix: z.string().regex(/^runs\/[^/]+\/$/) }),
  params: TrainParams.partial().default({}),
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
