/** Scoring data for the batch-inference and monitor tests: CSV text made a processed Parquet in MinIO. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { stageScoringObject } from "../../functions/batch-inference/objects.ts";
import type { StageContext } from "../../functions/common/context.ts";
import type { InferenceDataMessage } from "../../functions/common/contracts.ts";

/** This process's folder for CSV and Parquet files. */
export const scratchDir = mkdtempSync(join(tmpdir(), "flts-scoring-it-"));

/** One query on an in-memory DuckDB, its rows as JS values. */
export async function sql<T = unknown[]>(query: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await DuckDBConnection.create(instance);
  try {
    return (await conn.runAndReadAll(query)).getRowsJS() as T[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** A processed scoring object (time as TIMESTAMP; '' and NaN cells null) from CSV text, uploaded; its claim check. */
export async function stageScoring(
  ctx: StageContext,
  identifier: string,
  configHash: string,
  csv: string,
): Promise<InferenceDataMessage> {
  const csvPath = join(scratchDir, `${identifier}.csv`);
  const parquet = join(scratchDir, `${identifier}.parquet`);
  writeFileSync(csvPath, csv);
  await sql(
    `COPY (SELECT * REPLACE (CAST(time AS TIMESTAMP) AS time) FROM read_csv('${csvPath}', nullstr = ['', 'NaN'])) TO '${parquet}' (FORMAT parquet)`,
  );
  return stageScoringObject(
    ctx.s3,
    ctx.config.storage.buckets.processed,
    identifier,
    configHash,
    readFileSync(parquet),
  );
}
