/** Typed reads of CDK context values (cdk.json, `-c key=value`); unset and "" are undefined. */

/** Reads a context value: `-c key=value` arrives as a string, cdk.json values keep their JSON type. */
export type ContextReader = (key: string) => unknown;

export function str(ctx: ContextReader, key: string): string | undefined {
  const v = ctx(key);
  if (v === undefined || v === null || v === "") return undefined;
  return String(v);
}

export function bool(ctx: ContextReader, key: string): boolean | undefined {
  const v = ctx(key);
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  const s = String(v).toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off"].includes(s)) return false;
  throw new Error(`context '${key}' must be true or false, got '${String(v)}'`);
}

export function num(ctx: ContextReader, key: string): number | undefined {
  const v = str(ctx, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`context '${key}' must be a number, got '${v}'`);
  return n;
}

export function list(ctx: ContextReader, key: string): string[] | undefined {
  const v = ctx(key);
  if (v === undefined || v === null || v === "") return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
