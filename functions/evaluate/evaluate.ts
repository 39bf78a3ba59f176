/**
 * evaluate: on every `model-training` message, record the run's status; once every expected type for
 * (identifier, config_hash) is terminal (or EVAL_DEADLINE_SECONDS passed) score every successful
 * candidate, the persistence baseline and the current champion on the same test windows, and decide.
 * The decision is written once (conditional put), so a redelivered event never promotes twice.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StageContext } from "../common/context.ts";
import {
  EvaluationDecision,
  ModelCard,
  type ModelTrainingMessage,
  PermanentError,
  ProcessedMeta,
  PromotionPointer,
  type ScoreboardEntry,
} from "../common/contracts.ts";
import { keyTimestamp, promotionKeys } from "../common/promotion.ts";
import {
  exists,
  getBytes,
  getBytesIfExists,
  getJson,
  getJsonIfExists,
  parseS3Uri,
  putIfAbsent,
  s3Uri,
} from "../common/s3.ts";
import { finalizeDecision } from "./promote.ts";
import { failedEntry, prepareTestSet, scoreBaseline, scoreModel, type TestSet } from "./score-run.ts";
import { pickWinner, rankable } from "./scoring.ts";
import { buildSeries, type CandidatePredictions, seriesKey, writeSeries } from "./series.ts";
import { type EvaluateSettings, loadEvaluateSettings } from "./settings.ts";
import {
  evaluationKeys,
  generationOf,
  latestPerType,
  loadRunStates,
  type RunState,
  readiness,
  recordStatus,
} from "./state.ts";
import { trackDecision } from "./tracking.ts";
import { readSeries } from "./windows.ts";

export type EvaluateResult =
  | { status: "waiting"; identifier: string; config_hash: string; pending: string[] }
  | { status: "duplicate"; identifier: string; config_hash: string }
  | { status: "decided"; identifier: string; config_hash: string; decision: EvaluationDecision };

async function loadTestSet(ctx: StageContext, meta: ProcessedMeta): Promise<TestSet> {
  const dir = await mkdtemp(join(tmpdir(), "flts-evaluate-"));
  try {
    const path = join(dir, "test.parquet");
    await writeFile(path, await getBytes(ctx.s3, meta.claim_check.bucket, meta.claim_check.test_object_key));
    const series = await readSeries(path);
    const test = prepareTestSet(series, {
      window: meta.config.window,
      horizon: meta.config.horizon,
      targets: meta.targets,
      gapTolerance: meta.config.gap_tolerance_seconds,
    });
    if (test.starts.length === 0) {
      throw new PermanentError(
        `${meta.claim_check.test_object_key}: no test windows of ${meta.config.window}+${meta.config.horizon} rows without gaps`,
      );
    }
    return test;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function loadModel(
  ctx: StageContext,
  modelUri: string,
  cardUri: string,
): Promise<{ card: ModelCard; bytes: Uint8Array }> {
  const card = parseS3Uri(cardUri);
  const model = parseS3Uri(modelUri);
  return {
    card: await getJson(ctx.s3, card.bucket, card.key, ModelCard),
    bytes: await getBytes(ctx.s3, model.bucket, model.key),
  };
}

async function scoreCandidate(
  ctx: StageContext,
  run: RunState,
  test: TestSet,
  settings: EvaluateSettings,
  scored: CandidatePredictions[] = [],
): Promise<{ entry: ScoreboardEntry; created_at: string }> {
  const base = { run_id: run.run_id, model_type: run.model_type, kind: "candidate" as const };
  const artifacts = ctx.config.storage.buckets.artifacts;
  try {
    const { card, bytes } = await loadModel(
      ctx,
      s3Uri(artifacts, `runs/${run.run_id}/model.onnx`),
      s3Uri(artifacts, `runs/${run.run_id}/model.json`),
    );
    return {
      entry: await scoreModel(base, card, bytes, test, settings.weights, (pred) =>
        scored.push({ run_id: run.run_id, model_type: run.model_type, pred }),
      ),
      created_at: card.created_at,
    };
  } catch (error) {
    return {
      entry: failedEntry(base, "FAILED", `cannot load the model: ${(error as Error).message}`),
      created_at: run.first_seen,
    };
  }
}

/** Scores everything and decides (pure of side effects except reads and the log line). */
export async function decide(
  ctx: StageContext,
  identifier: string,
  configHash: string,
  runs: RunState[],
  deadlinePassed: boolean,
  settings: EvaluateSettings,
  now = new Date(),
): Promise<EvaluationDecision> {
  const latest = latestPerType(settings.expected, runs);
  const latestIds = new Set(latest.map((r) => r.run_id));
  const { s3, config } = ctx;
  const meta = await getJson(
    s3,
    config.storage.buckets.processed,
    `${identifier}/${configHash}/.meta.json`,
    ProcessedMeta,
  );
  const test = await loadTestSet(ctx, meta);
  const baseline = scoreBaseline(test, settings.weights);

  const scoreboard: ScoreboardEntry[] = [];
  const predictions: CandidatePredictions[] = [];
  const ranked: {
    run_id: string;
    model_type: string;
    score: number;
    created_at: string;
    entry: ScoreboardEntry;
  }[] = [];
  for (const run of runs.sort((a, b) => a.first_seen.localeCompare(b.first_seen))) {
    if (run.status === "SUCCESS") {
      const { entry, created_at } = await scoreCandidate(ctx, run, test, settings, predictions);
      scoreboard.push(entry);
      if (rankable(entry))
        ranked.push({
          run_id: run.run_id,
          model_type: run.model_type,
          score: entry.score,
          created_at,
          entry,
        });
    } else if (!latestIds.has(run.run_id)) {
      // an earlier attempt superseded by a retry: not part of this generation
    } else if (run.status === "FAILED") {
      scoreboard.push(
        failedEntry(
          { run_id: run.run_id, model_type: run.model_type, kind: "candidate" },
          "FAILED",
          run.terminal?.error ?? "training failed",
        ),
      );
    } else {
      scoreboard.push(
        failedEntry(
          { run_id: run.run_id, model_type: run.model_type, kind: "candidate" },
          "MISSING",
          "still running at the deadline",
        ),
      );
    }
  }
  for (const type of settings.expected) {
    if (!runs.some((r) => r.model_type === type)) {
      scoreboard.push(
        failedEntry({ run_id: "-", model_type: type, kind: "candidate" }, "MISSING", "no run reported"),
      );
    }
  }
  scoreboard.push(baseline);

  // The current champion of this scope, scored on the same windows (unless it is one of the candidates).
  const promotionBucket = config.storage.buckets.promotion;
  const previous = await getJsonIfExists(
    s3,
    promotionBucket,
    promotionKeys.current(identifier),
    PromotionPointer,
  );
  let champion: ScoreboardEntry | null = null;
  if (previous && !runs.some((r) => r.run_id === previous.run_id)) {
    const base = { run_id: previous.run_id, model_type: previous.model_type, kind: "champion" as const };
    try {
      const { card, bytes } = await loadModel(ctx, previous.model_uri, previous.card_uri);
      champion = await scoreModel(base, card, bytes, test, settings.weights, (pred) =>
        predictions.push({
          run_id: previous.run_id,
          model_type: previous.model_type,
          pred,
          kind: "champion",
        }),
      );
    } catch (error) {
      champion = failedEntry(base, "FAILED", `cannot load the champion: ${(error as Error).message}`);
    }
    scoreboard.push(champion);
  }

  const best = pickWinner(ranked);
  let promoted = false;
  let reason: string;
  if (!best) {
    reason = "no candidate could be scored";
  } else if (previous?.run_id === best.run_id) {
    reason = `${best.model_type} ${best.run_id} is already the current champion (score ${best.score.toFixed(6)})`;
  } else if (settings.policy !== "always" && !(best.score < (baseline.score as number))) {
    reason = `best candidate ${best.run_id} (score ${best.score.toFixed(6)}) does not beat the persistence baseline (${(baseline.score as number).toFixed(6)})`;
  } else if (
    settings.policy === "beat_baseline_and_champion" &&
    champion?.status === "SCORED" &&
    !(best.score < (champion.score as number))
  ) {
    reason = `best candidate ${best.run_id} (score ${best.score.toFixed(6)}) does not beat the current champion ${champion.run_id} (${(champion.score as number).toFixed(6)})`;
  } else {
    promoted = true;
    reason = `${best.model_type} ${best.run_id} wins with score ${best.score.toFixed(6)} (baseline ${(baseline.score as number).toFixed(6)}${champion?.status === "SCORED" ? `, champion ${(champion.score as number).toFixed(6)}` : ""}; policy ${settings.policy})`;
  }
  const decidedAt = now.toISOString();
  const artifacts = config.storage.buckets.artifacts;
  const pointer: PromotionPointer | null =
    promoted && best
      ? {
          model_uri: s3Uri(artifacts, `runs/${best.run_id}/model.onnx`),
          run_id: best.run_id,
          model_type: best.model_type as PromotionPointer["model_type"],
          config_hash: configHash,
          identifier,
          scope: identifier,
          score: best.score,
          card_uri: s3Uri(artifacts, `runs/${best.run_id}/model.json`),
          promoted_at: decidedAt,
          rmse: best.entry.rmse,
          mae: best.entry.mae,
          mse: best.entry.mse,
        }
      : null;
  const decision = EvaluationDecision.parse({
    v: 1,
    identifier,
    config_hash: configHash,
    generation: generationOf([...latestIds]),
    runs: [...latestIds].sort(),
    decided_at: decidedAt,
    policy: settings.policy,
    expected: settings.expected,
    deadline_passed: deadlinePassed,
    n_test_windows: test.starts.length,
    scoreboard,
    baseline,
    winner: best ? { run_id: best.run_id, model_type: best.model_type, score: best.score } : null,
    promoted,
    reason,
    pointer,
    previous: previous ?? null,
    history_key: pointer ? promotionKeys.history(identifier, configHash, keyTimestamp(decidedAt)) : null,
  });
  // The per-window series beside the decision, for the console (series.ts); same bytes on a retry.
  await writeSeries(
    s3,
    artifacts,
    seriesKey(identifier, configHash, decision.generation),
    buildSeries(test, predictions),
  );
  ctx.logger.info("promotion_scoreboard", {
    identifier,
    config_hash: configHash,
    n_test_windows: test.starts.length,
    promoted,
    reason,
    scoreboard: scoreboard.map((e) => ({
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
  const generation = generationOf(latestPerType(settings.expected, runs).map((r) => r.run_id));
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
    const candidate = await decide(ctx, identifier, config_hash, runs, ready.deadlinePassed, settings);
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

/** The decision for (identifier, config_hash), if one was made. */
export async function readDecision(
  ctx: Pick<StageContext, "s3" | "config">,
  identifier: string,
  configHash: string,
): Promise<EvaluationDecision | null> {
  const bytes = await getBytesIfExists(
    ctx.s3,
    ctx.config.storage.buckets.artifacts,
    evaluationKeys.decision(identifier, configHash),
  );
  return bytes ? EvaluationDecision.parse(JSON.parse(Buffer.from(bytes).toString("utf8"))) : null;
}
