/**
 * The reads of an evaluation: the processed test split, every successful candidate and the current
 * champion scored on its windows (ONNX), the persistence baseline, and the scope's pointer.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StageContext } from "../common/context.ts";
import {
  ModelCard,
  PermanentError,
  ProcessedMeta,
  PromotionPointer,
  type ScoreboardEntry,
} from "../common/contracts.ts";
import { processedKeys, promotionKeys } from "../common/keys.ts";
import { getBytes, getJson, getJsonIfExists, parseS3Uri } from "../common/s3.ts";
import { modelUris } from "./record.ts";
import { compareWithBaseline, prepareTestSet, scoreBaseline, scoreModel, type TestSet } from "./score-run.ts";
import { type EntryBase, failedEntry, inScoringOrder, type ScoredRun } from "./scoreboard.ts";
import type { ScoreRule } from "./scoring.ts";
import { scoreSeasonal } from "./seasonal.ts";
import type { CandidatePredictions } from "./series.ts";
import type { EvaluateSettings } from "./settings.ts";
import type { RunState } from "./state.ts";
import { readSeries } from "./windows.ts";

export interface Evidence {
  test: TestSet;
  baseline: ScoreboardEntry;
  /** Same time yesterday, on the windows that have it (never eligible, never gating). */
  seasonal: ScoreboardEntry;
  /** Every SUCCESS run's row, by run id, with its ratios to persistence and its quality gate. */
  scored: Map<string, ScoredRun>;
  /** The scope's pointer before this decision. */
  previous: PromotionPointer | null;
  /** The pointer's model scored on the same windows; null without a pointer or when it names a candidate. */
  champion: ScoreboardEntry | null;
  /** The test predictions of every scored model, for the per-window series (series.ts). */
  predictions: CandidatePredictions[];
}

/** How every model is scored and judged: the rule, the baseline it is compared with, the gate's margin. */
interface Scoring {
  rule: ScoreRule;
  baseline: ScoreboardEntry;
  gateMargin: number;
}

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
      stepSeconds: meta.config.step_seconds,
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
  uris: { model_uri: string; card_uri: string },
): Promise<{ card: ModelCard; bytes: Uint8Array }> {
  const card = parseS3Uri(uris.card_uri);
  const model = parseS3Uri(uris.model_uri);
  return {
    card: await getJson(ctx.s3, card.bucket, card.key, ModelCard),
    bytes: await getBytes(ctx.s3, model.bucket, model.key),
  };
}

/** Loads a stored model and scores it; one that cannot be loaded gets a FAILED row saying so. */
async function scoreStored(
  ctx: StageContext,
  base: EntryBase & { kind: "candidate" | "champion" },
  uris: { model_uri: string; card_uri: string },
  test: TestSet,
  scoring: Scoring,
  predictions: CandidatePredictions[],
): Promise<{ entry: ScoreboardEntry; card: ModelCard | null }> {
  const { run_id, model_type, kind } = base;
  try {
    const { card, bytes } = await loadModel(ctx, uris);
    const entry = await scoreModel(base, card, bytes, test, scoring.rule, (pred) =>
      predictions.push({ run_id, model_type, pred, kind }),
    );
    return { entry: compareWithBaseline(entry, scoring.baseline, scoring.gateMargin), card };
  } catch (error) {
    const what = kind === "champion" ? "the champion" : "the model";
    return {
      entry: failedEntry(base, "FAILED", `cannot load ${what}: ${(error as Error).message}`),
      card: null,
    };
  }
}

async function scoreCandidate(
  ctx: StageContext,
  run: RunState,
  test: TestSet,
  scoring: Scoring,
  predictions: CandidatePredictions[],
): Promise<ScoredRun> {
  const base = { run_id: run.run_id, model_type: run.model_type, kind: "candidate" as const };
  const uris = modelUris(ctx.config.storage.buckets.artifacts, run.run_id);
  const { entry, card } = await scoreStored(ctx, base, uris, test, scoring, predictions);
  return { entry, created_at: card?.created_at ?? run.first_seen };
}

export async function gatherEvidence(
  ctx: StageContext,
  identifier: string,
  configHash: string,
  runs: readonly RunState[],
  settings: EvaluateSettings,
): Promise<Evidence> {
  const { s3, config } = ctx;
  const meta = await getJson(
    s3,
    config.storage.buckets.processed,
    processedKeys(identifier, configHash).meta,
    ProcessedMeta,
  );
  const test = await loadTestSet(ctx, meta);
  const rule: ScoreRule = { weights: settings.weights, horizonWeighting: settings.horizonWeighting };
  const baseline = scoreBaseline(test, rule);
  const scoring: Scoring = { rule, baseline, gateMargin: settings.gateMargin };
  const predictions: CandidatePredictions[] = [];
  const scored = new Map<string, ScoredRun>();
  for (const run of inScoringOrder(runs)) {
    if (run.status === "SUCCESS")
      scored.set(run.run_id, await scoreCandidate(ctx, run, test, scoring, predictions));
  }
  const previous = await getJsonIfExists(
    s3,
    config.storage.buckets.promotion,
    promotionKeys.current(identifier),
    PromotionPointer,
  );
  // The current champion of this scope, scored on the same windows (unless it is one of the candidates).
  let champion: ScoreboardEntry | null = null;
  if (previous && !runs.some((r) => r.run_id === previous.run_id)) {
    const base = { run_id: previous.run_id, model_type: previous.model_type, kind: "champion" as const };
    champion = (await scoreStored(ctx, base, previous, test, scoring, predictions)).entry;
  }
  const seasonal = scoreSeasonal(test, rule);
  return { test, baseline, seasonal, scored, previous, champion, predictions };
}
