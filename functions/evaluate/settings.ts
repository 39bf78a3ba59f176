/** evaluate settings (the manifest lists the table). */
import {
  DISPATCHED_MODEL_TYPES,
  type ModelType,
  PROMOTION_POLICIES,
  type PromotionPolicy,
} from "../common/contracts.ts";
import {
  ConfigError,
  type Env,
  flag,
  loadSettings,
  modelTypes,
  number,
  oneOf,
  pairs,
  perEnv,
  text,
} from "../common/settings.ts";
import { HORIZON_WEIGHTINGS, type HorizonWeighting, type ScoreWeights } from "./scoring.ts";

/** evaluate's Lambda timeout; the sweeper nudges a group again only after it (functions/sweeper/settings.ts). */
export const EVALUATE_TIMEOUT_SECONDS = 300;

/** The model types train-dispatch launches, evaluate waits for and the sweeper watches. */
export const EXPECTED_MODEL_TYPES = modelTypes(DISPATCHED_MODEL_TYPES);

export const EVALUATE_SETTINGS = {
  EXPECTED_MODEL_TYPES,
  EVAL_DEADLINE_SECONDS: number(3600, { min: 0 }),
  SCORE_WEIGHTS: pairs(),
  HORIZON_WEIGHTING: oneOf(HORIZON_WEIGHTINGS, "uniform"),
  /** A candidate whose MAE for a target at a step exceeds persistence's by more than this fraction is not eligible. */
  GATE_MARGIN: number(0, { min: 0 }),
  PROMOTION_POLICY: oneOf(PROMOTION_POLICIES, "beat_baseline_and_champion"),
  PROMOTE_GLOBAL: flag(false),
  /** Ask train-dispatch for an ENSEMBLE of each generation's members (ensemble-request.ts). */
  BUILD_ENSEMBLE: flag(true),
  /** Unset: no MLflow tracking (functions/evaluate/tracking.ts checks the URL). */
  MLFLOW_TRACKING_URI: text(""),
  MLFLOW_EXPERIMENT_NAME: text("flts"),
} as const;

export interface EvaluateSettings {
  expected: ModelType[];
  deadlineSeconds: number;
  weights: ScoreWeights;
  horizonWeighting: HorizonWeighting;
  gateMargin: number;
  policy: PromotionPolicy;
  /** Also point `global/current.json` at each promotion. */
  promoteGlobal: boolean;
  /** Ask for an ENSEMBLE of the generation's out-of-sample members before deciding. */
  buildEnsemble: boolean;
  /** MLflow server ("" when tracking is off) and experiment. */
  trackingUri: string;
  experimentName: string;
}

export const DEFAULT_WEIGHTS: ScoreWeights = { rmse: 0.5, mae: 0.3, mse: 0.2 };

/** `SCORE_WEIGHTS=rmse=0.5,mae=0.3,mse=0.2` (missing keys weigh 0; at least one must be > 0). */
export function parseWeights(raw: Record<string, string>): ScoreWeights {
  if (Object.keys(raw).length === 0) return { ...DEFAULT_WEIGHTS };
  const out: ScoreWeights = { rmse: 0, mae: 0, mse: 0 };
  for (const [k, v] of Object.entries(raw)) {
    const key = k.toLowerCase();
    if (key !== "rmse" && key !== "mae" && key !== "mse") {
      throw new ConfigError(`SCORE_WEIGHTS: '${k}' is not rmse, mae or mse`);
    }
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new ConfigError(`SCORE_WEIGHTS.${key} must be a number >= 0, got '${v}'`);
    out[key] = n;
  }
  if (out.rmse + out.mae + out.mse <= 0)
    throw new ConfigError("SCORE_WEIGHTS must give some metric a weight > 0");
  return out;
}

export const loadEvaluateSettings: (env?: Env) => EvaluateSettings = perEnv((env) => {
  const s = loadSettings(EVALUATE_SETTINGS, env);
  return {
    expected: s.EXPECTED_MODEL_TYPES,
    deadlineSeconds: s.EVAL_DEADLINE_SECONDS,
    weights: parseWeights(s.SCORE_WEIGHTS),
    horizonWeighting: s.HORIZON_WEIGHTING,
    gateMargin: s.GATE_MARGIN,
    policy: s.PROMOTION_POLICY,
    promoteGlobal: s.PROMOTE_GLOBAL,
    buildEnsemble: s.BUILD_ENSEMBLE,
    trackingUri: s.MLFLOW_TRACKING_URI,
    experimentName: s.MLFLOW_EXPERIMENT_NAME,
  };
});
