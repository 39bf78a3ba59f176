/** train-dispatch settings (the manifest lists the table): what to train, where, and how to launch it. */
import { MODEL_TYPES, type ModelType, parseContract, TrainParams } from "../common/contracts.ts";
import {
  ConfigError,
  type Env,
  flag,
  integer,
  list,
  loadSettings,
  oneOf,
  pairs,
  parseModelTypes,
  perEnv,
  perType,
  type Settings,
  text,
} from "../common/settings.ts";
import { EXPECTED_MODEL_TYPES } from "../evaluate/settings.ts";
import type { LeaseSettings } from "../sweeper/lease.ts";
import { LEASE_SETTINGS, loadLeaseSettings } from "../sweeper/settings.ts";

export const BACKENDS = ["local", "lambda", "ecs"] as const;
export type Backend = (typeof BACKENDS)[number];

/** Where the `lambda` and `ecs` launchers start trainers (functions/train-dispatch/backends.ts). */
export const LAUNCH_SETTINGS = {
  TRAINER_LAMBDA_FUNCTION: perType(text("")),
  ECS_CLUSTER: perType(text("")),
  ECS_TASK_DEFINITION: perType(text("")),
  /** Set for a type: its tasks run on that capacity provider (GPU instances), else on Fargate. */
  ECS_CAPACITY_PROVIDER: perType(text("")),
  ECS_SUBNETS: list(null),
  ECS_SECURITY_GROUPS: list([]),
  ECS_CONTAINER_NAME: text("trainer"),
  ECS_ASSIGN_PUBLIC_IP: oneOf(["ENABLED", "DISABLED"], "DISABLED"),
} as const;
export type LaunchSettings = Settings<typeof LAUNCH_SETTINGS>;

export const loadLaunchSettings = (env: Env = process.env): LaunchSettings =>
  loadSettings(LAUNCH_SETTINGS, env);

export const DISPATCH_SETTINGS = {
  EXPECTED_MODEL_TYPES,
  SKIP_DUPLICATE_CONFIGS: flag(true),
  MAX_TRAIN_ATTEMPTS: integer(3, { min: 1 }),
  TRAINER_BACKEND: oneOf(BACKENDS, "local"),
  /** Per-type backends over TRAINER_BACKEND, e.g. `GRU=ecs,PROPHET=lambda`. */
  TRAINER_BACKENDS: pairs(),
  /** Extra trainer parameters as a JSON object, e.g. `{"max_epochs": 2}`. */
  TRAIN_PARAMS: text(""),
  ...LEASE_SETTINGS,
  ...LAUNCH_SETTINGS,
} as const;

export interface DispatchSettings {
  expected: ModelType[];
  skipDuplicates: boolean;
  /** Attempts per (model_type, config_hash): a type whose run FAILED is dispatched again up to this many times. */
  maxAttempts: number;
  backends: Record<ModelType, Backend>;
  /** Extra trainer parameters (e.g. `{"max_epochs": 2}`); window, horizon and columns come from the data. */
  params: Partial<TrainParams>;
  /** A guard held by a run whose lease expired is taken over in the next attempt slot. */
  lease: LeaseSettings;
  launch: LaunchSettings;
}

function backendOf(value: string, name: string): Backend {
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new ConfigError(`${name}: '${value}' is not a trainer backend (${BACKENDS.join(", ")})`);
  }
  return value as Backend;
}

function paramsOf(raw: string): Partial<TrainParams> {
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('TRAIN_PARAMS must be a JSON object, e.g. {"max_epochs": 2}');
  }
  return parseContract(TrainParams.partial().strict(), "TRAIN_PARAMS", json) as Partial<TrainParams>;
}

export const loadDispatchSettings: (env?: Env) => DispatchSettings = perEnv((env) => {
  const s = loadSettings(DISPATCH_SETTINGS, env);
  const perTypeBackends = s.TRAINER_BACKENDS;
  parseModelTypes(Object.keys(perTypeBackends), "TRAINER_BACKENDS");
  const backends = Object.fromEntries(
    MODEL_TYPES.map((t) => {
      const chosen = perTypeBackends[t];
      return [t, chosen ? backendOf(chosen, `TRAINER_BACKENDS.${t}`) : s.TRAINER_BACKEND];
    }),
  ) as Record<ModelType, Backend>;
  return {
    expected: s.EXPECTED_MODEL_TYPES,
    skipDuplicates: s.SKIP_DUPLICATE_CONFIGS,
    maxAttempts: s.MAX_TRAIN_ATTEMPTS,
    backends,
    params: paramsOf(s.TRAIN_PARAMS),
    lease: loadLeaseSettings(env),
    launch: loadLaunchSettings(env),
  };
});
