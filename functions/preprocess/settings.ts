/** preprocess settings from the environment; validated into a PreprocessConfig (minus the split kind). */
import { NEGATIVE_POLICIES, PreprocessConfig, parseContract } from "../common/contracts.ts";
import { envBool, envList, envNumber, envString, SettingError } from "../common/env.ts";
import { FLOAT32_MAX } from "./cells.ts";
import { REFERENCE_COLUMNS, VOLUME_COLUMNS } from "./columns.ts";

export interface PreprocessSettings {
  /** Settings hashed into config_hash; `split` is completed per object (fraction or companion file). */
  base: Omit<PreprocessConfig, "split">;
  testFraction: number;
  salt: string;
  forceReprocess: boolean;
}

export function loadPreprocessSettings(env: NodeJS.ProcessEnv = process.env): PreprocessSettings {
  const clipRaw = envList(env, "CLIP_PERCENTILES", null);
  let clip: PreprocessConfig["clip"] = null;
  if (clipRaw) {
    const [lo, hi] = clipRaw.map(Number);
    if (
      clipRaw.length !== 2 ||
      lo === undefined ||
      hi === undefined ||
      Number.isNaN(lo) ||
      Number.isNaN(hi)
    ) {
      throw new SettingError(`CLIP_PERCENTILES must be 'lower,upper' fractions, e.g. 0.01,0.99`);
    }
    clip = { lower_pct: lo, upper_pct: hi };
  }
  const base = {
    time_column: "time" as const,
    features: envList(env, "FEATURES", null),
    targets: envList(env, "TARGETS", ["down", "up"]) as string[],
    nan_policy: envString(env, "NAN_POLICY", "ffill") as PreprocessConfig["nan_policy"],
    nan_constant: envNumber(env, "NAN_CONSTANT", 0, { min: -FLOAT32_MAX, max: FLOAT32_MAX }),
    negative_policy: envString(env, "NEGATIVE_POLICY", "reject") as PreprocessConfig["negative_policy"],
    volume_columns: [...VOLUME_COLUMNS] as string[],
    reference_columns: [...REFERENCE_COLUMNS] as string[],
    clip,
    min_rows: envNumber(env, "MIN_ROWS", 50, { integer: true, min: 1 }),
    window: envNumber(env, "WINDOW", 10, { integer: true, min: 1 }),
    horizon: envNumber(env, "HORIZON", 1, { integer: true, min: 1 }),
    step_seconds: envNumber(env, "STEP_SECONDS", 120, { min: 0, exclusiveMin: true }),
    gap_tolerance_seconds: envNumber(env, "GAP_TOLERANCE_SECONDS", 360, { min: 0, exclusiveMin: true }),
  };
  if (!(NEGATIVE_POLICIES as readonly string[]).includes(base.negative_policy)) {
    throw new SettingError(
      `NEGATIVE_POLICY must be one of ${NEGATIVE_POLICIES.join(", ")}, got '${base.negative_policy}'`,
    );
  }
  const testFraction = envNumber(env, "TEST_FRACTION", 0.2, { min: 0, max: 1, exclusiveMin: true });
  // Validate the whole config once (a fraction split stands in for the per-object split).
  parseContract(PreprocessConfig, "preprocess settings", {
    ...base,
    split: { kind: "fraction", test_fraction: testFraction },
  });
  const volumes = (base.features ?? base.reference_columns).filter((c) => base.volume_columns.includes(c));
  if (base.nan_policy === "constant" && base.nan_constant < 0 && volumes.length) {
    throw new SettingError(
      `NAN_CONSTANT must be >= 0 with NAN_POLICY=constant: it would fill negative values into ${volumes.join(", ")}`,
    );
  }
  if (base.features) {
    const missing = base.targets.filter((t) => !base.features?.includes(t));
    if (missing.length)
      throw new SettingError(`FEATURES must include every target (missing ${missing.join(", ")})`);
  }
  if (base.gap_tolerance_seconds < base.step_seconds) {
    throw new SettingError("GAP_TOLERANCE_SECONDS must be >= STEP_SECONDS");
  }
  return {
    base,
    testFraction,
    salt: envString(env, "EXTRA_HASH_SALT", ""),
    forceReprocess: envBool(env, "FORCE_REPROCESS", false),
  };
}
