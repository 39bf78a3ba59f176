/**
 * The data work of preprocess, in DuckDB: read CSV(s), validate `time` and the numeric columns, sort,
 * drop duplicate timestamps, apply the NaN policy, split in time order, clip with percentiles fitted on
 * the train split only, and write train/test Parquet with the config in the key-value metadata.
 * Local files in, local files out: the S3 side lives in preprocess.ts.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

import { PermanentError, type PreprocessConfig } from "../common/contracts.ts";

export class DataError extends PermanentError {}

export interface TransformInput {
  csvPath: string;
  /** The `<name>_test.csv` companion: when given it is the test split. */
  testCsvPath: string | null;
  /** Display names for messages. */
  csvName: string;
  testCsvName: string | null;
  config: PreprocessConfig;
  trainOut: string;
  testOut: string;
  /** Written into both files' Parquet key-value metadata. */
  kvMetadata: Record<string, string>;
}

export interface SplitSummary {
  rows: number;
  start: string | null;
  end: string | null;
}

export interface TransformResult {
  columns: string[];
  features: string[];
  targets: string[];
  clipBounds: Record<string, { lower: number; upper: number }> | null;
  rows: { input: number; duplicates_dropped: number; nan_rows_dropped: number };
  train: SplitSummary;
  test: SplitSummary;
}

const NUMERIC =
  /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL.*)$/;

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

async function scalar(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowsJS()[0]?.[0];
}

async function rows(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRowsJS();
}

async function loadCsv(
  conn: DuckDBConnection,
  table: string,
  path: string,
  name: string,
): Promise<Map<string, string>> {
  try {
    await conn.run(
      `CREATE TABLE ${table} AS SELECT *, row_number() OVER () AS __rn FROM read_csv(${lit(path)}, header = true, auto_detect = true, sample_size = -1)`,
    );
  } catch (error) {
    throw new DataError(`${name}: not a readable CSV file (${firstLine(error)})`);
  }
  const types = new Map<string, string>();
  for (const [col, type] of await rows(conn, `SELECT column_name, column_type FROM (DESCRIBE ${table})`)) {
    if (col !== "__rn") types.set(String(col), String(type));
  }
  return types;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0] ?? "";
}

function timeExpr(type: string, name: string): string {
  if (type === "TIMESTAMP") return "time";
  if (type.startsWith("TIMESTAMP WITH TIME ZONE")) return "timezone('UTC', time)";
  if (type.startsWith("TIMESTAMP")) return "CAST(time AS TIMESTAMP)";
  if (type === "DATE") return "CAST(time AS TIMESTAMP)";
  if (NUMERIC.test(type)) return "make_timestamp(CAST(round(CAST(time AS DOUBLE) * 1e6) AS BIGINT))";
  if (type === "VARCHAR") return "try_cast(time AS TIMESTAMP)";
  throw new DataError(`${name}: column 'time' has type ${type}, which is not a timestamp`);
}

function valueExpr(col: string, type: string): string {
  const c = ident(col);
  const asDouble = type === "VARCHAR" ? `try_cast(${c} AS DOUBLE)` : `CAST(${c} AS DOUBLE)`;
  return `CASE WHEN isfinite(${asDouble}) THEN ${asDouble} END`;
}

/** Chooses and checks the columns of one CSV; errors name the column and the file. */
function chooseColumns(types: Map<string, string>, config: PreprocessConfig, name: string): string[] {
  if (!types.has("time")) {
    throw new DataError(`${name}: column 'time' is missing (columns: ${[...types.keys()].join(", ")})`);
  }
  const required = config.features ?? config.targets;
  for (const col of required) {
    if (!types.has(col)) {
      const role = config.targets.includes(col) ? "target" : "feature";
      throw new DataError(
        `${name}: column '${col}' is missing (required ${role}; columns: ${[...types.keys()].join(", ")})`,
      );
    }
  }
  const chosen =
    config.features ??
    [...types.entries()].filter(([col, type]) => col !== "time" && NUMERIC.test(type)).map(([col]) => col);
  for (const target of config.targets) if (!chosen.includes(target)) chosen.push(target);
  for (const col of chosen) {
    const type = types.get(col) as string;
    if (!NUMERIC.test(type) && type !== "VARCHAR") {
      throw new DataError(`${name}: column '${col}' has type ${type}, not numeric`);
    }
  }
  return chosen;
}

async function checkParsable(
  conn: DuckDBConnection,
  table: string,
  types: Map<string, string>,
  columns: string[],
  name: string,
): Promise<void> {
  const tExpr = timeExpr(types.get("time") as string, name);
  const badTime = await rows(
    conn,
    `SELECT __rn, CAST(time AS VARCHAR) FROM ${table} WHERE time IS NULL OR ${tExpr} IS NULL ORDER BY __rn LIMIT 1`,
  );
  if (badTime[0]) {
    const [rn, value] = badTime[0];
    throw new DataError(
      value === null
        ? `${name}: column 'time' is empty at row ${rn}`
        : `${name}: column 'time' has an unparsable timestamp '${value}' at row ${rn}`,
    );
  }
  for (const col of columns) {
    if (types.get(col) !== "VARCHAR") continue;
    const bad = await rows(
      conn,
      `SELECT __rn, ${ident(col)} FROM ${table} WHERE ${ident(col)} IS NOT NULL AND try_cast(${ident(col)} AS DOUBLE) IS NULL ORDER BY __rn LIMIT 1`,
    );
    if (bad[0])
      throw new DataError(
        `${name}: column '${col}' has a non-numeric value '${bad[0][1]}' at row ${bad[0][0]}`,
      );
  }
}

function typedSelect(
  table: string,
  part: string,
  types: Map<string, string>,
  columns: string[],
  name: string,
): string {
  const values = columns.map((c) => `${valueExpr(c, types.get(c) as string)} AS ${ident(c)}`).join(", ");
  return `SELECT ${timeExpr(types.get("time") as string, name)} AS time, '${part}' AS __part, __rn, ${values} FROM ${table}`;
}

export async function transform(input: TransformInput): Promise<TransformResult> {
  const { config } = input;
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const conn = await DuckDBConnection.create(instance);
  try {
    const mainTypes = await loadCsv(conn, "src_main", input.csvPath, input.csvName);
    const columns = chooseColumns(mainTypes, config, input.csvName);
    await checkParsable(conn, "src_main", mainTypes, columns, input.csvName);
    let union = typedSelect("src_main", "train", mainTypes, columns, input.csvName);
    if (input.testCsvPath) {
      const testName = input.testCsvName ?? input.testCsvPath;
      const testTypes = await loadCsv(conn, "src_test", input.testCsvPath, testName);
      for (const col of ["time", ...columns]) {
        if (!testTypes.has(col)) throw new DataError(`${testName}: column '${col}' is missing`);
      }
      await checkParsable(conn, "src_test", testTypes, columns, testName);
      union += ` UNION ALL ${typedSelect("src_test", "test", testTypes, columns, testName)}`;
    }
    await conn.run(`CREATE TABLE typed AS ${union}`);
    const input_rows = Number(await scalar(conn, "SELECT count(*) FROM typed"));
    if (input.testCsvPath) {
      const overlap = await scalar(
        conn,
        `SELECT (SELECT min(time) FROM typed WHERE __part = 'test') <= (SELECT max(time) FROM typed WHERE __part = 'train')`,
      );
      if (overlap === true) {
        throw new DataError(`${input.testCsvName}: the test file overlaps the training data in time`);
      }
    }

    // Sort and drop duplicate timestamps (the first occurrence wins; the main file before its companion).
    await conn.run(
      `CREATE TABLE dedup AS SELECT * FROM typed QUALIFY row_number() OVER (PARTITION BY time ORDER BY __part = 'test', __rn) = 1`,
    );
    const dedupRows = Number(await scalar(conn, "SELECT count(*) FROM dedup"));

    // NaN policy over the whole timeline (a forward fill may carry the last train value into test).
    const cols = columns.map(ident);
    const anyNull = cols.map((c) => `${c} IS NULL`).join(" OR ");
    if (config.nan_policy === "drop") {
      await conn.run(`CREATE TABLE filled AS SELECT * FROM dedup WHERE NOT (${anyNull})`);
    } else if (config.nan_policy === "constant") {
      const sel = cols.map((c) => `coalesce(${c}, ${config.nan_constant}) AS ${c}`).join(", ");
      await conn.run(`CREATE TABLE filled AS SELECT time, __part, __rn, ${sel} FROM dedup`);
    } else {
      const sel = cols.map((c) => `last_value(${c} IGNORE NULLS) OVER w AS ${c}`).join(", ");
      await conn.run(
        `CREATE TABLE ffilled AS SELECT time, __part, __rn, ${sel} FROM dedup WINDOW w AS (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
      );
      // Leading rows with nothing before them to carry forward are dropped.
      await conn.run(`CREATE TABLE filled AS SELECT * FROM ffilled WHERE NOT (${anyNull})`);
    }
    const filledRows = Number(await scalar(conn, "SELECT count(*) FROM filled"));

    // Time-ordered split.
    if (input.testCsvPath) {
      await conn.run("CREATE TABLE split AS SELECT * FROM filled");
    } else {
      const nTrain = Math.floor(
        filledRows * (1 - (config.split.kind === "fraction" ? config.split.test_fraction : 0)),
      );
      await conn.run(
        `CREATE TABLE split AS SELECT * EXCLUDE (__part, __pos), CASE WHEN __pos <= ${nTrain} THEN 'train' ELSE 'test' END AS __part FROM (SELECT *, row_number() OVER (ORDER BY time) AS __pos FROM filled)`,
      );
    }
    const count = async (part: string) =>
      Number(await scalar(conn, `SELECT count(*) FROM split WHERE __part = '${part}'`));
    const nTrain = await count("train");
    const nTest = await count("test");
    if (nTrain < config.min_rows) {
      throw new DataError(
        `${input.csvName}: too few rows: ${nTrain} training rows after cleaning, at least ${config.min_rows} needed`,
      );
    }
    const minTest = config.window + config.horizon;
    if (nTest < minTest) {
      throw new DataError(
        `${input.testCsvName ?? input.csvName}: too few rows: ${nTest} test rows after cleaning, at least ${minTest} (window + horizon) needed`,
      );
    }

    // Percentile clipping, fitted on the train split only.
    let clipBounds: TransformResult["clipBounds"] = null;
    let finalSelect = cols.join(", ");
    if (config.clip) {
      clipBounds = {};
      const { lower_pct, upper_pct } = config.clip;
      const q = await rows(
        conn,
        `SELECT ${cols.map((c) => `quantile_cont(${c}, [${lower_pct}, ${upper_pct}])`).join(", ")} FROM split WHERE __part = 'train'`,
      );
      columns.forEach((col, i) => {
        const [lower, upper] = (q[0]?.[i] as number[]) ?? [];
        if (lower === undefined || upper === undefined)
          throw new DataError(`column '${col}': no values to clip`);
        (clipBounds as Record<string, { lower: number; upper: number }>)[col] = { lower, upper };
      });
      finalSelect = columns
        .map((col) => {
          const b = (clipBounds as Record<string, { lower: number; upper: number }>)[col] as {
            lower: number;
            upper: number;
          };
          return `least(greatest(${ident(col)}, ${b.lower}), ${b.upper}) AS ${ident(col)}`;
        })
        .join(", ");
    }

    const kv = Object.entries(input.kvMetadata)
      .map(([k, v]) => `${ident(k)}: ${lit(v)}`)
      .join(", ");
    for (const [part, out] of [
      ["train", input.trainOut],
      ["test", input.testOut],
    ] as const) {
      await conn.run(
        `COPY (SELECT time, ${finalSelect} FROM split WHERE __part = '${part}' ORDER BY time) TO ${lit(out)} (FORMAT parquet, KV_METADATA {${kv}})`,
      );
    }
    const summary = async (part: string): Promise<SplitSummary> => {
      const r = await rows(
        conn,
        `SELECT count(*), strftime(min(time), '%Y-%m-%dT%H:%M:%SZ'), strftime(max(time), '%Y-%m-%dT%H:%M:%SZ') FROM split WHERE __part = '${part}'`,
      );
      const [n, start, end] = r[0] ?? [0, null, null];
      return { rows: Number(n), start: (start as string) ?? null, end: (end as string) ?? null };
    };
    return {
      columns: ["time", ...columns],
      features: columns,
      targets: [...config.targets],
      clipBounds,
      rows: {
        input: input_rows,
        duplicates_dropped: input_rows - dedupRows,
        nan_rows_dropped: dedupRows - filledRows,
      },
      train: await summary("train"),
      test: await summary("test"),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
