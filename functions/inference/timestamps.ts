/** Request timestamps: ISO 8601 strings (no zone means UTC) or Unix seconds. */

const HAS_ZONE = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Unix seconds, or NaN when `value` is not a timestamp. */
export function toUnixSeconds(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string" || value.length < 10 || value.length > 40) return Number.NaN;
  let text = value.trim();
  if (DATE_ONLY.test(text)) text += "T00:00:00Z";
  else {
    if (text.charAt(10) === " ") text = `${text.slice(0, 10)}T${text.slice(11)}`;
    if (!HAS_ZONE.test(text)) text += "Z";
  }
  if (text.charAt(10) !== "T") return Number.NaN;
  return Date.parse(text) / 1000;
}

/** ISO 8601 in UTC, to the second unless the instant has a fraction. */
export function toIsoUtc(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
}
