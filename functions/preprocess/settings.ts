/** preprocess settings (the manifest lists the table); validated into a PreprocessConfig (minus the split kind). */
import {
  type NAN_POLICIES,
  NEGATIVE_POLICIES,
  PreprocessConfig,
  parseContract,
} from "../common/contracts.ts";
import * as setting from "../common/settings.ts";
import { ConfigError, type Env, loadSettings, perEnv } from "../common/settings.ts";
import { FLOAT32_MAX } from "./cells.ts";
import { REFERENCE_COLUMNS, VOLUME_COLUMNS } from "./columns.ts";

export const PREPROCESS_SETTINGS = {
  FEATURES: setting.list(null),
  TARGETS: setting.list(["down", "up"]),
  NAN_POLICY: setting.text("ffill"),
  NAN_CONSTANT: setting.number(0, { min: -FLOAT32_MAX, max: FLOAT32_MAX }),
  NEGATIVE_POLICY: setting.oneOf(NEGATIVE_POLICIES, "reject"),
  CLIP_PERCENTILES: setting.list(null),
  TEST_FRACTION: setting.number(0.2, { min: 0, max: 1, exclusiveMin: true }),
  MIN_ROWS: setting.integer(50, { min: 1 }),
  WINDOW: setting.integer(10, { min: 1 }),
  HORIZON: setting.integer(30, { min: 1 }),
  STEP_SECONDS: setting.number(120, { min: 0, exclusiveMin: true }),
  GAP_TOLERANCE_SECONDS: setting.number(360, { min: 0, exclusiveMin: true }),
  EXTRA_HASH_SALT: setting.text(""),
  FORCE_REPROCESS: setting.flag(false),
} as const;

export interface PreprocessSettings {
  /** Settings hashed into config_hash; `split` is completed per object (fraction or companion file). */
  base: Omit<PreprocessConfig, "split">;
  testFraction: number;
  salt: string;
  forceReprocess: boolean;
}

function clipOf(raw: string[] | null): PreprocessConfig["clip"] {
  if (!raw) return null;
  const [lo, hi] = raw.map(Number);
  if (raw.length !== 2 || lo === undefined || hi === undefined || Number.isNaN(lo) || Number.isNaN(hi)) {
    throw new ConfigError(`CLIP_PERCENTILES must be 'lower,upper' fractions, e.g. 0.01,0.99`);
  }
  return { lower_pct: lo, upper_pct: hi };
}

export const loadPreprocessSettings: (env?: Env) => PreprocessSettings = perEnv((env) => {
  const s = loadSettings(PREPROCESS_SETTINGS, env);
  const base = {
    time_column: "time" as const,
    features: s.FEATURES,
    targets: s.TARGETS,
    // Checked by the PreprocessConfig contract below (its message names nan_policy).
    nan_policy: s.NAN_POLICY as (typeof NAN_POLICIES)[number],
    nan_constant: s.NAN_CONSTANT,
    negative_policy: s.NEGATIVE_POLICY,
    volume_columns: [...VOLUME_COLUMNS] as string[],
    reference_columns: [...REFERENCE_COLUMNS] as string[],
    clip: clipOf(s.CLIP_PERCENTILES),
    min_rows: s.MIN_ROWS,
    window: s.WINDOW,
    horizon: s.HORIZON,
    step_seconds: s.STEP_SECONDS,
    gap_tolerance_seconds: s.GAP_TOLERANCE_SECONDS,
  };
  // Validate the whole config once (a fraction split stands in for the per-object split).
  parseContract(PreprocessConfig, "preprocess settings", {
    ...base,
    split: { kind: "fraction", test_fraction: s.TEST_FRACTION },
  });
  const volumes = (base.features ?? base.reference_columns).filter((c) => base.volume_columns.includes(c));
  if (base.nan_policy === "constant" && base.nan_constant < 0 && volumes.length) {
    throw new ConfigError(
      `NAN_CONSTANT must be >= 0 with NAN_POLICY=constant: it would fill negative values into ${volumes.join(", ")}`,
    );
  }
  if (base.features) {
    const missing = base.targets.filter((t) => !base.features?.includes(t));
    if (missing.length)
      throw new ConfigError(`FEATURES must include every target (missing ${missing.join(", ")})`);
  }
  if (base.gap_tolerance_seconds < base.step_seconds) {
    throw new ConfigError("GAP_TOLERANCE_SECONDS must be >= STEP_SECONDS");
  }
  return {
    base,
    testFraction: s.TEST_FRACTION,
    salt: s.EXTRA_HASH_SALT,
    forceReprocess: s.FORCE_REPROCESS,
  };
});
