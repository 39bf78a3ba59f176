/**
 * The test split as columns, and sliding windows built exactly like the trainer's
 * (functions/train/src/flts_train/data.py): `window` rows of features, then `horizon` rows of
 * targets, skipping any window whose rows span a gap larger than the tolerance.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

export interface Series {
  /** Unix seconds. */
  times: Float64Array;
  columns: Map<string, Float64Array>;
}

export class SeriesError extends Error {}

/** Reads a processed Parquet file (a `time` TIMESTAMP column and numeric columns) with DuckDB. */
export async function readSeries(parquetPath: string): Promise<Series> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const conn = await DuckDBConnection.create(instance);
  try {
    const path = `'${parquetPath.replace(/'/g, "''")}'`;
    const described = (
      await conn.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${path}))`,
      )
    ).getRowsJS();
    const names = described.map((r) => String(r[0]));
    if (!names.includes("time")) throw new SeriesError(`${parquetPath}: column 'time' is missing`);
    const numeric = described
      .filter(
        (r) =>
          r[0] !== "time" &&
          /^(DOUBLE|FLOAT|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|DECIMAL.*)$/.test(String(r[1])),
      )
      .map((r) => String(r[0]));
    const select = [
      "epoch_us(CAST(time AS TIMESTAMP))::DOUBLE / 1e6 AS __t",
      ...numeric.map((c) => `CAST("${c.replace(/"/g, '""')}" AS DOUBLE)`),
    ].join(", ");
    const reader = await conn.runAndReadAll(`SELECT ${select} FROM read_parquet(${path}) ORDER BY time`);
    const cols = reader.getColumnsJS();
    const times = Float64Array.from(cols[0] as number[]);
    const columns = new Map<string, Float64Array>();
    numeric.forEach((name, i) => {
      columns.set(
        name,
        Float64Array.from((cols[i + 1] as (number | null)[]).map((v) => (v === null ? Number.NaN : v))),
      );
    });
    return { times, columns };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Start rows i such that rows i .. i+window+horizon-1 contain no gap larger than `gapTolerance`. */
export function windowStarts(
  times: ArrayLike<number>,
  window: number,
  horizon: number,
  gapTolerance: number,
): number[] {
  const n = times.length;
  const span = window + horizon;
  if (n < span) return [];
  // csum[i] = number of gaps between rows 0..i
  const csum = new Int32Array(n);
  for (let i = 1; i < n; i++)
    csum[i] =
      (csum[i - 1] as number) + ((times[i] as number) - (times[i - 1] as number) > gapTolerance ? 1 : 0);
  const out: number[] = [];
  for (let s = 0; s + span <= n; s++)
    if ((csum[s + span - 1] as number) - (csum[s] as number) === 0) out.push(s);
  return out;
}

function column(series: Series, name: string): Float64Array {
  const col = series.columns.get(name);
  if (!col)
    throw new SeriesError(
      `column '${name}' is not in the test data (columns: ${[...series.columns.keys()].join(", ")})`,
    );
  return col;
}

export interface WindowBatch {
  n: number;
  /** [n, window, nFeatures] raw units. */
  x: Float32Array;
  /** [n, horizon] Unix seconds of the forecast steps. */
  t: Float64Array;
}

/** Model inputs for the given window starts, features in the given (card) order. */
export function buildInputs(
  series: Series,
  starts: readonly number[],
  features: readonly string[],
  window: number,
  horizon: number,
): WindowBatch {
  const cols = features.map((f) => column(series, f));
  const nF = features.length;
  const x = new Float32Array(starts.length * window * nF);
  const t = new Float64Array(starts.length * horizon);
  starts.forEach((s, w) => {
    for (let r = 0; r < window; r++)
      for (let f = 0; f < nF; f++) x[(w * window + r) * nF + f] = (cols[f] as Float64Array)[s + r] as number;
    for (let h = 0; h < horizon; h++) t[w * horizon + h] = series.times[s + window + h] as number;
  });
  return { n: starts.length, x, t };
}

/** Truth [n, horizon, nTargets] and the last observed targets [n, nTargets] (for persistence). */
export function buildTargets(
  series: Series,
  starts: readonly number[],
  targets: readonly string[],
  window: number,
  horizon: number,
): { truth: Float64Array; last: Float64Array } {
  const cols = targets.map((c) => column(series, c));
  const k = targets.length;
  const truth = new Float64Array(starts.length * horizon * k);
  const last = new Float64Array(starts.length * k);
  starts.forEach((s, w) => {
    for (let h = 0; h < horizon; h++)
      for (let j = 0; j < k; j++)
        truth[(w * horizon + h) * k + j] = (cols[j] as Float64Array)[s + window + h] as number;
    for (let j = 0; j < k; j++) last[w * k + j] = (cols[j] as Float64Array)[s + window - 1] as number;
  });
  return { truth, last };
}
