/**
 * Reading one CSV into DuckDB and classifying its cells. Value columns are read as text, so an
 * empty cell, `nan`, `inf` and a number too large for float32 (`1e308`, `1e400`) stay distinguishable.
 * Rows are 1-based data rows (the header is not counted); line = row + 1 unless a quoted field spans lines.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { PreprocessConfig } from "../common/contracts.ts";
import { firstLine, ident, lit, rows } from "./duck.ts";
import { DataError } from "./errors.ts";

/** The largest finite float32: models and `/predict` take float32 inputs. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Cell kinds: value, missing (empty, NaN, ±Inf), negative volume, beyond float32, not a number. */
export const KIND = { value: 0, empty: 1, nan: 2, inf: 3, negative: 4, range: 8, text: 9 } as const;

const NUMERIC =
  /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL.*)$/;

export interface LoadedCsv {
  table: string;
  name: string;
  /** Column names in file order. */
  header: string[];
  timeType: string;
}

export async function loadCsv(
  conn: DuckDBConnection,
  table: string,
  path: string,
  name: string,
): Promise<LoadedCsv> {
  const source = (types: string) =>
    `read_csv(${lit(path)}, header = true, auto_detect = true, sample_size = -1${types})`;
  try {
    const described = await rows(
      conn,
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${source("")})`,
    );
    const header = described.map(([col]) => String(col));
    const timeType = String(described.find(([col]) => col === "time")?.[1] ?? "VARCHAR");
    const asText = header.filter((c) => c !== "time").map((c) => `${lit(c)}: 'VARCHAR'`);
    const types = asText.length ? `, types = {${asText.join(", ")}}` : "";
    await conn.run(`CREATE TABLE ${table} AS SELECT *, row_number() OVER () AS __rn FROM ${source(types)}`);
    return { table, name, header, timeType };
  } catch (error) {
    throw new DataError(`${name}: not a readable CSV file (${firstLine(error)})`);
  }
}

export function timeExpr(csv: LoadedCsv): string {
  const type = csv.timeType;
  if (type === "TIMESTAMP") return "time";
  if (type.startsWith("TIMESTAMP WITH TIME ZONE")) return "timezone('UTC', time)";
  if (type.startsWith("TIMESTAMP") || type === "DATE") return "CAST(time AS TIMESTAMP)";
  if (NUMERIC.test(type)) return "make_timestamp(CAST(round(CAST(time AS DOUBLE) * 1e6) AS BIGINT))";
  if (type === "VARCHAR") return "try_cast(time AS TIMESTAMP)";
  throw new DataError(`${csv.name}: column 'time' has type ${type}, which is not a timestamp`);
}

const number = (col: string): string => `try_cast(trim(${ident(col)}) AS DOUBLE)`;

/** The KIND of each cell of `col` (a VARCHAR column). */
export function kindExpr(col: string, volume: boolean): string {
  const c = ident(col);
  const s = `lower(trim(${c}))`;
  const n = number(col);
  return `CASE WHEN ${c} IS NULL OR ${s} = '' THEN ${KIND.empty}
    WHEN ${s} IN ('nan', '+nan', '-nan') THEN ${KIND.nan}
    WHEN ${s} IN ('inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity') THEN ${KIND.inf}
    WHEN ${n} IS NULL THEN ${KIND.text}
    WHEN NOT isfinite(${n}) OR abs(${n}) > ${FLOAT32_MAX} THEN ${KIND.range}
    ${volume ? `WHEN ${n} < 0 THEN ${KIND.negative}` : ""}
    ELSE ${KIND.value} END`;
}

/** The cell's number: missing cells become NULL (for the NaN policy), negative volumes 0 (clip). */
export function valueExpr(col: string, kindColumn: string): string {
  return `CASE ${kindColumn} WHEN ${KIND.value} THEN ${number(col)} WHEN ${KIND.negative} THEN 0.0 END`;
}

const line = (rn: unknown): string => `row ${rn} (line ${Number(rn) + 1})`;

/** Fails on the first bad timestamp, then on each column's first unusable cell, naming column and row. */
export async function checkCells(
  conn: DuckDBConnection,
  csv: LoadedCsv,
  columns: string[],
  volumes: ReadonlySet<string>,
  config: PreprocessConfig,
): Promise<void> {
  const { table, name } = csv;
  const badTime = await rows(
    conn,
    `SELECT __rn, CAST(time AS VARCHAR) FROM ${table} WHERE time IS NULL OR ${timeExpr(csv)} IS NULL ORDER BY __rn LIMIT 1`,
  );
  if (badTime[0]) {
    const [rn, value] = badTime[0];
    throw new DataError(
      value === null
        ? `${name}: column 'time' is empty at ${line(rn)}`
        : `${name}: column 'time' has an unparsable timestamp '${value}' at ${line(rn)}`,
    );
  }
  const fatal: number[] = [KIND.text, KIND.range];
  if (config.negative_policy === "reject") fatal.push(KIND.negative);
  for (const col of columns) {
    const bad = await rows(
      conn,
      `SELECT __rn, ${ident(col)}, k FROM (SELECT __rn, ${ident(col)}, ${kindExpr(col, volumes.has(col))} AS k FROM ${table}) WHERE k IN (${fatal.join(", ")}) ORDER BY __rn LIMIT 1`,
    );
    if (!bad[0]) continue;
    const [rn, text, kind] = bad[0];
    const at = `${name}: column '${col}' has`;
    if (kind === KIND.text) throw new DataError(`${at} a non-numeric value '${text}' at ${line(rn)}`);
    if (kind === KIND.range)
      throw new DataError(
        `${at} ${String(text).trim()} at ${line(rn)}, beyond the float32 range (±${FLOAT32_MAX.toPrecision(8)}) that models and /predict accept`,
      );
    throw new DataError(
      `${at} a negative value ${String(text).trim()} at ${line(rn)}; a volume cannot be negative (NEGATIVE_POLICY=reject; NEGATIVE_POLICY=clip sets it to 0)`,
    );
  }
}
