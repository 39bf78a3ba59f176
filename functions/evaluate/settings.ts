/** evaluate settings from the environment. */
import {
  MODEL_TYPES,
  type ModelType,
  PROMOTION_POLICIES,
  type PromotionPolicy,
} from "../common/contracts.ts";
import { envBool, envMap, envModelTypes, envNumber, envString, SettingError } from "../common/env.ts";
import type { ScoreWeights } from "./scoring.ts";

export interface EvaluateSettings {
  expected: ModelType[];
  deadlineSeconds: number;
  weights: ScoreWeights;
  policy: PromotionPolicy;
  /** Also point `global/current.json` at each promotion. */
  promoteGlobal: boolean;
}

export const DEFAULT_WEIGHTS: ScoreWeights = { rmse: 0.5, mae: 0.3, mse: 0.2 };

/** `SCORE_WEIGHTS=rmse=0.5,mae=0.3,mse=0.2` (missing keys weigh 0; at least one must be > 0). */
export function parseWeights(raw: Record<string, string>): ScoreWeights {
  if (Object.keys(raw).length === 0) return { ...DEFAULT_WEIGHTS };
  const out: ScoreWeights = { rmse: 0, mae: 0, mse: 0 };
  for (const [k, v] of Object.entries(raw)) {
    const key = k.toLowerCase();
    if (key !== "rmse" && key !== "mae" && key !== "mse") {
      throw new SettingError(`SCORE_WEIGHTS: '${k}' is not rmse, mae or mse`);
    }
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new SettingError(`SCORE_WEIGHTS.${key} must be a number >= 0, got '${v}'`);
    out[key] = n;
  }
  if (out.rmse + out.mae + out.mse <= 0)
    throw new SettingError("SCORE_WEIGHTS must give some metric a weight > 0");
  return out;
}

export function loadEvaluateSettings(env: NodeJS.ProcessEnv = process.env): EvaluateSettings {
  const policy = envString(env, "PROMOTION_POLICY", "beat_baseline_and_champion");
  if (!(PROMOTION_POLICIES as readonly string[]).includes(policy)) {
    throw new SettingError(
      `PROMOTION_POLICY must be one of ${PROMOTION_POLICIES.join(", ")}, got '${policy}'`,
    );
  }
  return {
    expected: envModelTypes(env, "EXPECTED_MODEL_TYPES", MODEL_TYPES),
    deadlineSeconds: envNumber(env, "EVAL_DEADLINE_SECONDS", 3600, { min: 0 }),
    weights: parseWeights(envMap(env, "SCORE_WEIGHTS")),
    policy: policy as PromotionPolicy,
    promoteGlobal: envBool(env, "PROMOTE_GLOBAL", false),
  };
}
