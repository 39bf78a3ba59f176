/**
 * evaluate: on every `model-training` message, record the run's status; once every expected type for
 * (identifier, config_hash) is terminal (or EVAL_DEADLINE_SECONDS passed) score every successful
 * candidate, the persistence baseline and the current champion on the same test windows, and decide.
 * Before deciding it may ask for an ENSEMBLE of the generation and wait for it (ensemble-request.ts).
 * The decision is written once (conditional put), so a redelivered event never promotes twice.
 * Reading and scoring: gather.ts; the scoreboard, the policy and the record are pure (scoreboard.ts,
 * policy.ts, record.ts).
 */
import type { StageContext } from "../common/context.ts";
import { EvaluationDecision, type ModelTrainingMessage } from "../common/contracts.ts";
import { evaluationKeys } from "../common/keys.ts";
import { exists, getJson, getJsonIfExists, putIfAbsent } from "../common/s3.ts";
import { ENSEMBLE, ensembleStep } from "./ensemble-request.ts";
import { gatherEvidence } from "./gather.ts";
import { applyPolicy, chooseCandidate } from "./policy.ts";
import { finalizeDecision } from "./promote.ts";
import { buildDecisionRecord } from "./record.ts";
import { buildScoreboard } from "./scoreboard.ts";
import { buildSeries, writeSeries } from "./series.ts";
import { type EvaluateSettings, loadEvaluateSettings } from "./settings.ts";
import { currentGeneration, loadRunStates, type RunState, readiness, recordStatus } from "./state.ts";
import { trackDecision } from "./tracking.ts";

export type EvaluateResult =
  | { status: "waiting"; identifier: string; config_hash: string; pending: string[] }
  | { status: "duplicate"; identifier: string; config_hash: string }
  | { status: "decided"; identifier: string; config_hash: string; decision: EvaluationDecision };

function logScoreboard(ctx: StageContext, decision: EvaluationDecision): void {
  ctx.logger.info("promotion_scoreboard", {
    identifier: decision.identifier,
    config_hash: decision.config_hash,
    n_test_windows: decision.n_test_windows,
    promoted: decision.promoted,
    reason: decision.reason,
    scoreboard: decision.scoreboard.map((e) => ({
      run_id: e.run_id,
      model_type: e.model_type,
      kind: e.kind,
      status: e.status,
      score: e.score,
      rmse: e.rmse,
      mae: e.mae,
      mse: e.mse,
      error: e.error,
    })),
  });
}

/**
 * Scores everything and decides (no side effects but reads, the per-window series and the log line).
 * `ensembleRunId`: the generation's ENSEMBLE, one more run of the generation (a row even if it failed).
 */
export async function decide(
  ctx: StageContext,
  identifier: string,
  configHash: string,
  runs: RunState[],
  deadlinePassed: boolean,
  settings: EvaluateSettings,
  now = new Date(),
  ensembleRunId: string | null = null,
): Promise<EvaluationDecision> {
  const { latest, generation } = currentGeneration(settings.expected, runs);
  const runIds = latest.map((r) => r.run_id);
  if (ensembleRunId) runIds.push(ensembleRunId);
  const evidence = await gatherEvidence(ctx, identifier, configHash, runs, settings);
  const { test, baseline, champion, previous } = evidence;
  const scoreboard = buildScoreboard({
    expected: ensembleRunId ? [...settings.expected, ENSEMBLE] : settings.expected,
    runs,
    latest: new Set(runIds),
    scored: evidence.scored,
    baseline,
    seasonal: evidence.seasonal,
    champion,
  });
  const best = chooseCandidate(scoreboard.ranked, settings.policy);
  const outcome = applyPolicy({ policy: settings.policy, best, baseline, champion, previous });
  const artifacts = ctx.config.storage.buckets.artifacts;
  const decision = buildDecisionRecord({
    identifier,
    configHash,
    generation,
    runIds,
    decidedAt: now.toISOString(),
    policy: settings.policy,
    expected: settings.expected,
    deadlinePassed,
    nTestWindows: test.starts.length,
    scoreboard: scoreboard.rows,
    baseline,
    best,
    outcome,
    previous,
    artifactsBucket: artifacts,
  });
  // The per-window series beside the decision, for the console (series.ts); same bytes on a retry.
  await writeSeries(
    ctx.s3,
    artifacts,
    evaluationKeys.seriesFor(identifier, configHash, decision.generation),
    buildSeries(test, evidence.predictions),
  );
  logScoreboard(ctx, decision);
  return decision;
}

export async function evaluateMessage(
  message: ModelTrainingMessage,
  ctx: StageContext,
  settings: EvaluateSettings = loadEvaluateSettings(ctx.env),
): Promise<EvaluateResult> {
  const { s3, logger } = ctx;
  const bucket = ctx.config.storage.buckets.artifacts;
  const { identifier, config_hash } = message;
  await recordStatus(s3, bucket, message);
  const runs = await loadRunStates(s3, bucket, identifier, config_hash);
  const ready = readiness(settings.expected, runs, settings.deadlineSeconds);
  if (!ready.ready) {
    logger.info("evaluate_waiting", {
      identifier,
      config_hash,
      run_id: message.run_id,
      status: message.status,
      pending: ready.pending,
    });
    return { status: "waiting", identifier, config_hash, pending: ready.pending };
  }
  const { generation, latest } = currentGeneration(settings.expected, runs);
  if (await exists(s3, bucket, evaluationKeys.publishedFor(identifier, config_hash, generation))) {
    logger.info("evaluate_duplicate_ignored", {
      identifier,
      config_hash,
      generation,
      run_id: message.run_id,
      status: message.status,
    });
    return { status: "duplicate", identifier, config_hash };
  }
  const decisionKey = evaluationKeys.decisionFor(identifier, config_hash, generation);
  let decision = await getJsonIfExists(s3, bucket, decisionKey, EvaluationDecision);
  if (!decision) {
    const g = { identifier, configHash: config_hash, generation, latest, runs };
    const ensemble = await ensembleStep(ctx, g, settings);
    if (ensemble.step === "wait") {
      logger.info("evaluate_waiting", {
        identifier,
        config_hash,
        run_id: message.run_id,
        status: message.status,
        pending: [ENSEMBLE],
        ensemble_run_id: ensemble.runId,
      });
      return { status: "waiting", identifier, config_hash, pending: [ENSEMBLE] };
    }
    const deadlinePassed = ready.deadlinePassed || ensemble.deadlinePassed;
    const candidate = await decide(
      ctx,
      identifier,
      config_hash,
      runs,
      deadlinePassed,
      settings,
      new Date(),
      ensemble.runId,
    );
    if (await putIfAbsent(s3, bucket, decisionKey, JSON.stringify(candidate))) {
      decision = candidate;
    } else {
      logger.info("evaluate_decision_exists", { identifier, config_hash, generation });
      decision = await getJson(s3, bucket, decisionKey, EvaluationDecision);
    }
  }
  // Optional MLflow sink (MLFLOW_TRACKING_URI), once per carried-out decision; never fails the stage.
  if (await finalizeDecision(ctx, decision)) await trackDecision(ctx, decision);
  return { status: "decided", identifier, config_hash, decision };
}
