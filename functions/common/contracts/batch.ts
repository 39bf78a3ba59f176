/** What batch inference writes and measures, and what the monitor records of a drifted model. */
import { z } from "zod";
import { ConfigHash, Identifier, ModelType, PerTargetMetrics, RunId, S3Uri } from "./fields.ts";

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
