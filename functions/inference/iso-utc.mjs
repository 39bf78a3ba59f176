// @ts-check
/**
 * Writing instants as ISO 8601 in UTC, shared by the service (timestamps.ts) and its inference-log
 * thread (log-writer.mjs). Plain JavaScript, so the worker loads it as it is under tsx, vitest and in
 * the container (copied beside the bundle).
 */

/** "00" to "59". */
const PAIRS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
/** Unix seconds of 10000-01-01: beyond it toISOString writes extended years. */
export const YEAR_10000 = 253_402_300_800;
let cachedDay = Number.NaN;
let cachedDayPrefix = "";

/** ISO 8601 in UTC, to the second unless the instant has a fraction. @param {number} unixSeconds */
export function toIsoUtc(unixSeconds) {
  // Whole seconds (every forecast of a model with a whole step): the day's `YYYY-MM-DDT` is cached.
  if (Number.isInteger(unixSeconds) && unixSeconds >= 0 && unixSeconds < YEAR_10000) {
    const day = Math.floor(unixSeconds / 86_400);
    if (day !== cachedDay) {
      cachedDayPrefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
      cachedDay = day;
    }
    const second = unixSeconds - day * 86_400;
    const hour = Math.floor(second / 3600);
    const minute = Math.floor((second - hour * 3600) / 60);
    return `${cachedDayPrefix}${PAIRS[hour]}:${PAIRS[minute]}:${PAIRS[second - hour * 3600 - minute * 60]}Z`;
  }
  const iso = new Date(unixSeconds * 1000).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
}
