/** monitor settings from the environment (each error names its variable). */
import { envNumber } from "../common/env.ts";

export interface MonitorSettings {
  /** A target drifts when its live MAE ratio exceeds this multiple of its ratio at promotion. */
  threshold: number;
}

export function loadMonitorSettings(env: NodeJS.ProcessEnv = process.env): MonitorSettings {
  return { threshold: envNumber(env, "DRIFT_RATIO_THRESHOLD", 1.15, { min: 1 }) };
}
