/** batch-inference settings (the manifest lists the table). */
import { availableParallelism } from "node:os";
import { type Env, flag, integer, loadSettings } from "../common/settings.ts";

export const BATCH_SETTINGS = {
  /** Windows per onnxruntime run. */
  SCORE_BATCH_WINDOWS: integer(4096, { min: 1, max: 1_000_000 }),
  /** Rows per block streamed from the Parquet file. */
  SCORE_BLOCK_ROWS: integer(65_536, { min: 2048, max: 10_000_000 }),
  /** onnxruntime intra-op threads (default: the CPUs this process may use). */
  SCORE_THREADS: integer(availableParallelism, { min: 1, max: 64 }),
  /** Run onnxruntime on its worker thread, so windowing the next batch overlaps inference. */
  SCORE_WORKER: flag(false),
} as const;

export interface BatchSettings {
  batchWindows: number;
  blockRows: number;
  threads: number;
  worker: boolean;
}

export function loadBatchSettings(env: Env = process.env): BatchSettings {
  const s = loadSettings(BATCH_SETTINGS, env);
  return {
    batchWindows: s.SCORE_BATCH_WINDOWS,
    blockRows: s.SCORE_BLOCK_ROWS,
    threads: s.SCORE_THREADS,
    worker: s.SCORE_WORKER,
  };
}
