/**
 * Steps shared by the training transform (transform.ts) and the scoring one (score-transform.ts), so
 * both treat the same rows the same way: de-duplication, clipping, the Parquet output, its summary
 * and the report.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { checkCells, checkTimes, classify, type LoadedCsv, loadCsv } from "./cells.ts";
import { type ColumnChoice, chooseColumns } from "./columns.ts";
import { ident, lit, rows, scalar } from "./duck.ts";
import type { FillOutcome } from "./fill.ts";

export type ClipBounds = Record<string, { lower: number; upper: number }>;

export interface SplitSummary {
  rows: number;
  start: string | null;
  end: string | null;
}

/** Runs `work` on a fresh in-memory DuckDB, closed afterwards. */
export async function withDuckDb<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const conn = await DuckDBConnection.create(instance);
  try {
    return await work(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export interface CheckedCsv {
  csv: LoadedCsv;
  choice: ColumnChoice;
  /** The features that are volumes (NEGATIVE_POLICY applies). */
  volumes: Set<string>;
}

/** The main CSV: loaded, its features chosen, times and cells checked, classified as table `cls_<part>`. */
export async function loadMainCsv(
  conn: DuckDBConnection,
  path: string,
  name: string,
  config: PreprocessConfig,
  part: "train" | "test",
): Promise<CheckedCsv> {
  const csv = await loadCsv(conn, "src_main", path, name);
  const choice = chooseColumns(csv.header, config, name);
  const columns = choice.features;
  const volumes = new Set(config.volume_columns.filter((c) => columns.includes(c)));
  await checkTimes(conn, csv);
  await checkCells(conn, csv, await classify(conn, csv, part, columns, volumes), columns, config);
  return { csv, choice, volumes };
}

/**
 * `source` sorted with duplicate timestamps dropped (the first occurrence wins; the main file before
 * its companion) as table `dedup`; returns its row count.
 */
export async function dedupe(conn: DuckDBConnection, source: string): Promise<number> {
  await conn.run(
    `CREATE TABLE dedup AS SELECT * FROM ${source} QUALIFY row_number() OVER (PARTITION BY time ORDER BY __part = 'test', __rn) = 1`,
  );
  return Number(await scalar(conn, "SELECT count(*) FROM dedup"));
}

/** The value columns as selected into the output: clipped to `bounds` when there are bounds. */
function clippedSelect(columns: readonly string[], bounds: ClipBounds | null): string {
  return columns
    .map((col) => {
      const b = bounds?.[col];
      return b ? `least(greatest(${ident(col)}, ${b.lower}), ${b.upper}) AS ${ident(col)}` : ident(col);
    })
    .join(", ");
}

/** The rows of `table` matching `where`, in time order, as Parquet with `kv` in its key-value metadata. */
export async function writeParquet(
  conn: DuckDBConnection,
  table: string,
  where: string,
  columns: readonly string[],
  bounds: ClipBounds | null,
  out: string,
  kv: Record<string, string>,
): Promise<void> {
  const meta = Object.entries(kv)
    .map(([k, v]) => `${ident(k)}: ${lit(v)}`)
    .join(", ");
  await conn.run(
    `COPY (SELECT time, ${clippedSelect(columns, bounds)} FROM ${table} WHERE ${where} ORDER BY time) TO ${lit(out)} (FORMAT parquet, KV_METADATA {${meta}})`,
  );
}

export async function summaryOf(conn: DuckDBConnection, table: string, where: string): Promise<SplitSummary> {
  const r = await rows(
    conn,
    `SELECT count(*), strftime(min(time), '%Y-%m-%dT%H:%M:%SZ'), strftime(max(time), '%Y-%m-%dT%H:%M:%SZ') FROM ${table} WHERE ${where}`,
  );
  const [n, start, end] = r[0] ?? [0, null, null];
  return { rows: Number(n), start: (start as string) ?? null, end: (end as string) ?? null };
}

/** What preprocess did: `read` rows, `kept` after de-duplication, then the NaN and negative policies. */
export function reportOf(
  config: PreprocessConfig,
  choice: ColumnChoice,
  counts: { read: number; kept: number },
  fill: FillOutcome,
): PreprocessReport {
  return {
    rows_read: counts.read,
    duplicates_dropped: counts.read - counts.kept,
    rows_dropped_missing: fill.rows_dropped_missing,
    nan_policy: config.nan_policy,
    missing_cells: fill.missing_cells,
    negative_policy: config.negative_policy,
    negatives_clipped: fill.negatives_clipped,
    feature_selection: choice.selection,
    features: choice.features,
    features_left_out: choice.leftOut,
  };
}
