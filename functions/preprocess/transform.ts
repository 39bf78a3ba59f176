/**
 * The data work of preprocess, in DuckDB: read CSV(s), validate `time` and every feature cell (numbers
 * within float32, negative volumes per NEGATIVE_POLICY), sort, drop duplicate timestamps, apply the NaN
 * policy, split in time order, clip with percentiles fitted on the train split only, and write
 * train/test Parquet with the config in the key-value metadata. Local files in, local files out: the
 * S3 side lives in preprocess.ts.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { checkCells, checkTimes, classify, loadCsv } from "./cells.ts";
import { ident, rows, scalar } from "./duck.ts";
import { DataError } from "./errors.ts";
import { applyNanPolicy } from "./fill.ts";
import {
  type ClipBounds,
  dedupe,
  loadMainCsv,
  reportOf,
  type SplitSummary,
  summaryOf,
  writeParquet,
} from "./steps.ts";

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

export type { SplitSummary } from "./steps.ts";

export interface TransformResult {
  columns: string[];
  features: string[];
  targets: string[];
  clipBounds: ClipBounds | null;
  rows: { input: number; duplicates_dropped: number; nan_rows_dropped: number };
  report: PreprocessReport;
  train: SplitSummary;
  test: SplitSummary;
}

export async function transform(input: TransformInput): Promise<TransformResult> {
  const { config } = input;
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const conn = await DuckDBConnection.create(instance);
  try {
    const { choice, volumes } = await loadMainCsv(conn, input.csvPath, input.csvName, config, "train");
    const columns = choice.features;
    let union = "SELECT * FROM cls_train";
    if (input.testCsvPath) {
      const testName = input.testCsvName ?? input.testCsvPath;
      const test = await loadCsv(conn, "src_test", input.testCsvPath, testName);
      for (const col of ["time", ...columns]) {
        if (!test.header.includes(col)) throw new DataError(`${testName}: column '${col}' is missing`);
      }
      await checkTimes(conn, test);
      await checkCells(conn, test, await classify(conn, test, "test", columns, volumes), columns, config);
      union += " UNION ALL SELECT * FROM cls_test";
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
    const dedupRows = await dedupe(conn, "typed");
    const fill = await applyNanPolicy(conn, columns, config);
    const filledRows = dedupRows - fill.rows_dropped_missing;
    const cols = columns.map(ident);

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
    let clipBounds: ClipBounds | null = null;
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
        (clipBounds as ClipBounds)[col] = { lower, upper };
      });
    }

    for (const [part, out] of [
      ["train", input.trainOut],
      ["test", input.testOut],
    ] as const) {
      await writeParquet(conn, "split", `__part = '${part}'`, columns, clipBounds, out, input.kvMetadata);
    }
    const summary = (part: string) => summaryOf(conn, "split", `__part = '${part}'`);
    return {
      columns: ["time", ...columns],
      features: columns,
      targets: [...config.targets],
      clipBounds,
      rows: {
        input: input_rows,
        duplicates_dropped: input_rows - dedupRows,
        nan_rows_dropped: fill.rows_dropped_missing,
      },
      report: reportOf(config, choice, { read: input_rows, kept: dedupRows }, fill),
      train: await summary("train"),
      test: await summary("test"),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
