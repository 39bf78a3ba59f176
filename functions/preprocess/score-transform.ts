/**
 * The data work of preprocess for a CSV to score, in DuckDB: the same cell checks, de-duplication and
 * NaN policy as training (transform.ts), then the champion's clip bounds, fitted on its training split,
 * instead of new ones; no split. One local CSV in, one local Parquet file out.
 */
import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { scalar } from "./duck.ts";
import { DataError } from "./errors.ts";
import { applyNanPolicy } from "./fill.ts";
import * as steps from "./steps.ts";

export interface ScoreTransformInput {
  csvPath: string;
  /** Display name for messages. */
  csvName: string;
  /** The champion's training configuration, with `features` set to the columns it was trained on. */
  config: PreprocessConfig;
  /** The champion's, fitted on its training split (null: it was trained unclipped). */
  clipBounds: steps.ClipBounds | null;
  out: string;
  /** Written into the Parquet key-value metadata. */
  kvMetadata: Record<string, string>;
}

export interface ScoreTransformResult {
  columns: string[];
  report: PreprocessReport;
  rows: steps.SplitSummary;
}

export function transformForScoring(input: ScoreTransformInput): Promise<ScoreTransformResult> {
  const { config, csvName } = input;
  return steps.withDuckDb(async (conn) => {
    const { choice } = await steps.loadMainCsv(conn, input.csvPath, csvName, config, "test");
    const read = Number(await scalar(conn, "SELECT count(*) FROM cls_test"));
    const kept = await steps.dedupe(conn, "cls_test");
    const fill = await applyNanPolicy(conn, choice.features, config);
    const left = kept - fill.rows_dropped_missing;
    const minRows = config.window + config.horizon;
    if (left < minRows)
      throw new DataError(
        `${csvName}: too few rows: ${left} rows after cleaning, at least ${minRows} (window + horizon) needed`,
      );
    await steps.writeParquet(
      conn,
      "filled",
      "TRUE",
      choice.features,
      input.clipBounds,
      input.out,
      input.kvMetadata,
    );
    return {
      columns: ["time", ...choice.features],
      report: steps.reportOf(config, choice, { read, kept }, fill),
      rows: await steps.summaryOf(conn, "filled", "TRUE"),
    };
  });
}
