/**
 * `npm run bench:score`: batch scoring against the JSON batch path, same machine, same run. Prints, as
 * its LAST stdout line, `{"batch_scoring": {...}, "predict_batch_json": {...}, "batch_over_json": x}`.
 *
 * - batch_scoring: the batch-inference module end to end (download from MinIO, read the Parquet in
 *   blocks, window, onnxruntime, write the result Parquet, upload it, publish `performance-eval`) with
 *   the GRU fixture over a processed object of BENCH_SCORE_ROWS rows (default 111,489: the reference
 *   data `data/PobleSec.csv` tiled 7 times on a continuous 2-minute clock, so every start is a window).
 *   Runs BENCH_SCORE_RUNS times (default 3); the median run is reported with where its time went.
 * - batch_scoring_hidden64: the same with a production-sized GRU (hidden 64, the trainer's default;
 *   test/fixtures/models/gru64), to show where the time goes when the model is larger.
 * - predict_batch_json: `POST /predict/batch`, 64 windows per request at concurrency 8, against the
 *   service started as in production (functions/inference/main.ts), BENCH_SECONDS (default 10) after
 *   2 s of warm-up: the figure `npm run bench` reports as `batch`.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { scoreClaimCheck } from "../functions/batch-inference/batch.ts";
import { stageScoringObject } from "../functions/batch-inference/objects.ts";
import { closeStageContext, createStageContext, type StageContext } from "../functions/common/context.ts";
import type { PromotionPointer } from "../functions/common/contracts.ts";
import { identifierPrefix, runKeys } from "../functions/common/keys.ts";
import { createLogger } from "../functions/common/log.ts";
import { deletePrefix } from "../functions/common/s3.ts";
import { startChild, stopChild, waitReady } from "./bench/children.ts";
import { load, round } from "./bench/load.ts";
import { batchBodies, csvWindows } from "./bench/windows.ts";
import { repoRoot } from "./paths.ts";
import { type ModelFiles, readModelDir, uploadModel, writePointer } from "./seed-model.ts";
import { localServiceSettings } from "./services/env.ts";
import { ensureLocalServices } from "./services/index.ts";
import { ensureTopics } from "./services/provision.ts";

const FIXTURE = join(repoRoot, "test", "fixtures", "models", process.env.BENCH_SCORE_MODEL ?? "gru");
/** The GRU at the trainer's default size (hidden 64), from functions/train/scripts/make_fixtures.py. */
const PRODUCTION_SIZED = join(repoRoot, "test", "fixtures", "models", "gru64");
const DATA = join(repoRoot, "data", "PobleSec.csv");
const ROWS = Number(process.env.BENCH_SCORE_ROWS ?? 111_489);
const RUNS = Number(process.env.BENCH_SCORE_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const HASH = "0".repeat(64);
if (!(ROWS >= 100 && RUNS >= 1 && SECONDS >= 1 && SECONDS <= 60))
  throw new Error("BENCH_SCORE_ROWS >= 100, BENCH_SCORE_RUNS >= 1, BENCH_SECONDS 1..60");

const log = (line: string) => process.stderr.write(`[bench:score] ${line}\n`);

/** The reference data tiled on a continuous 2-minute clock, `rows` rows, as processed Parquet. */
async function makeParquet(path: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await DuckDBConnection.create(instance);
  try {
    await conn.run(
      `COPY (WITH base AS (SELECT * EXCLUDE (time), row_number() OVER (ORDER BY time) - 1 AS i FROM read_csv('${DATA}')),
             n AS (SELECT count(*) AS c FROM base)
        SELECT TIMESTAMP '2018-01-01' + to_seconds(CAST((r.k * n.c + b.i) * 120 AS BIGINT)) AS time, b.* EXCLUDE (i)
        FROM base b, range(${Math.ceil(rows / 15_927) + 1}) r(k), n ORDER BY time LIMIT ${rows})
       TO '${path}' (FORMAT parquet)`,
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

interface Run {
  seconds: number;
  n: number;
}

interface Scored {
  identifier: string;
  files: ModelFiles;
  pointer: PromotionPointer;
  /** Every run's seconds and forecasts, the median run's, and its seconds by part. */
  runs: Run[];
  median: Run;
  parts: Record<string, number>;
}

/** Publishes the model of `modelDir` for a fresh identifier and scores the Parquet RUNS times. */
async function scoreWith(
  ctx: StageContext,
  modelDir: string,
  parquet: Uint8Array,
  timings: Record<string, number>[],
): Promise<Scored> {
  const { buckets } = ctx.config.storage;
  const files = readModelDir(modelDir);
  const stamp = `${Date.now()}-${process.pid}`;
  const identifier = `bench-score-${stamp}`;
  const pointer = await uploadModel(
    ctx.s3,
    buckets,
    files,
    `bench-score-${files.card.model_type.toLowerCase()}-${stamp}`,
    identifier,
  );
  await writePointer(ctx.s3, buckets.promotion, pointer);
  const claim = await stageScoringObject(ctx.s3, buckets.processed, identifier, HASH, parquet);
  const hidden = files.card.hyperparameters.hidden_size;
  const runs: Run[] = [];
  const first = timings.length;
  for (let r = 0; r < RUNS; r++) {
    const evaluation = await scoreClaimCheck(claim, ctx);
    runs.push({ seconds: evaluation.seconds, n: evaluation.n_windows * files.card.horizon });
    log(
      `hidden ${hidden}, run ${r + 1}: ${evaluation.n_windows} windows in ${round(evaluation.seconds, 3)} s`,
    );
  }
  const order = runs.map((_, i) => i).sort((a, b) => (runs[a]?.seconds ?? 0) - (runs[b]?.seconds ?? 0));
  const median = order[Math.floor(order.length / 2)] as number;
  return {
    identifier,
    files,
    pointer,
    runs,
    median: runs[median] as Run,
    parts: timings[first + median] ?? {},
  };
}

async function cleanUp(ctx: StageContext, scored: Scored): Promise<void> {
  const { buckets } = ctx.config.storage;
  await Promise.all([
    deletePrefix(ctx.s3, buckets.inferenceLogs, identifierPrefix(scored.identifier)),
    deletePrefix(ctx.s3, buckets.processed, identifierPrefix(scored.identifier)),
    deletePrefix(ctx.s3, buckets.artifacts, runKeys.prefix(scored.pointer.run_id)),
    deletePrefix(ctx.s3, buckets.promotion, identifierPrefix(scored.identifier)),
  ]);
}

/** `/predict/batch` forecasts per second against the service serving `scored`'s model. */
async function jsonBatch(scored: Scored): Promise<{ rps: number; errors: number }> {
  const service = await startChild([join(repoRoot, "functions", "inference", "main.ts")], {
    MODEL_IDENTIFIER: scored.identifier,
    GLOBAL_FALLBACK: "0",
    CACHE_SIZE: "0",
    PORT: "0",
    HOST: "127.0.0.1",
  });
  try {
    await waitReady(service.url);
    const { features, window } = scored.files.card;
    const bodies = batchBodies(csvWindows(DATA, features, window, 512), 64);
    log(`/predict/batch: warm-up 2 s, then ${SECONDS} s at concurrency 8`);
    await load(service.url, "/predict/batch", bodies, 8, 2);
    const result = await load(service.url, "/predict/batch", bodies, 8, SECONDS);
    return { rps: result.rps, errors: result.errors + result.non2xx };
  } finally {
    await stopChild(service.child);
  }
}

function figures(scored: Scored) {
  const { median, runs } = scored;
  return {
    forecasts_per_s: round(median.n / median.seconds),
    forecasts: median.n,
    seconds: round(median.seconds, 3),
    runs: runs.map((r) => round(r.seconds, 3)),
    seconds_by_part: Object.fromEntries(Object.entries(scored.parts).map(([k, v]) => [k, round(v, 3)])),
    model: {
      run_id: scored.pointer.run_id,
      model_type: scored.pointer.model_type,
      hidden_size: scored.files.card.hyperparameters.hidden_size,
    },
  };
}

async function main(): Promise<void> {
  await ensureLocalServices(log);
  await ensureTopics(localServiceSettings());
  const timings: Record<string, number>[] = [];
  const logger = createLogger("bench-score");
  const info = logger.info.bind(logger);
  logger.info = ((message: string, ...rest: unknown[]) => {
    const extra = rest[0] as { timings?: Record<string, number> } | undefined;
    if (message === "batch_scoring_done" && extra?.timings) timings.push(extra.timings);
    else info(message, ...(rest as []));
  }) as typeof logger.info;
  const ctx = await createStageContext("bench-score", process.env, logger);
  const dir = mkdtempSync(join(tmpdir(), "flts-bench-score-"));
  const done: Scored[] = [];
  let json: { rps: number; errors: number };
  try {
    const path = join(dir, "score.parquet");
    await makeParquet(path, ROWS);
    const parquet = readFileSync(path);
    done.push(await scoreWith(ctx, FIXTURE, parquet, timings));
    json = await jsonBatch(done[0] as Scored);
    done.push(await scoreWith(ctx, PRODUCTION_SIZED, parquet, timings));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(done.map((scored) => cleanUp(ctx, scored)));
    await closeStageContext(ctx);
  }
  const [fixture, production] = done as [Scored, Scored];
  const batch = figures(fixture);
  const jsonFps = json.rps * 64;
  const summary = {
    batch_scoring: {
      ...batch,
      settings: {
        SCORE_BATCH_WINDOWS: process.env.SCORE_BATCH_WINDOWS ?? "4096",
        SCORE_THREADS: process.env.SCORE_THREADS ?? `${availableParallelism()} (the CPUs available)`,
      },
    },
    predict_batch_json: {
      forecasts_per_s: round(jsonFps),
      windows_per_request: 64,
      concurrency: 8,
      errors: json.errors,
    },
    batch_over_json: round(batch.forecasts_per_s / jsonFps, 2),
    batch_scoring_hidden64: figures(production),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

await main();
