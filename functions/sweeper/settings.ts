/** sweeper settings from the environment (each error names its variable). */
import type { ModelType } from "../common/contracts.ts";
import { loadEvaluateSettings } from "../evaluate/settings.ts";
import { functionByName } from "../manifest.ts";
import { type LeaseSettings, loadLeaseSettings } from "./lease.ts";

export interface SweepSettings {
  lease: LeaseSettings;
  /** The types evaluate waits for, and its deadline (the same settings evaluate reads). */
  expected: ModelType[];
  deadlineSeconds: number;
  /** A group is nudged again only after evaluate's timeout: by then an earlier nudge was handled or died. */
  renudgeSeconds: number;
}

export function loadSweepSettings(env: NodeJS.ProcessEnv = process.env): SweepSettings {
  const evaluate = loadEvaluateSettings(env);
  return {
    lease: loadLeaseSettings(env),
    expected: evaluate.expected,
    deadlineSeconds: evaluate.deadlineSeconds,
    renudgeSeconds: functionByName("evaluate").timeoutSeconds,
  };
}
