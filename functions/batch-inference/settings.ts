/** batch-inference settings from the environment (each error names its variable). */
import { availableParallelism } from "node:os";
import { envBool, envNumber } from "../common/env.ts";

export interface BatchSettings {
  /** Windows per onnxruntime run. */
  batchWindows: number;
  /** Rows per block streamed from the Parquet file. */
  blockRows: number;
  /** onnxruntime intra-op threads (default: the CPUs this process may use). */
  threads: number;
  /** Run onnxruntime on its worker thread, so windowing the next batch overlaps inference. */
  worker: boolean;
}

export function loadBatchSettings(env: NodeJS.ProcessEnv = process.env): BatchSettings {
  return {
    batchWindows: envNumber(env, "SCORE_BATCH_WINDOWS", 4096, { min: 1, max: 1_000_000, integer: true }),
    blockRows: envNumber(env, "SCORE_BLOCK_ROWS", 65_536, { min: 2048, max: 10_000_000, integer: true }),
    threads: envNumber(env, "SCORE_THREADS", availableParallelism(), { min: 1, max: 64, integer: true }),
    worker: envBool(env, "SCORE_WORKER", false),
  };
}
