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

/** The KIND of a cell from its trimmed lower-case text `s` and its parsed number `n`. */
function kindExpr(s: string, n: string, volume: boolean): string {
  return `CASE WHEN ${s} IS NULL OR ${s} = '' THEN ${KIND.empty}
    WHEN ${s} IN ('nan', '+nan', '-nan') THEN ${KIND.nan}
    WHEN ${s} IN ('inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity') THEN ${KIND.inf}
    WHEN ${n} IS NULL THEN ${KIND.text}
    WHEN NOT isfinite(${n}) OR abs(${n}) > ${FLOAT32_MAX} THEN ${KIND.range}
    ${volume ? `WHEN ${n} < 0 THEN ${KIND.negative}` : ""}
    ELSE ${KIND.value} END`;
}

export const kindColumn = (i: number): string => `__k${i}`;

/**
 * Table `cls_<part>`: time (typed), __part, __rn, then per feature its cell kind `__k<i>` and its
 * number under the column's name (NULL when missing, 0 for a negative volume, for NEGATIVE_POLICY=clip).
 */
export async function classify(
  conn: DuckDBConnection,
  csv: LoadedCsv,
  part: "train" | "test",
  columns: string[],
  volumes: ReadonlySet<string>,
): Promise<string> {
  const parsed = columns.flatMap((c, i) => [
    `lower(trim(${ident(c)})) AS __s${i}`,
    `try_cast(trim(${ident(c)}) AS DOUBLE) AS __n${i}`,
  ]);
  const kinds = columns.map(
    (c, i) => `${kindExpr(`__s${i}`, `__n${i}`, volumes.has(c))} AS ${kindColumn(i)}`,
  );
  const values = columns.map(
    (c, i) =>
      `CASE ${kindColumn(i)} WHEN ${KIND.value} THEN __n${i} WHEN ${KIND.negative} THEN 0.0 END AS ${ident(c)}`,
  );
  const table = `cls_${part}`;
  await conn.run(
    `CREATE TABLE ${table} AS SELECT time, __part, __rn, ${columns.map((_, i) => kindColumn(i)).join(", ")}, ${values.join(", ")}
     FROM (SELECT *, ${kinds.join(", ")} FROM (SELECT ${timeExpr(csv)} AS time, '${part}' AS __part, __rn, ${parsed.join(", ")} FROM ${csv.table}))`,
  );
  return table;
}

const line = (rn: unknown): string => `row ${rn} (line ${Number(rn) + 1})`;

/** Fails on the first empty or unparsable timestamp, naming its row. */
export async function checkTimes(conn: DuckDBConnection, csv: LoadedCsv): Promise<void> {
  const bad = await rows(
    conn,
    `SELECT __rn, CAST(time AS VARCHAR) FROM ${csv.table} WHERE time IS NULL OR ${timeExpr(csv)} IS NULL ORDER BY __rn LIMIT 1`,
  );
  if (!bad[0]) return;
  const [rn, value] = bad[0];
  throw new DataError(
    value === null
      ? `${csv.name}: column 'time' is empty at ${line(rn)}`
      : `${csv.name}: column 'time' has an unparsable timestamp '${value}' at ${line(rn)}`,
  );
}

/** Fails on the first column (in feature order) holding an unusable cell, naming it and its first such row. */
export async function checkCells(
  conn: DuckDBConnection,
  csv: LoadedCsv,
  table: string,
  columns: string[],
  config: PreprocessConfig,
): Promise<void> {
  const fatal = [KIND.text, KIND.range, ...(config.negative_policy === "reject" ? [KIND.negative] : [])];
  const firsts = await rows(
    conn,
    `SELECT ${columns.map((_, i) => `min(__rn) FILTER (WHERE ${kindColumn(i)} IN (${fatal.join(", ")}))`).join(", ")} FROM ${table}`,
  );
  const i = (firsts[0] ?? []).findIndex((rn) => rn !== null);
  if (i < 0) return;
  const col = columns[i] as string;
  const rn = Number((firsts[0] as unknown[])[i]);
  const [[raw, kind]] = (await rows(
    conn,
    `SELECT trim(s.${ident(col)}), c.${kindColumn(i)} FROM ${csv.table} s JOIN ${table} c USING (__rn) WHERE __rn = ${rn}`,
  )) as [[string, number]];
  const at = `${csv.name}: column '${col}' has`;
  if (kind === KIND.text) throw new DataError(`${at} a non-numeric value '${raw}' at ${line(rn)}`);
  if (kind === KIND.range)
    throw new DataError(
      `${at} ${raw} at ${line(rn)}, beyond the float32 range (±${FLOAT32_MAX.toPrecision(8)}) that models and /predict accept`,
    );
  throw new DataError(
    `${at} a negative value ${raw} at ${line(rn)}; a volume cannot be negative (NEGATIVE_POLICY=reject; NEGATIVE_POLICY=clip sets it to 0)`,
  );
}
