/** The segments keys are made of, and the patterns that recognise them (functions/common/keys.ts). */

/** Identifiers and run ids: `[A-Za-z0-9][A-Za-z0-9._-]*` (the contracts' `Identifier` and `RunId`). */
export const NAME = "[A-Za-z0-9][A-Za-z0-9._-]*";
/** A config hash: 64 lowercase hex. */
export const HASH = "[0-9a-f]{64}";
/** A decision generation: 16 lowercase hex. */
export const GENERATION = "[0-9a-f]{16}";

/** Whole-key matcher from a pattern of segments (anchored; `null` when the key does not match). */
export function matcher(pattern: string): (key: string) => string[] | null {
  const re = new RegExp(`^${pattern}$`);
  return (key) => {
    const m = re.exec(key);
    return m ? m.slice(1).map((s) => s ?? "") : null;
  };
}

/** `<identifier>/`: raw-data, processed-data, model-promotion and inference-logs keep each identifier's objects under it. */
export function identifierPrefix(identifier: string): string {
  return `${identifier}/`;
}

/** `YYYYMMDD` (UTC) of a time: the day folder of the inference logs. */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, "");
}
