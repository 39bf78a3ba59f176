/**
 * Request validation for the hot path: hand-written checks (no per-request schema objects) that
 * write the model input straight into a Float32Array and name the first offending field.
 */
import { invalidField } from "./problem.ts";
import { outOfBounds, type TimeBounds, toUnixSeconds } from "./timestamps.ts";

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A client's `x-request-id`: printable ASCII without spaces. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const FLOAT32_MAX = 3.4028234663852886e38;

export interface Envelope {
  identifier: string | undefined;
  horizon: number | undefined;
  /** Whether the answer carries each forecast's quantiles (`"quantiles": true`). */
  quantiles: boolean;
}

export interface PredictBody extends Envelope {
  data: Record<string, unknown>;
}

export interface BatchBody extends Envelope {
  windows: Record<string, unknown>[];
}

/** What a window needs from the model card, and the instants its `ts` may hold. */
export interface WindowShape {
  features: readonly string[];
  window: number;
  bounds: TimeBounds;
  /** Per feature: whether it is an amount that cannot be negative (a traffic volume). */
  nonNegative?: readonly boolean[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** An identifier from a body or a query (`field` names where it came from); undefined when absent. */
export function parseIdentifier(value: unknown, field = "identifier"): string | undefined {
  if (value !== undefined && (typeof value !== "string" || !IDENTIFIER.test(value))) {
    throw invalidField(
      field,
      "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  return value;
}

/** The `x-request-id` header, when given. */
export function parseRequestId(value: string | undefined): string | undefined {
  if (value !== undefined && !REQUEST_ID.test(value)) {
    throw invalidField("x-request-id", "must be 1-128 printable ASCII characters without spaces");
  }
  return value;
}

function parseEnvelope(body: Record<string, unknown>): Envelope {
  const { horizon, quantiles } = body;
  const identifier = parseIdentifier(body.identifier);
  if (horizon !== undefined && (typeof horizon !== "number" || !Number.isInteger(horizon) || horizon < 1)) {
    throw invalidField("horizon", "must be a positive integer");
  }
  if (quantiles !== undefined && typeof quantiles !== "boolean") {
    throw invalidField("quantiles", "must be true or false");
  }
  return { identifier, horizon, quantiles: quantiles === true };
}

function requireBody(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw invalidField("(body)", "must be a JSON object");
  return body;
}

export function parsePredictBody(body: unknown): PredictBody {
  const record = requireBody(body);
  const envelope = parseEnvelope(record);
  const data = record.data;
  if (!isRecord(data)) throw invalidField("data", "must be an object of equal-length arrays");
  return { ...envelope, data };
}

export function parseBatchBody(body: unknown, maxWindows: number): BatchBody {
  const record = requireBody(body);
  const envelope = parseEnvelope(record);
  const { windows } = record;
  if (!Array.isArray(windows) || windows.length === 0) {
    throw invalidField("windows", "must be a non-empty array of windows");
  }
  if (windows.length > maxWindows) {
    throw invalidField("windows", `at most ${maxWindows} windows per request, got ${windows.length}`);
  }
  for (let i = 0; i < windows.length; i++) {
    if (!isRecord(windows[i]))
      throw invalidField(`windows[${i}]`, "must be an object of equal-length arrays");
  }
  return { ...envelope, windows: windows as Record<string, unknown>[] };
}

/**
 * Validates one window object (`ts` plus every card feature, equal lengths, at least `window` rows)
 * and writes its LAST `window` rows, features in card order, into `out` at `offset`.
 * Returns the Unix seconds of the last row.
 */
export function readWindow(
  data: Record<string, unknown>,
  shape: WindowShape,
  prefix: string,
  out: Float32Array,
  offset: number,
): number {
  const ts = data.ts;
  if (!Array.isArray(ts)) throw invalidField(`${prefix}.ts`, "is required: an array of timestamps");
  const rows = ts.length;
  if (rows < shape.window) {
    throw invalidField(`${prefix}.ts`, `needs at least ${shape.window} rows, got ${rows}`);
  }
  const { earliest, latest } = shape.bounds;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows; i++) {
    const seconds = toUnixSeconds(ts[i]);
    if (Number.isNaN(seconds)) {
      throw invalidField(`${prefix}.ts`, `index ${i}: expected an ISO 8601 string or Unix seconds`);
    }
    if (!(seconds >= earliest && seconds <= latest)) {
      throw invalidField(`${prefix}.ts`, `index ${i}: ${outOfBounds(ts[i], seconds, shape.bounds)}`);
    }
    if (seconds <= previous) throw invalidField(`${prefix}.ts`, `index ${i}: timestamps must increase`);
    previous = seconds;
  }
  const features = shape.features;
  const width = features.length;
  const first = rows - shape.window;
  for (let f = 0; f < width; f++) {
    const name = features[f] as string;
    const column = data[name];
    if (!Array.isArray(column)) throw invalidField(`${prefix}.${name}`, "is required: an array of numbers");
    if (column.length !== rows) {
      throw invalidField(`${prefix}.${name}`, `has ${column.length} values but ts has ${rows}`);
    }
    for (let i = 0; i < rows; i++) {
      const v = column[i];
      if (typeof v !== "number" || !(Math.abs(v) <= FLOAT32_MAX)) {
        throw invalidField(`${prefix}.${name}`, `index ${i}: expected a finite number, got ${describe(v)}`);
      }
      if (v < 0 && shape.nonNegative?.[f]) {
        throw invalidField(
          `${prefix}.${name}`,
          `index ${i}: ${v} is negative; '${name}' is an amount (>= 0)`,
        );
      }
      if (i >= first) out[offset + (i - first) * width + f] = v;
    }
  }
  return previous;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 20))}`;
  return typeof value;
}

/** The horizon a request asks for: its own (at most the model's) or the model's. */
export function resolveHorizon(requested: number | undefined, modelHorizon: number): number {
  if (requested === undefined) return modelHorizon;
  if (requested > modelHorizon) {
    throw invalidField("horizon", `the model forecasts at most ${modelHorizon} steps, got ${requested}`);
  }
  return requested;
}

/** Refuses `"quantiles": true` for a model whose card lists no quantile levels. */
export function requireQuantiles(wanted: boolean, levels: readonly number[], runId: string): void {
  if (wanted && levels.length === 0) {
    throw invalidField(
      "quantiles",
      `the serving model ${runId} has no quantile output (its card lists no quantiles)`,
    );
  }
}
