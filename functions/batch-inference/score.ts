/**
 * The hot path of batch scoring, with no I/O but local files: stream a processed Parquet file in
 * blocks, window each block (training gap rule), run the model in batches of `batchSize` windows
 * straight from the typed arrays, accumulate errors, append results to the Parquet writer.
 * Measured by `npm run bench:score` (local/bench-score.ts); figures in README.md, "Batch scoring".
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { ModelCard, PerTargetMetrics } from "../common/contracts.ts";
import type { Forecaster } from "../inference/model.ts";
import { ErrorSums, maeRatio } from "./errors.ts";
import { readBlocks } from "./reader.ts";
import { columnsToRead, Windower } from "./windower.ts";
import { ResultWriter } from "./writer.ts";

export interface ScoreOptions {
  /** Windows per onnxruntime run. */
  batchSize: number;
  /** Rows per block read from the Parquet file. */
  blockRows: number;
  gapToleranceSeconds: number;
  /** A directory for DuckDB's database and spill files. */
  workDir: string;
}

export interface ScoreResult {
  n_windows: number;
  rows_written: number;
  metrics: PerTargetMetrics;
  persistence: PerTargetMetrics;
  ratio: Record<string, number | null>;
  windows_skipped: { gap: number; non_finite: number };
  /** Seconds in each part of the loop (read+window, infer, write). */
  timings: { read_window: number; infer: number; write: number; finish: number };
}

interface InFlight {
  b: number;
  t: Float64Array;
  truth: Float64Array;
  last: Float64Array;
  y: Promise<Float32Array>;
}

type ScoredCard = Pick<ModelCard, "features" | "targets" | "window" | "horizon">;

export async function scoreParquet(
  input: string,
  output: string,
  card: ScoredCard,
  forecast: Forecaster,
  options: ScoreOptions,
): Promise<ScoreResult> {
  const instance = await DuckDBInstance.create(`${options.workDir}/batch.duckdb`, {
    threads: "1",
    memory_limit: "512MB",
    temp_directory: `${options.workDir}/spill`,
  });
  const conn = await DuckDBConnection.create(instance);
  const timings = { read_window: 0, infer: 0, write: 0, finish: 0 };
  try {
    const shape = { ...card, gapToleranceSeconds: options.gapToleranceSeconds };
    const windower = new Windower(shape);
    const errors = new ErrorSums(card.targets, card.horizon);
    const writer = await ResultWriter.open(conn, card.targets, card.horizon);
    const xSize = card.window * card.features.length;
    const ySize = card.horizon * card.targets.length;
    let n = 0;
    let clock = performance.now();
    const lap = (part: keyof typeof timings) => {
      const now = performance.now();
      timings[part] += (now - clock) / 1000;
      clock = now;
    };
    // One batch in flight: its forecasts are consumed after the next batch has been started, so with
    // the session on the onnxruntime worker thread (SCORE_WORKER=1) windowing overlaps inference.
    let pending: InFlight | null = null;
    const consume = async (batch: InFlight) => {
      const y = await batch.y;
      lap("infer");
      if (y.length !== batch.b * ySize)
        throw new Error(
          `model answered ${y.length} values for ${batch.b} windows, expected ${batch.b * ySize}`,
        );
      errors.add(y, batch.truth, batch.last);
      writer.append(batch.b, batch.t, y, batch.truth);
      lap("write");
    };
    for await (const block of readBlocks(conn, input, columnsToRead(card), options.blockRows)) {
      const set = windower.push(block);
      lap("read_window");
      for (let from = 0; from < set.n; from += options.batchSize) {
        const b = Math.min(options.batchSize, set.n - from);
        const t = set.t.subarray(from * card.horizon, (from + b) * card.horizon);
        const started: InFlight = {
          b,
          t,
          truth: set.truth.subarray(from * ySize, (from + b) * ySize),
          last: set.last.subarray(from * card.targets.length, (from + b) * card.targets.length),
          // copies: a view posted to the worker would clone the whole block's buffer
          y: forecast(set.x.slice(from * xSize, (from + b) * xSize), t.slice(), b),
        };
        // a rejection is awaited in consume; until then it must not count as unhandled
        started.y.catch(() => undefined);
        if (pending) await consume(pending);
        pending = started;
      }
      n += set.n;
    }
    if (pending) await consume(pending);
    const rows = await writer.finish(output);
    lap("finish");
    const metrics = errors.model();
    const persistence = errors.persistence();
    return {
      n_windows: n,
      rows_written: rows,
      metrics,
      persistence,
      ratio: maeRatio(metrics, persistence),
      windows_skipped: { ...windower.skipped },
      timings,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
