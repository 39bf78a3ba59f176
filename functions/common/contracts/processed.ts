import { z } from "zod";
import { ConfigHash, Count, Identifier, ModelType, RunId, S3Uri } from "./fields.ts";
import { InferenceDataMessage, TrainingDataMessage } from "./messages.ts";
import { PreprocessConfig, PreprocessReport } from "./preprocess.ts";

const SplitStats = z.object({
  key: z.string().min(1),
  rows: Count,
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
    input: Count,
    duplicates_dropped: Count,
    nan_rows_dropped: Count,
  }),
  report: PreprocessReport,
  train: SplitStats,
  test: SplitStats,
  claim_check: TrainingDataMessage,
  created_at: z.string(),
});
export type ProcessedMeta = z.infer<typeof ProcessedMeta>;

/**
 * `processed-data/<identifier>/score/<config_hash>/.meta.json`: a scoring CSV processed with its
 * champion's training configuration and clip bounds; written last, like ProcessedMeta.
 */
export const ScoreMeta = z.object({
  v: z.literal(1),
  purpose: z.literal("score"),
  identifier: Identifier,
  config_hash: ConfigHash,
  /** The champion whose training sidecar (`training_meta`) gave the configuration. */
  champion: z.object({ run_id: RunId, model_type: ModelType, config_hash: ConfigHash, training_meta: S3Uri }),
  config: PreprocessConfig,
  clip_bounds: ProcessedMeta.shape.clip_bounds,
  raw: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  columns: z.array(z.string()).min(1),
  report: PreprocessReport,
  rows: SplitStats.omit({ key: true }),
  claim_check: InferenceDataMessage,
  created_at: z.string(),
});
export type ScoreMeta = z.infer<typeof ScoreMeta>;
