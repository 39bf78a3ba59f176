/**
 * The one way settings come from the environment. A function declares a table of settings (name →
 * default and zod parser); the manifest lists that table, and the loader is the table itself:
 * `loadSettings(table, env)` reads exactly the declared variables (a blank value is unset), throws a
 * ConfigError naming the variable, and remembers the result per environment object, so a Lambda
 * reads its settings once per cold start, not per message.
 */
import { z } from "zod";
import { MODEL_TYPES, type ModelType } from "./contracts.ts";

/** A setting that cannot be used; the message starts with the variable's name. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Setting<T> {
  /** The value when the variable is unset or blank (a function: computed at load time). */
  fallback: T | (() => T);
  /** Parses the trimmed value; an issue's message follows the variable's name ("must be ..."). */
  schema: z.ZodType<T, string>;
  /** `NAME_<TYPE>` per model type overrides `NAME`: the loaded value is a record by model type. */
  perType?: true;
}

export type SettingsTable = Readonly<Record<string, Setting<unknown>>>;

type Value<S> = S extends Setting<infer T> ? (S["perType"] extends true ? Record<ModelType, T> : T) : never;
export type Settings<Table extends SettingsTable> = { -readonly [K in keyof Table]: Value<Table[K]> };

/** The variable names a table reads (`NAME` and each `NAME_<TYPE>` of a per-type setting). */
export function settingNames(table: SettingsTable): string[] {
  return Object.entries(table).flatMap(([name, s]) =>
    s.perType ? [name, ...MODEL_TYPES.map((t) => `${name}_${t}`)] : [name],
  );
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function parse<T>(setting: Setting<T>, name: string, value: string | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  const parsed = setting.schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${name}${parsed.error.issues[0]?.message ?? " is not valid"}`);
}

function loadOne<T>(setting: Setting<T>, name: string, env: Env): T | Record<ModelType, T> {
  const fallback =
    typeof setting.fallback === "function" ? (setting.fallback as () => T)() : setting.fallback;
  const base = parse(setting, name, raw(env, name), fallback);
  if (!setting.perType) return base;
  return Object.fromEntries(
    MODEL_TYPES.map((t) => [t, parse(setting, `${name}_${t}`, raw(env, `${name}_${t}`), base)]),
  ) as Record<ModelType, T>;
}

/** Memoises `load` per environment object (a WeakMap: a fresh object is loaded afresh). */
export function perEnv<T>(load: (env: Env) => T): (env?: Env) => T {
  const cache = new WeakMap<Env, T>();
  return (env = process.env) => {
    if (cache.has(env)) return cache.get(env) as T;
    const value = load(env);
    cache.set(env, value);
    return value;
  };
}

const tables = new WeakMap<SettingsTable, (env?: Env) => unknown>();

/** The table's settings from `env`, loaded once per environment object. */
export function loadSettings<Table extends SettingsTable>(
  table: Table,
  env: Env = process.env,
): Settings<Table> {
  let load = tables.get(table);
  if (!load) {
    load = perEnv((e) =>
      Object.fromEntries(Object.entries(table).map(([name, s]) => [name, loadOne(s, name, e)])),
    );
    tables.set(table, load);
  }
  return load(env) as Settings<Table>;
}

// ---------------------------------------------------------------------------------------------
// Parsers. Each is a zod schema over the trimmed string; messages read after the variable's name.

class Issue {
  constructor(readonly message: string) {}
}

/** Refuses the value; `message` reads after the variable's name. */
const fail = (message: string): never => {
  throw new Issue(message);
};

function parser<T>(fallback: T | (() => T), check: (value: string) => T): Setting<T> {
  const schema = z.string().transform((value, ctx) => {
    try {
      return check(value);
    } catch (error) {
      if (!(error instanceof Issue)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  });
  return { fallback, schema };
}

export const text = (fallback: string): Setting<string> => parser(fallback, (v) => v);

/** Text matching `pattern` (`what` says what it must be). */
export const matching = <F extends string | undefined>(fallback: F, pattern: RegExp, what: string) =>
  parser<string | F>(fallback, (v) => (pattern.test(v) ? v : fail(` must be ${what}, got '${v}'`)));

export interface NumberCheck {
  min?: number;
  max?: number;
  integer?: boolean;
  /** `min` itself is refused. */
  exclusiveMin?: boolean;
}

export const number = (fallback: number | (() => number), check: NumberCheck = {}): Setting<number> =>
  parser(fallback, (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) fail(` must be a number, got '${v}'`);
    if (check.integer && !Number.isInteger(n)) fail(` must be an integer, got '${v}'`);
    const { min, max, exclusiveMin } = check;
    if (min !== undefined && (exclusiveMin ? n <= min : n < min))
      fail(` must be ${exclusiveMin ? ">" : ">="} ${min}, got ${n}`);
    if (max !== undefined && n > max) fail(` must be <= ${max}, got ${n}`);
    return n;
  });

export const integer = (fallback: number | (() => number), check: Omit<NumberCheck, "integer"> = {}) =>
  number(fallback, { ...check, integer: true });

/** Seconds, > 0. */
export const seconds = (fallback: number, max?: number) =>
  number(fallback, { min: 0, exclusiveMin: true, ...(max === undefined ? {} : { max }) });

export const flag = <F extends boolean | undefined>(fallback: F): Setting<boolean | F> =>
  parser<boolean | F>(fallback, (v) => {
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    return fail(` must be 1/0 (or true/false), got '${v}'`);
  });

export const oneOf = <const T extends string>(values: readonly T[], fallback: T): Setting<T> =>
  parser(fallback, (v) =>
    (values as readonly string[]).includes(v)
      ? (v as T)
      : fail(` must be one of ${values.join(", ")}, got '${v}'`),
  );

function splitList(v: string): string[] {
  const items = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) fail(` must be a comma-separated list, got '${v}'`);
  if (new Set(items).size !== items.length) fail(` repeats an entry: '${v}'`);
  return items;
}

/** A comma-separated list without repeats. */
export const list = <F extends string[] | null>(fallback: F): Setting<string[] | F> =>
  parser<string[] | F>(fallback, splitList);

/** `KEY=value,KEY=value` (e.g. `TRAINER_BACKENDS=GRU=local,LSTM=ecs`); unset is `{}`. */
export const pairs = (): Setting<Record<string, string>> =>
  parser<Record<string, string>>({}, (v) => {
    const out: Record<string, string> = {};
    for (const part of splitList(v)) {
      const eq = part.indexOf("=");
      if (eq <= 0 || eq === part.length - 1) fail(` must be KEY=value pairs separated by ',', got '${part}'`);
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    return out;
  });

const notAModelType = (bad: string) => `: '${bad}' is not a model type (${MODEL_TYPES.join(", ")})`;
const unknownType = (items: readonly string[]) =>
  items.find((t) => !(MODEL_TYPES as readonly string[]).includes(t));

/** Model types from a list; `where` names what is parsed (a variable, or its keys). */
export function parseModelTypes(items: readonly string[], where: string): ModelType[] {
  const bad = unknownType(items);
  if (bad !== undefined) throw new ConfigError(`${where}${notAModelType(bad)}`);
  return items as ModelType[];
}

/** A comma-separated list of model types (e.g. `EXPECTED_MODEL_TYPES=GRU,LSTM,PROPHET`). */
export const modelTypes = (fallback: readonly ModelType[]): Setting<ModelType[]> =>
  parser<ModelType[]>(
    () => [...fallback],
    (v) => {
      const items = splitList(v);
      const bad = unknownType(items);
      return bad === undefined ? (items as ModelType[]) : fail(notAModelType(bad));
    },
  );

/** A URL, or undefined when unset. */
export const url = (): Setting<string | undefined> =>
  parser<string | undefined>(undefined, (v) =>
    z.url().safeParse(v).success ? v : fail(` must be a URL, got '${v}'`),
  );

/** The setting per model type: `NAME_<TYPE>` overrides `NAME` (the loaded value is a record by type). */
export const perType = <T>(setting: Setting<T>): Setting<T> & { perType: true } => ({
  ...setting,
  perType: true,
});
