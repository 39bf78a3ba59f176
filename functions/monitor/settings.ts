/** monitor settings (the manifest lists the table). */
import { type Env, flag, loadSettings, number } from "../common/settings.ts";

export const MONITOR_SETTINGS = {
  /** A target drifts when its live MAE ratio exceeds this multiple of its ratio at promotion. */
  DRIFT_RATIO_THRESHOLD: number(1.15, { min: 1 }),
  /** `1`: a drift uploads the champion's training data extended with the scored data, so the pipeline retrains. */
  RETRAIN_ON_DRIFT: flag(false),
} as const;

export interface MonitorSettings {
  threshold: number;
  retrainOnDrift: boolean;
}

export function loadMonitorSettings(env: Env = process.env): MonitorSettings {
  const settings = loadSettings(MONITOR_SETTINGS, env);
  return { threshold: settings.DRIFT_RATIO_THRESHOLD, retrainOnDrift: settings.RETRAIN_ON_DRIFT };
}
