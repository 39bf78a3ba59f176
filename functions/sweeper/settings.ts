/** sweeper settings (the manifest lists the table), and the lease settings it shares with train-dispatch. */
import type { ModelType } from "../common/contracts.ts";
import { ConfigError, type Env, loadSettings, perEnv, seconds } from "../common/settings.ts";
import { EVALUATE_SETTINGS, EVALUATE_TIMEOUT_SECONDS } from "../evaluate/settings.ts";
import type { LeaseSettings } from "./lease.ts";

/** The lease rule's settings (functions/sweeper/lease.ts); HEARTBEAT_SECONDS is the trainer's beat. */
export const LEASE_SETTINGS = {
  RUN_LEASE_SECONDS: seconds(120),
  RUN_START_LEASE_SECONDS: seconds(1800),
  HEARTBEAT_SECONDS: seconds(30),
} as const;

export const loadLeaseSettings: (env?: Env) => LeaseSettings = perEnv((env) => {
  const s = loadSettings(LEASE_SETTINGS, env);
  if (s.RUN_LEASE_SECONDS < 2 * s.HEARTBEAT_SECONDS)
    throw new ConfigError(
      `RUN_LEASE_SECONDS (${s.RUN_LEASE_SECONDS}) must be at least twice the trainer's HEARTBEAT_SECONDS (${s.HEARTBEAT_SECONDS}), or live runs would expire`,
    );
  return { leaseSeconds: s.RUN_LEASE_SECONDS, startLeaseSeconds: s.RUN_START_LEASE_SECONDS };
});

export const SWEEP_SETTINGS = {
  ...LEASE_SETTINGS,
  /** The local runtime's tick (the manifest's localInterval); AWS runs it every minute. */
  SWEEP_INTERVAL_SECONDS: seconds(5, 3600),
  // The same settings evaluate reads: the types it waits for, and its deadline.
  EXPECTED_MODEL_TYPES: EVALUATE_SETTINGS.EXPECTED_MODEL_TYPES,
  EVAL_DEADLINE_SECONDS: EVALUATE_SETTINGS.EVAL_DEADLINE_SECONDS,
} as const;

export interface SweepSettings {
  lease: LeaseSettings;
  /** The types evaluate waits for, and its deadline (the same settings evaluate reads). */
  expected: ModelType[];
  deadlineSeconds: number;
  /** A group is nudged again only after evaluate's timeout: by then an earlier nudge was handled or died. */
  renudgeSeconds: number;
}

export const loadSweepSettings: (env?: Env) => SweepSettings = perEnv((env) => {
  const s = loadSettings(SWEEP_SETTINGS, env);
  return {
    lease: loadLeaseSettings(env),
    expected: s.EXPECTED_MODEL_TYPES,
    deadlineSeconds: s.EVAL_DEADLINE_SECONDS,
    renudgeSeconds: EVALUATE_TIMEOUT_SECONDS,
  };
});
