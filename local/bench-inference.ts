/**
 * `npm run bench`: loads the inference service on loopback and prints, as its LAST stdout line,
 * `{"ceiling": {...}, "predict": {...}, "batch": {...}}`.
 *
 * - ceiling: a bare Hono route returning a constant, same machine, same run, in as many processes
 *   as the service (WORKERS, default one per CPU).
 * - predict: `POST /predict` at concurrency 64 against the real service (GRU fixture model published
 *   to MinIO with a pointer), started as in production: the container's entry point,
 *   functions/inference/main.ts, with WORKERS processes. The forecast cache is OFF (CACHE_SIZE=0) and every
 *   request carries one of 512 distinct windows (consecutive windows of the reference data,
 *   `test/fixtures/data/PobleSecSlice.csv`, as written there), so every answer is a real ONNX forecast.
 * - batch: `POST /predict/batch` with 64 windows per request at concurrency 8.
 * - ceiling_one_process (when WORKERS > 1): the bare route in one process, for reference.
 * - quantiles_h30: "horizon 30 + quantiles, one window, unloaded" (local/bench/quantiles.ts): the
 *   LINEAR horizon-30 fixture in one process, `/predict` with `"quantiles": true` at concurrency 1,
 *   p50/p99 latency; quantiles_h30_ensemble: the same with the ENSEMBLE horizon-30 fixture (a LINEAR and a
 *   GBDT member in one graph). `--quantiles-only` runs just these two.
 * After 2 s of warm-up each, the sides alternate in 5 rounds (BENCH_SECONDS per side in
 * all, default 10) so load from other processes falls on all alike; then batch runs BENCH_SECONDS.
 * Inference logs are on, as in production; afterwards the bench deletes them (about half a GB a run)
 * with its model and pointer, unless BENCH_KEEP=1. Everything listens on 127.0.0.1 only.
 */
import cluster from "node:cluster";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { loadCommonConfig } from "../functions/common/config.ts";
import { identifierPrefix, runKeys } from "../functions/common/keys.ts";
import { createS3Client, deletePrefix } from "../functions/common/s3.ts";
import { loadInferenceConfig } from "../functions/inference/config.ts";
import { startChild, stopChild, waitReady } from "./bench/children.ts";
import { type Load, load, percentile, round } from "./bench/load.ts";
import { benchQuantiles, ENSEMBLE_FIXTURE } from "./bench/quantiles.ts";

const ENSEMBLE_VARIANT = { fixture: ENSEMBLE_FIXTURE, quantiles: true };

import { batchBodies, csvWindows } from "./bench/windows.ts";
import { repoRoot } from "./paths.ts";
import { readModelDir, uploadModel, writePointer } from "./seed-model.ts";
import { ensureLocalServices } from "./services/index.ts";

const CONCURRENCY = 64;
const BATCH_CONCURRENCY = 8;
const WINDOWS_PER_REQUEST = 64;
const DISTINCT_WINDOWS = 512;
const WARMUP_SECONDS = 2;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
if (!(SECONDS >= 1 && SECONDS <= 60)) throw new Error("BENCH_SECONDS must be a number from 1 to 60");
const ROUNDS = 5;
const SEGMENT_SECONDS = SECONDS / ROUNDS;
const FIXTURE = join(repoRoot, "test", "fixtures", "models", "gru");
const SERVICE_ENTRY = join(repoRoot, "functions", "inference", "main.ts");
const DATA = join(repoRoot, "test", "fixtures", "data", "PobleSecSlice.csv");

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/**
 * Ceiling child: the bare Hono route on an ephemeral loopback port, in `WORKERS` processes sharing
 * it (as the service's do); prints `{"port": n}` once listening.
 */
function runCeiling(): void {
  const workers = Number(process.env.WORKERS ?? 1);
  if (workers > 1 && cluster.isPrimary) {
    let printed = false;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on("message", (message: { port: number }) => {
        if (!printed) process.stdout.write(`${JSON.stringify({ port: message.port })}\n`);
        printed = true;
      });
    }
    process.once("SIGTERM", () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
      cluster.on("exit", () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    });
    return;
  }
  const app = new Hono();
  app.post("/predict", (c) => c.json({ status: "SUCCESS" }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
    if (cluster.isWorker) process.send?.({ port: info.port });
    else process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

/**
 * The sides (ceilings and predict) alternate in ROUNDS short segments (after one warm-up each), so
 * load from anything else on the machine falls on all alike; each side's segments are pooled.
 */
async function alternate(
  sides: { name: string; url: string }[],
  bodies: string[],
): Promise<Map<string, Load>> {
  const results = new Map<string, Load>();
  for (const side of sides) results.set(side.name, { rps: 0, latencies: [], errors: 0, non2xx: 0 });
  log(
    `warm-up ${WARMUP_SECONDS} s each, then ${ROUNDS} x ${SEGMENT_SECONDS} s per side at concurrency ${CONCURRENCY}`,
  );
  for (const side of sides) await load(side.url, "/predict", bodies, CONCURRENCY, WARMUP_SECONDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of sides) {
      const into = results.get(side.name) as Load;
      const result = await load(side.url, "/predict", bodies, CONCURRENCY, SEGMENT_SECONDS);
      into.rps += result.rps / ROUNDS;
      for (const latency of result.latencies) into.latencies.push(latency);
      into.errors += result.errors;
      into.non2xx += result.non2xx;
    }
    const sofar = sides.map(
      (side) => `${side.name} ${round((results.get(side.name) as Load).rps * (ROUNDS / (r + 1)))}`,
    );
    log(`round ${r + 1}: ${sofar.join(", ")} req/s`);
  }
  return results;
}

/** Mean windows per ONNX run, from the service's own histogram. */
async function meanBatch(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return round(value("inference_batch_size_sum") / value("inference_batch_size_count"));
}

async function main(): Promise<void> {
  await ensureLocalServices(log);
  const { storage } = loadCommonConfig();
  const s3 = createS3Client(storage);
  const stamp = `${Date.now()}-${process.pid}`;
  const keep = process.env.BENCH_KEEP === "1";
  if (process.argv.includes("--quantiles-only")) {
    const quantiles = await benchQuantiles(s3, storage, stamp, SECONDS, keep, log);
    const ensemble = await benchQuantiles(s3, storage, stamp, SECONDS, keep, log, ENSEMBLE_VARIANT);
    process.stdout.write(
      `${JSON.stringify({ quantiles_h30: quantiles, quantiles_h30_ensemble: ensemble })}\n`,
    );
    return;
  }
  const files = readModelDir(FIXTURE);
  const identifier = `bench-${stamp}`;
  const pointer = await uploadModel(s3, storage.buckets, files, `bench-gru-${stamp}`, identifier);
  await writePointer(s3, storage.buckets.promotion, pointer);
  const { features, window } = files.card;
  const windows = csvWindows(DATA, features, window, DISTINCT_WINDOWS);
  const single = windows.map((data) => JSON.stringify({ data }));
  const batches = batchBodies(windows, WINDOWS_PER_REQUEST);

  const serviceEnv = {
    MODEL_IDENTIFIER: identifier,
    GLOBAL_FALLBACK: "0",
    CACHE_SIZE: "0",
    PORT: "0",
    HOST: "127.0.0.1",
  };
  const processes = loadInferenceConfig({ ...process.env, ...serviceEnv }).workers;
  log(`ceiling and service in ${processes} process(es) each (WORKERS)`);
  const ceilingServer = await startChild([import.meta.filename, "--ceiling"], { WORKERS: String(processes) });
  // For reference: the same route in one process (the stricter ceiling when the service has several).
  const oneProcessCeiling =
    processes > 1 ? await startChild([import.meta.filename, "--ceiling"], { WORKERS: "1" }) : null;
  const service = await startChild([SERVICE_ENTRY], { ...serviceEnv, WORKERS: String(processes) });
  const ceilings = [ceilingServer, ...(oneProcessCeiling ? [oneProcessCeiling] : [])];
  let loads: Map<string, Load>;
  let batch: Load;
  let predictMeanBatch: number;
  try {
    await waitReady(service.url, 60_000);
    loads = await alternate(
      [
        { name: "ceiling", url: ceilingServer.url },
        ...(oneProcessCeiling ? [{ name: "ceiling_one_process", url: oneProcessCeiling.url }] : []),
        { name: "predict", url: service.url },
      ],
      single,
    );
    predictMeanBatch = await meanBatch(service.url);
    await Promise.all(ceilings.map((c) => stopChild(c.child)));
    log(`batch: warm-up ${WARMUP_SECONDS} s, then ${SECONDS} s at concurrency ${BATCH_CONCURRENCY}`);
    await load(service.url, "/predict/batch", batches, BATCH_CONCURRENCY, WARMUP_SECONDS);
    batch = await load(service.url, "/predict/batch", batches, BATCH_CONCURRENCY, SECONDS);
  } finally {
    await Promise.all([...ceilings, service].map((c) => stopChild(c.child)));
    if (!keep) {
      const removed = await Promise.all([
        deletePrefix(s3, storage.buckets.inferenceLogs, identifierPrefix(identifier)),
        deletePrefix(s3, storage.buckets.artifacts, runKeys.prefix(pointer.run_id)),
        deletePrefix(s3, storage.buckets.promotion, identifierPrefix(identifier)),
      ]);
      log(
        `removed the run's ${removed[0]} inference-log objects, its model and pointer (BENCH_KEEP=1 keeps them)`,
      );
    }
  }
  const quantiles = await benchQuantiles(s3, storage, stamp, SECONDS, keep, log);
  const ensemble = await benchQuantiles(s3, storage, stamp, SECONDS, keep, log, ENSEMBLE_VARIANT);
  const ceiling = loads.get("ceiling") as Load;
  const predict = loads.get("predict") as Load;
  const oneProcess = loads.get("ceiling_one_process");

  const ceilingSorted = ceiling.latencies.sort((a, b) => a - b);
  const predictSorted = predict.latencies.sort((a, b) => a - b);
  const summary = {
    ceiling: {
      rps: round(ceiling.rps),
      p50_ms: percentile(ceilingSorted, 50),
      p99_ms: percentile(ceilingSorted, 99),
    },
    predict: {
      concurrency: CONCURRENCY,
      rps: round(predict.rps),
      p50_ms: percentile(predictSorted, 50),
      p95_ms: percentile(predictSorted, 95),
      p99_ms: percentile(predictSorted, 99),
      errors: predict.errors + predict.non2xx,
      mean_windows_per_run: predictMeanBatch,
    },
    batch: {
      windows_per_request: WINDOWS_PER_REQUEST,
      concurrency: BATCH_CONCURRENCY,
      rps: round(batch.rps),
      forecasts_per_s: round(batch.rps * WINDOWS_PER_REQUEST),
      errors: batch.errors + batch.non2xx,
    },
    model: {
      run_id: pointer.run_id,
      model_type: pointer.model_type,
      cache: "off",
      distinct_windows: DISTINCT_WINDOWS,
    },
    quantiles_h30: quantiles,
    quantiles_h30_ensemble: ensemble,
    processes,
    predict_over_ceiling: round(predict.rps / ceiling.rps, 3),
    ...(oneProcess
      ? {
          ceiling_one_process: {
            rps: round(oneProcess.rps),
            predict_over_it: round(predict.rps / oneProcess.rps, 3),
          },
        }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv.includes("--ceiling")) runCeiling();
else await main();
