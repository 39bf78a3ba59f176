/** Request timestamps: ISO 8601 strings (no zone means UTC) or Unix seconds. */
import { toIsoUtc, YEAR_10000 } from "./iso-utc.mjs";

export { toIsoUtc, YEAR_10000 };

const HAS_ZONE = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Unix seconds, or NaN when `value` is not a timestamp. */
export function toUnixSeconds(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string" || value.length < 10 || value.length > 40) return Number.NaN;
  const fast = parseCanonical(value);
  if (fast !== null) return fast;
  let text = value.trim();
  if (DATE_ONLY.test(text)) text += "T00:00:00Z";
  else {
    if (text.charAt(10) === " ") text = `${text.slice(0, 10)}T${text.slice(11)}`;
    if (!HAS_ZONE.test(text)) text += "Z";
  }
  if (text.charAt(10) !== "T") return Number.NaN;
  return Date.parse(text) / 1000;
}

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48;
  return code >= 0 && code <= 9 ? code : Number.NaN;
};
const two = (text: string, at: number): number => digit(text, at) * 10 + digit(text, at + 1);

/**
 * The common shapes `YYYY-MM-DDTHH:MM:SS[.mmm][Z]` (T or space) without Date.parse: null when the
 * text has another shape (the general path decides), NaN when a field is out of range or the day
 * does not exist.
 */
function parseCanonical(text: string): number | null {
  const n = text.length;
  if (n !== 19 && n !== 20 && n !== 23 && n !== 24) return null;
  if (text[4] !== "-" || text[7] !== "-" || text[13] !== ":" || text[16] !== ":") return null;
  if (text[10] !== "T" && text[10] !== " ") return null;
  let millis = 0;
  if (n >= 23) {
    if (text[19] !== ".") return null;
    millis = digit(text, 20) * 100 + two(text, 21);
  }
  if ((n === 20 || n === 24) && text[n - 1] !== "Z") return null;
  const year = two(text, 0) * 100 + two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59)) {
    return Number.NaN;
  }
  // Date.UTC would roll 31 February over into March; such a date is not a timestamp.
  if (day > daysInMonth(year, month)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) / 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const DAY_SECONDS = 86_400;

/** The instants a model accepts in a request's `ts`, in Unix seconds (inclusive). */
export interface TimeBounds {
  earliest: number;
  latest: number;
}

/**
 * 1970-01-01 up to the last instant whose `horizon` forecasts still fall before year 10000, and,
 * when `maxDistanceDays` > 0, within that many days of `reference` (Unix seconds; NaN: no reference).
 */
export function timeBounds(reference: number, maxDistanceDays: number, forecastSpan: number): TimeBounds {
  let earliest = 0;
  let latest = YEAR_10000 - 1 - forecastSpan;
  if (maxDistanceDays > 0 && Number.isFinite(reference)) {
    earliest = Math.max(earliest, reference - maxDistanceDays * DAY_SECONDS);
    latest = Math.min(latest, reference + maxDistanceDays * DAY_SECONDS);
  }
  return { earliest, latest };
}

const UNITS: readonly [string, number][] = [
  ["milliseconds", 1e3],
  ["microseconds", 1e6],
  ["nanoseconds", 1e9],
];

/** Why a timestamp outside `bounds` is refused: a number in a finer Unix unit is named as such. */
export function outOfBounds(raw: unknown, seconds: number, bounds: TimeBounds): string {
  if (typeof raw === "number" && seconds >= YEAR_10000) {
    for (const [unit, scale] of UNITS) {
      if (seconds / scale < YEAR_10000) {
        return `${raw} looks like Unix ${unit}: send Unix seconds (or ISO 8601)`;
      }
    }
  }
  const shown = typeof raw === "string" ? JSON.stringify(raw.slice(0, 40)) : String(raw);
  return `${shown} is outside the accepted range ${toIsoUtc(bounds.earliest)} to ${toIsoUtc(bounds.latest)}`;
}
