/** train-dispatch settings from the environment. */
import { MODEL_TYPES, type ModelType, parseContract, TrainParams } from "../common/contracts.ts";
import { envBool, envMap, envModelTypes, envNumber, envString, SettingError } from "../common/env.ts";
import { type LeaseSettings, loadLeaseSettings } from "../sweeper/lease.ts";

export const BACKENDS = ["local", "lambda", "ecs"] as const;
export type Backend = (typeof BACKENDS)[number];

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
}

export function parseModelTypes(list: string[], name: string): ModelType[] {
  return envModelTypes({ [name]: list.join(",") }, name, []);
}

function backendOf(value: string, name: string): Backend {
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new SettingError(`${name}: '${value}' is not a trainer backend (${BACKENDS.join(", ")})`);
  }
  return value as Backend;
}

export function loadDispatchSettings(env: NodeJS.ProcessEnv = process.env): DispatchSettings {
  const expected = envModelTypes(env, "EXPECTED_MODEL_TYPES", MODEL_TYPES);
  const fallback = backendOf(envString(env, "TRAINER_BACKEND", "local"), "TRAINER_BACKEND");
  const perType = envMap(env, "TRAINER_BACKENDS");
  parseModelTypes(Object.keys(perType), "TRAINER_BACKENDS");
  const backends = Object.fromEntries(
    MODEL_TYPES.map((t) => [t, perType[t] ? backendOf(perType[t], `TRAINER_BACKENDS.${t}`) : fallback]),
  ) as Record<ModelType, Backend>;
  let params: Partial<TrainParams> = {};
  const rawParams = envString(env, "TRAIN_PARAMS", "");
  if (rawParams) {
    let json: unknown;
    try {
      json = JSON.parse(rawParams);
    } catch {
      throw new SettingError('TRAIN_PARAMS must be a JSON object, e.g. {"max_epochs": 2}');
    }
    params = parseContract(TrainParams.partial().strict(), "TRAIN_PARAMS", json) as Partial<TrainParams>;
  }
  return {
    expected,
    skipDuplicates: envBool(env, "SKIP_DUPLICATE_CONFIGS", true),
    maxAttempts: envNumber(env, "MAX_TRAIN_ATTEMPTS", 3, { integer: true, min: 1 }),
    backends,
    params,
    lease: loadLeaseSettings(env),
  };
}
