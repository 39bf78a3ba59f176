/**
 * train-dispatch: one run per expected model type for a `training-data` claim check; for a claim check
 * with `ensemble` (evaluate's ask) only that generation's ENSEMBLE, under `guards/<config_hash>/
 * ENSEMBLE-<generation>.json` whatever SKIP_DUPLICATE_CONFIGS says (its run id is the generation's). A conditional
 * write of `guards/<config_hash>/<model_type>.json` makes the duplicate guard durable; then the job
 * spec and run record, `model-training` RUNNING, and the launch. A launch that fails writes `_FAILED`,
 * so train-complete reports it and evaluation is never left waiting. A claim check whose objects do
 * not exist is a permanent error (nothing launched, no guard taken); a guard held by a run whose
 * lease expired (sweeper/lease.ts) gets that run `_FAILED` and the next attempt slot.
 */
import { randomBytes } from "node:crypto";
import type { StageContext } from "../common/context.ts";
import {
  DispatchGuard,
  type EnsembleRequest,
  type ModelTrainingMessage,
  ModelTrainingMessage as ModelTrainingSchema,
  type ModelType,
  PermanentError,
  ProcessedMeta,
  RunRecord,
  TOPICS,
  TrainerJobSpec,
  type TrainingDataMessage,
  type TrainParams,
} from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { guardKeys, runKeys, sidecarKey } from "../common/keys.ts";
import { exists, getJson, getJsonIfExists, putIfAbsent, putJson, s3Uri } from "../common/s3.ts";
import { ENSEMBLE, ensembleRunId } from "../evaluate/ensemble-request.ts";
import { failRun, inspectRun } from "../sweeper/lease.ts";
import { launcherFor } from "./backends.ts";
import { type Backend, type DispatchSettings, loadDispatchSettings } from "./settings.ts";

/** `<identifier>-<type>-<hash8>-<time36><rand>`: unique, sortable per type, and names its data set. */
export function newRunId(identifier: string, type: ModelType, configHash: string, now = Date.now()): string {
  return `${identifier.slice(0, 60)}-${type.toLowerCase()}-${configHash.slice(0, 8)}-${now.toString(36)}${randomBytes(3).toString("hex")}`;
}

export interface DispatchedRun {
  model_type: ModelType;
  run_id: string;
  backend: Backend;
  launched: boolean;
  error: string | null;
}

export interface DispatchResult {
  identifier: string;
  config_hash: string;
  dispatched: DispatchedRun[];
  /** Types whose (model_type, config_hash) guard already existed, with the run that holds it. */
  skipped: { model_type: ModelType; run_id: string }[];
}

/** Trainer parameters: the data's own window, horizon and columns, plus TRAIN_PARAMS. */
export function trainParams(meta: ProcessedMeta | null, extra: Partial<TrainParams>): Partial<TrainParams> {
  if (!meta) return { ...extra };
  return {
    ...extra,
    window: meta.config.window,
    horizon: meta.config.horizon,
    targets: meta.targets,
    features: meta.features,
    step_seconds: meta.config.step_seconds,
    gap_tolerance_seconds: meta.config.gap_tolerance_seconds,
  };
}

/** Both objects of the claim check exist, or the message is dead (it goes to the DLQ with the reason). */
async function checkClaimObjects(ctx: StageContext, claim: TrainingDataMessage): Promise<void> {
  const missing: string[] = [];
  for (const key of [claim.object_key, claim.test_object_key])
    if (!(await exists(ctx.s3, claim.bucket, key))) missing.push(s3Uri(claim.bucket, key));
  if (missing.length > 0)
    throw new PermanentError(
      `training-data claim check names objects that do not exist: ${missing.join(", ")}; no trainer launched`,
    );
}

interface RunToLaunch {
  claim: TrainingDataMessage;
  type: ModelType;
  runId: string;
  createdAt: string;
  params: Partial<TrainParams>;
}

/** Job spec, run record, `model-training` RUNNING, then the launch (a failed one writes `_FAILED`). */
async function launchRun(
  ctx: StageContext,
  settings: DispatchSettings,
  run: RunToLaunch,
): Promise<DispatchedRun> {
  const { s3, logger } = ctx;
  const artifacts = ctx.config.storage.buckets.artifacts;
  const { type, runId, createdAt, params } = run;
  // The job's training_data is the data set's claim check; an ENSEMBLE's members go in `ensemble`.
  const { ensemble, ...claim } = run.claim;
  const backend = settings.backends[type];
  const artifactUri = s3Uri(artifacts, runKeys.prefix(runId));
  const spec = TrainerJobSpec.parse({
    v: 1,
    run_id: runId,
    model_type: type,
    identifier: claim.identifier,
    config_hash: claim.config_hash,
    training_data: claim,
    artifacts: { bucket: artifacts, prefix: runKeys.prefix(runId) },
    params,
    ...(ensemble ? { ensemble } : {}),
  });
  const record: RunRecord = RunRecord.parse({
    run_id: runId,
    model_type: type,
    identifier: claim.identifier,
    config_hash: claim.config_hash,
    backend,
    status: "RUNNING",
    artifact_uri: artifactUri,
    training_data: claim,
    created_at: createdAt,
  });
  await putJson(s3, artifacts, runKeys.job(runId), spec);
  await putJson(s3, artifacts, runKeys.record(runId), record);
  const running: ModelTrainingMessage = {
    operation: `Trained: ${type}`,
    status: "RUNNING",
    run_id: runId,
    model_type: type,
    config_hash: claim.config_hash,
    identifier: claim.identifier,
    artifact_uri: artifactUri,
    metrics: null,
    error: null,
  };
  await publish(ctx.producer, TOPICS.modelTraining, ModelTrainingSchema, running, claim.identifier);
  try {
    const info = await launcherFor(backend, ctx.env).launch(spec);
    logger.info("trainer_launched", { run_id: runId, model_type: type, backend, handle: info.handle });
    return { model_type: type, run_id: runId, backend, launched: true, error: null };
  } catch (error) {
    const message = `launch on backend '${backend}' failed: ${(error as Error).message}`;
    logger.error("trainer_launch_failed", { run_id: runId, model_type: type, backend, error: message });
    await putJson(s3, artifacts, runKeys.failed(runId), { run_id: runId, model_type: type, error: message });
    return { model_type: type, run_id: runId, backend, launched: false, error: message };
  }
}

/** Evaluate's ask: the generation's one ENSEMBLE, guarded once (a redelivered ask is skipped). */
async function dispatchEnsemble(
  ctx: StageContext,
  settings: DispatchSettings,
  claim: TrainingDataMessage & { ensemble: EnsembleRequest },
  params: Partial<TrainParams>,
  result: DispatchResult,
): Promise<void> {
  const artifacts = ctx.config.storage.buckets.artifacts;
  const { generation } = claim.ensemble;
  const runId = ensembleRunId(claim.identifier, claim.config_hash, generation);
  const createdAt = new Date().toISOString();
  const guard: DispatchGuard = {
    run_id: runId,
    model_type: ENSEMBLE,
    identifier: claim.identifier,
    config_hash: claim.config_hash,
    created_at: createdAt,
  };
  if (
    !(await putIfAbsent(
      ctx.s3,
      artifacts,
      guardKeys.ensemble(claim.config_hash, generation),
      JSON.stringify(guard),
    ))
  ) {
    ctx.logger.info("dispatch_skip_duplicate", {
      model_type: ENSEMBLE,
      config_hash: claim.config_hash,
      run_id: runId,
    });
    result.skipped.push({ model_type: ENSEMBLE, run_id: runId });
    return;
  }
  result.dispatched.push(await launchRun(ctx, settings, { claim, type: ENSEMBLE, runId, createdAt, params }));
}

export async function dispatchTraining(
  claim: TrainingDataMessage,
  ctx: StageContext,
  settings: DispatchSettings = loadDispatchSettings(ctx.env),
): Promise<DispatchResult> {
  const { s3, logger, config } = ctx;
  const artifacts = config.storage.buckets.artifacts;
  await checkClaimObjects(ctx, claim);
  const metaKey = sidecarKey(claim.object_key);
  const meta = await getJsonIfExists(s3, claim.bucket, metaKey, ProcessedMeta);
  const params = trainParams(meta, settings.params);
  const result: DispatchResult = {
    identifier: claim.identifier,
    config_hash: claim.config_hash,
    dispatched: [],
    skipped: [],
  };

  if (claim.ensemble) {
    await dispatchEnsemble(ctx, settings, { ...claim, ensemble: claim.ensemble }, params, result);
    return result;
  }
  // ENSEMBLE only ever runs on evaluate's ask, even where EXPECTED_MODEL_TYPES names it.
  for (const type of settings.expected.filter((t) => t !== ENSEMBLE)) {
    const runId = newRunId(claim.identifier, type, claim.config_hash);
    const createdAt = new Date().toISOString();
    if (settings.skipDuplicates) {
      const guard: DispatchGuard = {
        run_id: runId,
        model_type: type,
        identifier: claim.identifier,
        config_hash: claim.config_hash,
        created_at: createdAt,
      };
      // The first free attempt slot wins; a slot whose run FAILED may be retried in the next slot.
      let held: DispatchGuard | null = null;
      let claimed = false;
      for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
        const key = guardKeys.attempt(claim.config_hash, type, attempt);
        if (await putIfAbsent(s3, artifacts, key, JSON.stringify(guard))) {
          claimed = true;
          if (attempt > 1)
            logger.info("dispatch_retry_failed_run", { model_type: type, attempt, previous: held?.run_id });
          break;
        }
        held = await getJson(s3, artifacts, key, DispatchGuard);
        const lease = await inspectRun(s3, artifacts, held.run_id, settings.lease, new Date(), held);
        if (lease.state === "expired") {
          const failed = await failRun(s3, artifacts, held.run_id, held.model_type, lease.reason);
          if (!failed && (await exists(s3, artifacts, runKeys.success(held.run_id)))) break;
          logger.warn("dispatch_expired_run", {
            model_type: type,
            run_id: held.run_id,
            reason: lease.reason,
          });
        } else if (!(lease.state === "finished" && lease.marker === "_FAILED")) break;
      }
      if (!claimed && held) {
        logger.info("dispatch_skip_duplicate", {
          model_type: type,
          config_hash: claim.config_hash,
          run_id: held.run_id,
        });
        result.skipped.push({ model_type: type, run_id: held.run_id });
        continue;
      }
    }
    result.dispatched.push(await launchRun(ctx, settings, { claim, type, runId, createdAt, params }));
  }
  return result;
}
