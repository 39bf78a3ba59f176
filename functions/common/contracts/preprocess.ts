/** What preprocess is configured with and what it reports doing. */
import { z } from "zod";
import { Count } from "./fields.ts";

/** Amounts that cannot be negative: traffic volumes (bits), users seen, resource blocks used. */
export const VOLUME_COLUMNS = ["down", "up", "rnti_count", "rb_down", "rb_up"] as const;

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
