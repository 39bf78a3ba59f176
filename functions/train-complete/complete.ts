/**
 * train-complete: `runs/<run_id>/_SUCCESS` or `_FAILED` → `model-training` SUCCESS (after checking that
 * model.onnx, model.json and metrics.json exist and agree with the run) or FAILED with the reason.
 */
import { z } from "zod";
import type { StageContext } from "../common/context.ts";
import {
  describeIssues,
  type ErrorMetrics,
  ModelCard,
  type ModelTrainingMessage,
  ModelTrainingMessage as ModelTrainingSchema,
  PermanentError,
  type PerTargetMetrics,
  RunIdField,
  RunRecord,
  TOPICS,
  TrainerJobSpec,
  TrainerMetrics,
} from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { parseMarkerKey as markerOfKey, RUN_FILES, runKeys } from "../common/keys.ts";
import { exists, getBytes, getJsonIfExists, s3Uri } from "../common/s3.ts";
import type { ObjectRef } from "../common/s3-event.ts";

export function parseMarkerKey(key: string): { runId: string; marker: "_SUCCESS" | "_FAILED" } {
  const marker = markerOfKey(key);
  if (!marker || !RunIdField.safeParse(marker.runId).success) {
    throw new PermanentError(
      `object key '${key}' is not 'runs/<run_id>/_SUCCESS' or 'runs/<run_id>/_FAILED'`,
    );
  }
  return marker;
}

/** Mean of MAE, RMSE and MSE over targets (the `metrics` of a `model-training` message). */
export function meanMetrics(perTarget: PerTargetMetrics): ErrorMetrics {
  const values = Object.values(perTarget);
  if (values.length === 0) throw new Error("no per-target metrics");
  const mean = (k: keyof ErrorMetrics) => values.reduce((s, m) => s + m[k], 0) / values.length;
  return { mae: mean("mae"), rmse: mean("rmse"), mse: mean("mse") };
}

const SuccessMarker = z.looseObject({ run_id: z.string(), finished_at: z.string().optional() });
const FailedMarker = z.looseObject({
  run_id: z.string().optional(),
  model_type: z.string().optional(),
  error: z.unknown(),
});

async function readJsonText(ctx: StageContext, bucket: string, key: string): Promise<unknown> {
  const text = Buffer.from(await getBytes(ctx.s3, bucket, key)).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

type RunIdentity = Pick<RunRecord, "run_id" | "model_type" | "identifier" | "config_hash">;

/** The run as dispatched: run.json, else the job spec. */
async function runIdentity(ctx: StageContext, bucket: string, runId: string): Promise<RunIdentity> {
  const record = await getJsonIfExists(ctx.s3, bucket, runKeys.record(runId), RunRecord);
  if (record) return record;
  const job = await getJsonIfExists(ctx.s3, bucket, runKeys.job(runId), TrainerJobSpec);
  if (job) return job;
  throw new PermanentError(`run ${runId} has neither run.json nor job.json: it was not dispatched by FLTS`);
}

/** Checks a finished run's artifacts; returns the per-target test metrics or the list of problems. */
export async function checkArtifacts(
  ctx: StageContext,
  bucket: string,
  run: RunIdentity,
): Promise<{ ok: true; perTarget: PerTargetMetrics } | { ok: false; problems: string[] }> {
  const problems: string[] = [];
  if (!(await exists(ctx.s3, bucket, runKeys.onnx(run.run_id))))
    problems.push(`${RUN_FILES.onnx} is missing`);
  const docs: { card?: ModelCard; metrics?: TrainerMetrics } = {};
  for (const [name, key, schema, slot] of [
    [RUN_FILES.card, runKeys.card(run.run_id), ModelCard, "card"],
    [RUN_FILES.metrics, runKeys.metrics(run.run_id), TrainerMetrics, "metrics"],
  ] as const) {
    if (!(await exists(ctx.s3, bucket, key))) {
      problems.push(`${name} is missing`);
      continue;
    }
    const parsed = schema.safeParse(await readJsonText(ctx, bucket, key));
    if (!parsed.success) problems.push(`${name} is invalid: ${describeIssues(parsed.error)}`);
    else (docs as Record<string, unknown>)[slot] = parsed.data;
  }
  const { card, metrics } = docs;
  if (card) {
    for (const field of ["run_id", "model_type", "config_hash", "identifier"] as const) {
      if (card[field] !== run[field])
        problems.push(`model.json ${field} '${card[field]}' does not match the run's '${run[field]}'`);
    }
  }
  if (metrics) {
    if (Object.keys(metrics.test).length === 0) problems.push("metrics.json has no test metrics");
    if (card) {
      const missing = card.targets.filter((t) => !(t in metrics.test));
      if (missing.length)
        problems.push(`metrics.json has no test metrics for target(s) ${missing.join(", ")}`);
    }
  }
  if (problems.length || !metrics) return { ok: false, problems };
  return { ok: true, perTarget: metrics.test };
}

export async function completeRun(ref: ObjectRef, ctx: StageContext): Promise<ModelTrainingMessage> {
  const { runId, marker } = parseMarkerKey(ref.key);
  const bucket = ref.bucket;
  const run = await runIdentity(ctx, bucket, runId);
  const base = {
    operation: `Trained: ${run.model_type}`,
    run_id: runId,
    model_type: run.model_type,
    config_hash: run.config_hash,
    identifier: run.identifier,
    artifact_uri: s3Uri(bucket, runKeys.prefix(runId)),
  };
  let message: ModelTrainingMessage;
  if (marker === "_FAILED") {
    const body = FailedMarker.safeParse(await readJsonText(ctx, bucket, ref.key));
    const error =
      body.success && body.data.error ? String(body.data.error) : "trainer reported failure without a reason";
    message = { ...base, status: "FAILED", metrics: null, error };
  } else {
    const body = SuccessMarker.safeParse(await readJsonText(ctx, bucket, ref.key));
    const checked = await checkArtifacts(ctx, bucket, run);
    const problems = checked.ok ? [] : [...checked.problems];
    if (!body.success) problems.unshift(`_SUCCESS is invalid: ${describeIssues(body.error)}`);
    else if (body.data.run_id !== runId)
      problems.unshift(`_SUCCESS names run '${body.data.run_id}', not '${runId}'`);
    if (!checked.ok || problems.length) {
      message = {
        ...base,
        status: "FAILED",
        metrics: null,
        error: `artifacts check failed: ${problems.join("; ")}`,
      };
    } else {
      message = {
        ...base,
        status: "SUCCESS",
        metrics: meanMetrics(checked.perTarget),
        per_target: checked.perTarget,
        error: null,
      };
    }
  }
  const published = await publish(
    ctx.producer,
    TOPICS.modelTraining,
    ModelTrainingSchema,
    message,
    run.identifier,
  );
  if (published.status === "SUCCESS") {
    ctx.logger.info("train_success_publish", {
      run_id: runId,
      model_type: run.model_type,
      config_hash: run.config_hash,
      metrics: published.metrics,
    });
  } else {
    ctx.logger.warn("train_failed_publish", {
      run_id: runId,
      model_type: run.model_type,
      error: published.error,
    });
  }
  return published;
}
