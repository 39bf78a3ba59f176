/**
 * The data work of preprocess for a CSV to score, in DuckDB: the same cell checks, de-duplication and
 * NaN policy as training (transform.ts), then the champion's clip bounds, fitted on its training split,
 * instead of new ones; no split. One local CSV in, one local Parquet file out.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { checkCells, checkTimes, classify, loadCsv } from "./cells.ts";
import { chooseColumns } from "./columns.ts";
import { scalar } from "./duck.ts";
import { DataError } from "./errors.ts";
import { applyNanPolicy } from "./fill.ts";
import { type ClipBounds, dedupe, reportOf, type SplitSummary, summaryOf, writeParquet } from "./steps.ts";

export interface ScoreTransformInput {
  csvPath: string;
  /** Display name for messages. */
  csvName: string;
  /** The champion's training configuration, with `features` set to the columns it was trained on. */
  config: PreprocessConfig;
  /** The champion's, fitted on its training split (null: it was trained unclipped). */
  clipBounds: ClipBounds | null;
  out: string;
  /** Written into the Parquet key-value metadata. */
  kvMetadata: Record<string, string>;
}

export interface ScoreTransformResult {
  columns: string[];
  report: PreprocessReport;
  rows: SplitSummary;
}

export async function transformForScoring(input: ScoreTransformInput): Promise<ScoreTransformResult> {
  const { config } = input;
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const conn = await DuckDBConnection.create(instance);
  try {
    const csv = await loadCsv(conn, "src_main", input.csvPath, input.csvName);
    const choice = chooseColumns(csv.header, config, input.csvName);
    const columns = choice.features;
    const volumes = new Set(config.volume_columns.filter((c) => columns.includes(c)));
    await checkTimes(conn, csv);
    const table = await classify(conn, csv, "test", columns, volumes);
    await checkCells(conn, csv, table, columns, config);
    const read = Number(await scalar(conn, `SELECT count(*) FROM ${table}`));
    const kept = await dedupe(conn, table);
    const fill = await applyNanPolicy(conn, columns, config);
    const minRows = config.window + config.horizon;
    if (kept - fill.rows_dropped_missing < minRows) {
      throw new DataError(
        `${input.csvName}: too few rows: ${kept - fill.rows_dropped_missing} rows after cleaning, at least ${minRows} (window + horizon) needed`,
      );
    }
    await writeParquet(conn, "filled", "TRUE", columns, input.clipBounds, input.out, input.kvMetadata);
    return {
      columns: ["time", ...columns],
      report: reportOf(config, choice, { read, kept }, fill),
      rows: await summaryOf(conn, "filled", "TRUE"),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
