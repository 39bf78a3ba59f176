/**
 * The batch result as Parquet: rows appended in DuckDB data chunks straight from typed arrays into
 * a table of an on-disk DuckDB database (it spills, so memory stays bounded), then one COPY.
 * Columns: `ts` TIMESTAMP (the instant forecast), `step` (1..horizon), per target its forecast
 * (FLOAT, as the model answers) and `<target>_actual` (DOUBLE, null where the data has none).
 */
import {
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  FLOAT,
  INTEGER,
} from "@duckdb/node-api";
import { ident, lit } from "../preprocess/duck.ts";

const CHUNK = 2048;
const TABLE = "batch_result";

export class ResultWriter {
  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly appender: DuckDBAppender,
    private readonly targets: readonly string[],
    private readonly horizon: number,
  ) {}

  static async open(
    conn: DuckDBConnection,
    targets: readonly string[],
    horizon: number,
  ): Promise<ResultWriter> {
    const cols = targets.flatMap((t) => [`${ident(t)} FLOAT`, `${ident(`${t}_actual`)} DOUBLE`]);
    await conn.run(`CREATE OR REPLACE TABLE ${TABLE} (ts_s DOUBLE, step INTEGER, ${cols.join(", ")})`);
    return new ResultWriter(conn, await conn.createAppender(TABLE), targets, horizon);
  }

  /** `t` [n, horizon] Unix seconds; `y` and `truth` [n, horizon, k]. */
  append(n: number, t: Float64Array, y: Float32Array, truth: Float64Array): void {
    const rows = n * this.horizon;
    const k = this.targets.length;
    const types = [DOUBLE, INTEGER, ...this.targets.flatMap(() => [FLOAT, DOUBLE])];
    for (let from = 0; from < rows; from += CHUNK) {
      const size = Math.min(CHUNK, rows - from);
      const chunk = DuckDBDataChunk.create(types, size);
      chunk.setColumnValues(0, t.subarray(from, from + size) as unknown as number[]);
      const step = new Int32Array(size);
      for (let r = 0; r < size; r++) step[r] = ((from + r) % this.horizon) + 1;
      chunk.setColumnValues(1, step as unknown as number[]);
      for (let j = 0; j < k; j++) {
        const forecast = new Float32Array(size);
        const actual: (number | null)[] = new Array(size);
        for (let r = 0; r < size; r++) {
          forecast[r] = y[(from + r) * k + j] as number;
          const a = truth[(from + r) * k + j] as number;
          actual[r] = Number.isFinite(a) ? a : null;
        }
        chunk.setColumnValues(2 + 2 * j, forecast as unknown as number[]);
        chunk.setColumnValues(3 + 2 * j, actual);
      }
      this.appender.appendDataChunk(chunk);
    }
  }

  /** Flushes and writes the table to `path` (zstd Parquet), in time order. */
  async finish(path: string): Promise<number> {
    this.appender.flushSync();
    this.appender.closeSync();
    const cols = this.targets.flatMap((t) => [ident(t), ident(`${t}_actual`)]);
    await this.conn.run(
      `COPY (SELECT make_timestamp(CAST(round(ts_s * 1e6) AS BIGINT)) AS ts, step, ${cols.join(", ")} FROM ${TABLE} ORDER BY ts_s, step) TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const reader = await this.conn.runAndReadAll(`SELECT count(*) FROM ${TABLE}`);
    return Number(reader.getRowsJS()[0]?.[0] ?? 0);
  }
}
