/** preprocess settings from the environment; validated into a PreprocessConfig (minus the split kind). */
import { PreprocessConfig, parseContract } from "../common/contracts.ts";
import { envBool, envList, envNumber, envString, SettingError } from "../common/env.ts";

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
    nan_constant: envNumber(env, "NAN_CONSTANT", 0),
    clip,
    min_rows: envNumber(env, "MIN_ROWS", 50, { integer: true, min: 1 }),
    window: envNumber(env, "WINDOW", 10, { integer: true, min: 1 }),
    horizon: envNumber(env, "HORIZON", 1, { integer: true, min: 1 }),
    step_seconds: envNumber(env, "STEP_SECONDS", 120, { min: 0, exclusiveMin: true }),
    gap_tolerance_seconds: envNumber(env, "GAP_TOLERANCE_SECONDS", 360, { min: 0, exclusiveMin: true }),
  };
  const testFraction = envNumber(env, "TEST_FRACTION", 0.2, { min: 0, max: 1, exclusiveMin: true });
  // Validate the whole config once (a fraction split stands in for the per-object split).
  parseContract(PreprocessConfig, "preprocess settings", {
    ...base,
    split: { kind: "fraction", test_fraction: testFraction },
  });
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
