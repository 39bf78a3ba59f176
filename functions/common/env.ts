/** Small, strict readers for stage settings in the environment; every error names the variable. */
import { MODEL_TYPES, type ModelType } from "./contracts.ts";

export class SettingError extends Error {}

type Env = NodeJS.ProcessEnv | Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function envString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new SettingError(`${name} must be 1/0 (or true/false), got '${value}'`);
}

export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  check: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new SettingError(`${name} must be a number, got '${value}'`);
  if (check.integer && !Number.isInteger(n))
    throw new SettingError(`${name} must be an integer, got '${value}'`);
  if (check.min !== undefined && (check.exclusiveMin ? n <= check.min : n < check.min)) {
    throw new SettingError(`${name} must be ${check.exclusiveMin ? ">" : ">="} ${check.min}, got ${n}`);
  }
  if (check.max !== undefined && n > check.max)
    throw new SettingError(`${name} must be <= ${check.max}, got ${n}`);
  return n;
}

export function envList(env: Env, name: string, fallback: string[] | null): string[] | null {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new SettingError(`${name} must be a comma-separated list, got '${value}'`);
  if (new Set(items).size !== items.length) throw new SettingError(`${name} repeats an entry: '${value}'`);
  return items;
}

/** `KEY=value,KEY=value` (e.g. `TRAINER_BACKENDS=GRU=local,LSTM=ecs`). */
export function envMap(env: Env, name: string): Record<string, string> {
  const value = raw(env, name);
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const part of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) {
      throw new SettingError(`${name} must be KEY=value pairs separated by ',', got '${part}'`);
    }
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A comma-separated list of model types (e.g. `EXPECTED_MODEL_TYPES=GRU,LSTM,PROPHET`). */
export function envModelTypes(env: Env, name: string, fallback: readonly ModelType[]): ModelType[] {
  const list = envList(env, name, [...fallback]) as string[];
  for (const t of list) {
    if (!(MODEL_TYPES as readonly string[]).includes(t)) {
      throw new SettingError(`${name}: '${t}' is not a model type (${MODEL_TYPES.join(", ")})`);
    }
  }
  return list as ModelType[];
}
