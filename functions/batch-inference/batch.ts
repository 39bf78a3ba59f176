/**
 * batch-inference: one `inference-data` claim check → the identifier's champion scores every window
 * of the object (score.ts), the results go to `inference-logs/<identifier>/<YYYYMMDD>/batch-<run_id>-<id>.parquet`
 * and what was measured to `performance-eval`.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StageContext } from "../common/context.ts";
import {
  type InferenceDataMessage,
  type ModelCard,
  PerformanceEvalMessage,
  type PerTargetMetrics,
  parseContract,
  TOPICS,
} from "../common/contracts.ts";
import { inferenceLogKeys } from "../common/keys.ts";
import { s3Uri } from "../common/s3.ts";
import { LoadedModel } from "../inference/model.ts";
import { loadChampion } from "./champion.ts";
import { download, upload } from "./objects.ts";
import { scoreParquet } from "./score.ts";
import { loadBatchSettings } from "./settings.ts";

/** The result key: the same claim check scored by the same model lands on the same key (retries overwrite). */
export function resultKey(message: InferenceDataMessage, runId: string, now: Date): string {
  const id = createHash("sha256")
    .update(`${message.bucket}/${message.object_key}/${message.config_hash}`)
    .digest("hex")
    .slice(0, 16);
  return inferenceLogKeys.batch(message.identifier, now, runId, id);
}

/** Per target: the live MAE ratio, the ratio on the model's own test split (its card) and their quotient. */
export function driftOf(
  ratio: Record<string, number | null>,
  card: ModelCard,
): PerformanceEvalMessage["drift"] {
  const reference = (t: string) => ratioOf(card.metrics.test, card.metrics.persistence, t);
  const out: PerformanceEvalMessage["drift"] = {};
  for (const [target, live] of Object.entries(ratio)) {
    const ref = reference(target);
    out[target] = {
      live_ratio: live,
      reference_ratio: ref,
      change: live !== null && ref ? live / ref : null,
    };
  }
  return out;
}

function ratioOf(model: PerTargetMetrics, persistence: PerTargetMetrics, target: string): number | null {
  const m = model[target];
  const p = persistence[target];
  return m && p && p.mae > 0 ? m.mae / p.mae : null;
}

export async function scoreClaimCheck(
  message: InferenceDataMessage,
  ctx: StageContext,
): Promise<PerformanceEvalMessage> {
  const started = performance.now();
  const settings = loadBatchSettings(ctx.env);
  const { buckets } = ctx.config.storage;
  const champion = await loadChampion(ctx.s3, buckets, message.identifier);
  const { pointer, card } = champion;
  const dir = await mkdtemp(join(tmpdir(), "flts-batch-"));
  try {
    const input = join(dir, "input.parquet");
    const output = join(dir, "result.parquet");
    await download(ctx.s3, message.bucket, message.object_key, input);
    const model = await LoadedModel.create(
      {
        scope: message.identifier,
        run_id: pointer.run_id,
        model_type: pointer.model_type,
        model_uri: pointer.model_uri,
      },
      card,
      champion.onnx,
      { intraOpThreads: settings.threads, worker: settings.worker },
    );
    const result = await scoreParquet(input, output, card, model.forecast, {
      batchSize: settings.batchWindows,
      blockRows: settings.blockRows,
      gapToleranceSeconds: champion.gapToleranceSeconds,
      workDir: dir,
    }).finally(() => model.retire());
    const key = resultKey(message, pointer.run_id, new Date());
    await upload(ctx.s3, buckets.inferenceLogs, key, output);
    const evaluation = parseContract(PerformanceEvalMessage, `${TOPICS.performanceEval} message`, {
      identifier: message.identifier,
      run_id: pointer.run_id,
      model_type: pointer.model_type,
      config_hash: pointer.config_hash,
      n_windows: result.n_windows,
      metrics: result.metrics,
      persistence: result.persistence,
      ratio: result.ratio,
      drift: driftOf(result.ratio, card),
      output_uri: s3Uri(buckets.inferenceLogs, key),
      seconds: (performance.now() - started) / 1000,
      source: { bucket: message.bucket, object_key: message.object_key, config_hash: message.config_hash },
      windows_skipped: result.windows_skipped,
    });
    await ctx.producer.send({
      topic: TOPICS.performanceEval,
      messages: [{ key: message.identifier, value: JSON.stringify(evaluation) }],
    });
    ctx.logger.info("batch_scoring_done", {
      identifier: message.identifier,
      run_id: pointer.run_id,
      n_windows: result.n_windows,
      output_uri: evaluation.output_uri,
      timings: result.timings,
    });
    return evaluation;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
