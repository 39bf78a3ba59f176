/**
 * The bench's "horizon 30 + quantiles, one window, unloaded" scenario: a horizon-30 fixture with outputs y
 * and q (the LINEAR one, and the ENSEMBLE of a LINEAR and a GBDT member, the kind the pipeline promotes) served by the container's entry point in one process, cache off, logs on;
 * `POST /predict` with `"quantiles": true` at concurrency 1 (each request waits for the previous
 * answer), cycling through distinct windows of the reference data.
 */
import { basename, join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { StorageConfig } from "../../functions/common/config.ts";
import { identifierPrefix, runKeys } from "../../functions/common/keys.ts";
import { deletePrefix } from "../../functions/common/s3.ts";
import { repoRoot } from "../paths.ts";
import { readModelDir, uploadModel, writePointer } from "../seed-model.ts";
import { startChild, stopChild, waitReady } from "./children.ts";
import { load, percentile, round } from "./load.ts";
import { csvWindows } from "./windows.ts";

const QUANTILE_FIXTURE = join(repoRoot, "test", "fixtures", "models", "linear30");
export const ENSEMBLE_FIXTURE = join(repoRoot, "test", "fixtures", "models", "ensemble30");
const SERVICE_ENTRY = join(repoRoot, "functions", "inference", "main.ts");
const DATA = join(repoRoot, "test", "fixtures", "data", "PobleSecSlice.csv");
const DISTINCT_WINDOWS = 512;
const WARMUP_SECONDS = 2;

export interface QuantileBench {
  horizon: number;
  quantiles: number[];
  concurrency: 1;
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  /** Share of the measured requests the service itself answered within 1, 2.5 and 10 ms (its histogram). */
  service_within_ms: Record<"1" | "2.5" | "10", number>;
  response_bytes: number;
  run_id: string;
  model_type: string;
}

/** Runs the scenario for `seconds` (after a warm-up) and removes its model, pointer and logs unless `keep`. */
export async function benchQuantiles(
  s3: S3Client,
  storage: StorageConfig,
  stamp: string,
  seconds: number,
  keep: boolean,
  log: (line: string) => void,
  /** For comparisons: another model folder, or requests without quantiles. */
  variant: { fixture: string; quantiles: boolean } = { fixture: QUANTILE_FIXTURE, quantiles: true },
): Promise<QuantileBench> {
  const files = readModelDir(variant.fixture);
  const identifier = `bench-q-${basename(variant.fixture)}-${stamp}`;
  const pointer = await uploadModel(
    s3,
    storage.buckets,
    files,
    `bench-${basename(variant.fixture)}-${stamp}`,
    identifier,
  );
  await writePointer(s3, storage.buckets.promotion, pointer);
  const { features, window, horizon } = files.card;
  const quantiles = (files.card as { quantiles?: number[] }).quantiles ?? [];
  const bodies = csvWindows(DATA, features, window, DISTINCT_WINDOWS).map((data) =>
    JSON.stringify({ data, quantiles: variant.quantiles }),
  );
  const service = await startChild([SERVICE_ENTRY], {
    MODEL_IDENTIFIER: identifier,
    GLOBAL_FALLBACK: "0",
    CACHE_SIZE: "0",
    PORT: "0",
    HOST: "127.0.0.1",
    WORKERS: "1",
  });
  try {
    await waitReady(service.url, 60_000);
    const sample = await fetch(`${service.url}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bodies[0],
    });
    const text = await sample.text();
    const steps = (JSON.parse(text) as { predictions?: { quantiles?: unknown }[] }).predictions;
    const answered = steps?.[horizon - 1]?.quantiles !== undefined;
    if (sample.status !== 200 || steps?.length !== horizon || answered !== variant.quantiles) {
      throw new Error(`the quantile model answered ${sample.status}: ${text.slice(0, 200)}`);
    }
    log(
      `quantiles: horizon ${horizon}, levels ${quantiles.join("/")}, warm-up ${WARMUP_SECONDS} s, then ${seconds} s at concurrency 1`,
    );
    await load(service.url, "/predict", bodies, 1, WARMUP_SECONDS);
    const before = await serviceBuckets(service.url);
    const result = await load(service.url, "/predict", bodies, 1, seconds);
    const after = await serviceBuckets(service.url);
    const count = (le: string) => (after[le] as number) - (before[le] as number);
    const share = (le: string) => round(count(le) / count("+Inf"), 4);
    const sorted = result.latencies.sort((a, b) => a - b);
    return {
      horizon,
      quantiles,
      concurrency: 1,
      requests: sorted.length,
      rps: round(result.rps),
      p50_ms: percentile(sorted, 50),
      p90_ms: percentile(sorted, 90),
      p99_ms: percentile(sorted, 99),
      max_ms: percentile(sorted, 100),
      errors: result.errors + result.non2xx,
      service_within_ms: { "1": share("0.001"), "2.5": share("0.0025"), "10": share("0.01") },
      response_bytes: Buffer.byteLength(text),
      run_id: pointer.run_id,
      model_type: pointer.model_type,
    };
  } finally {
    await stopChild(service.child);
    if (!keep) {
      await Promise.all([
        deletePrefix(s3, storage.buckets.inferenceLogs, identifierPrefix(identifier)),
        deletePrefix(s3, storage.buckets.artifacts, runKeys.prefix(pointer.run_id)),
        deletePrefix(s3, storage.buckets.promotion, identifierPrefix(identifier)),
      ]);
    }
  }
}

/** The service's cumulative `/predict` latency buckets (`le` in seconds, as /metrics writes it). */
async function serviceBuckets(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets: Record<string, number> = {};
  const line = /^inference_latency_seconds_bucket\{([^}]*)\} (\S+)$/gm;
  for (const [, labels, value] of text.matchAll(line)) {
    if (!labels?.includes('route="/predict"')) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1];
    if (le) buckets[le] = Number(value);
  }
  for (const le of ["0.001", "0.0025", "0.01", "+Inf"]) {
    if (!(le in buckets)) throw new Error(`/metrics has no /predict latency bucket le=${le}`);
  }
  return buckets;
}
