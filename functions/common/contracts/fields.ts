/** Field schemas the contracts share: names, hashes, URIs, model types, run statuses and error metrics. */
import { z } from "zod";

export const MODEL_TYPES = ["GRU", "LSTM", "PROPHET", "LINEAR", "GBDT", "ENSEMBLE"] as const;
/** The types train-dispatch starts for a fresh data set (an ENSEMBLE runs only when evaluate asks). */
export const DISPATCHED_MODEL_TYPES = ["GRU", "LSTM", "PROPHET", "LINEAR", "GBDT"] as const;
export const ModelType = z.enum(MODEL_TYPES);
export type ModelType = z.infer<typeof ModelType>;

export const RUN_STATUSES = ["RUNNING", "SUCCESS", "FAILED"] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

const safeName = () =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only");

export const ConfigHash = z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-character lowercase hex SHA-256");
export const Identifier = safeName();
export const RunId = safeName();
export const S3Uri = z.string().regex(/^s3:\/\/[^/]+\/.*/, "must be an s3://bucket/key URI");

/** The fields that name one training run, in the order the run documents list them. */
export const runFields = {
  run_id: RunId,
  model_type: ModelType,
  identifier: Identifier,
  config_hash: ConfigHash,
};

/** The fields that name a promoted model: its ONNX file and the run that made it. */
export const modelFields = {
  model_uri: S3Uri,
  run_id: RunId,
  model_type: ModelType,
  config_hash: ConfigHash,
  identifier: Identifier,
};

/** A count of rows, cells or windows. */
export const Count = z.number().int().nonnegative();

export const ErrorMetrics = z.object({
  mae: z.number().nonnegative(),
  rmse: z.number().nonnegative(),
  mse: z.number().nonnegative(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetrics>;
export const PerTargetMetrics = z.record(z.string(), ErrorMetrics);
export type PerTargetMetrics = z.infer<typeof PerTargetMetrics>;
