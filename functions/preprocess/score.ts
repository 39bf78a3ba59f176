/**
 * preprocess, score branch: a CSV uploaded as `raw-data/<identifier>/score/<file>.csv` is processed
 * with the configuration of the identifier's champion (its card's features, targets, window and
 * horizon; its training sidecar's NaN and negative policies and clip bounds), written as
 * `processed-data/<identifier>/score/<config_hash>/score.parquet` plus `.meta.json` (last), and
 * announced on `inference-data`. Same config_hash already done: `skipped_idempotent`, re-announced.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { championCard, championPointer, trainingMetaLocation } from "../batch-inference/champion.ts";
import { stageScoringObject } from "../batch-inference/objects.ts";
import type { StageContext } from "../common/context.ts";
import {
  InferenceDataMessage,
  type ModelCard,
  PermanentError,
  type PreprocessConfig,
  type PreprocessReport,
  ProcessedMeta,
  type PromotionPointer,
  ScoreMeta,
  TOPICS,
} from "../common/contracts.ts";
import { configHash, sha256Hex } from "../common/hash.ts";
import { publish } from "../common/kafka.ts";
import { parseRawKey, processedScoreKey, sidecarKey } from "../common/keys.ts";
import { exists, getBytes, getJson, getJsonIfExists, putJson, s3Uri } from "../common/s3.ts";
import type { ObjectRef } from "../common/s3-event.ts";
import { transformForScoring } from "./score-transform.ts";
import type { PreprocessSettings } from "./settings.ts";

export interface ScoreUpload {
  identifier: string;
  file: string;
}

export interface ScorePreprocessResult {
  status: "processed" | "skipped_idempotent";
  purpose: "score";
  identifier: string;
  config_hash: string;
  claim: InferenceDataMessage;
  report: PreprocessReport;
  champion: { run_id: string; model_type: string; window: number; horizon: number };
}

/** The identifier and file of a `<identifier>/score/<file>.csv` key; null for any other key. */
export function scoreUploadOf(key: string): ScoreUpload | null {
  const parsed = parseRawKey(key);
  return parsed?.kind === "score" ? { identifier: parsed.identifier, file: parsed.file } : null;
}

interface ChampionConfig {
  pointer: PromotionPointer;
  card: ModelCard;
  training: ProcessedMeta;
  trainingMetaUri: string;
  config: PreprocessConfig;
}

/** The champion and the configuration its training data was processed with (model shape from its card). */
async function championConfig(ctx: StageContext, identifier: string): Promise<ChampionConfig> {
  const { s3, config } = ctx;
  const pointer = await championPointer(s3, config.storage.buckets.promotion, identifier);
  const card = await championCard(s3, pointer);
  const at = trainingMetaLocation(card.training_data);
  const trainingMetaUri = s3Uri(at.bucket, at.key);
  const training = await getJsonIfExists(s3, at.bucket, at.key, ProcessedMeta);
  if (!training)
    throw new PermanentError(
      `identifier '${identifier}': the sidecar of champion ${pointer.run_id}'s training data, ${trainingMetaUri}, does not exist, so its preprocessing cannot be repeated on data to score`,
    );
  const { features, targets, window, horizon } = card;
  return {
    pointer,
    card,
    training,
    trainingMetaUri,
    config: { ...training.config, features, targets, window, horizon },
  };
}

/** The claim check on `inference-data`, keyed by its identifier. */
function announce(ctx: StageContext, claim: InferenceDataMessage): Promise<InferenceDataMessage> {
  return publish(ctx.producer, TOPICS.inferenceData, InferenceDataMessage, claim, claim.identifier);
}

export async function preprocessScoreObject(
  ref: ObjectRef,
  upload: ScoreUpload,
  ctx: StageContext,
  settings: PreprocessSettings,
): Promise<ScorePreprocessResult> {
  const { s3, logger, config } = ctx;
  const { identifier, file } = upload;
  const champion = await championConfig(ctx, identifier);
  const { pointer, card, training } = champion;
  const raw = await getBytes(s3, ref.bucket, ref.key);
  const sha256 = sha256Hex(raw);
  const hash = configHash({
    identifier,
    settings: {
      purpose: "score",
      champion: pointer.run_id,
      config: champion.config,
      clip_bounds: training.clip_bounds,
    },
    raw: { sha256, test_sha256: null },
    salt: settings.salt,
  });
  const processed = config.storage.buckets.processed;
  const metaKey = sidecarKey(processedScoreKey(identifier, hash));
  const result = (
    status: ScorePreprocessResult["status"],
    claim: InferenceDataMessage,
    report: PreprocessReport,
  ) => ({
    status,
    purpose: "score" as const,
    identifier,
    config_hash: hash,
    claim,
    report,
    champion: {
      run_id: pointer.run_id,
      model_type: pointer.model_type,
      window: card.window,
      horizon: card.horizon,
    },
  });

  if (!settings.forceReprocess && (await exists(s3, processed, metaKey))) {
    const meta = await getJson(s3, processed, metaKey, ScoreMeta);
    logger.info("skip_idempotent", { identifier, config_hash: hash, key: ref.key, meta_key: metaKey });
    return result("skipped_idempotent", await announce(ctx, meta.claim_check), meta.report);
  }

  const dir = await mkdtemp(join(tmpdir(), "flts-preprocess-score-"));
  try {
    const csvPath = join(dir, "score.csv");
    const out = join(dir, "score.parquet");
    await writeFile(csvPath, raw);
    const started = Date.now();
    const done = await transformForScoring({
      csvPath,
      csvName: file,
      config: champion.config,
      clipBounds: training.clip_bounds,
      out,
      kvMetadata: {
        config_hash: hash,
        config: JSON.stringify(champion.config),
        identifier,
        champion: pointer.run_id,
      },
    });
    const claim = await stageScoringObject(s3, processed, identifier, hash, await readFile(out));
    const meta: ScoreMeta = {
      v: 1,
      purpose: "score",
      identifier,
      config_hash: hash,
      champion: {
        run_id: pointer.run_id,
        model_type: pointer.model_type,
        config_hash: pointer.config_hash,
        training_meta: champion.trainingMetaUri,
      },
      config: champion.config,
      clip_bounds: training.clip_bounds,
      raw: { bucket: ref.bucket, key: ref.key, sha256 },
      columns: done.columns,
      report: done.report,
      rows: done.rows,
      claim_check: claim,
      created_at: new Date().toISOString(),
    };
    await putJson(s3, processed, metaKey, ScoreMeta.parse(meta)); // last: its presence marks the object complete
    logger.info("preprocess_score_done", {
      identifier,
      config_hash: hash,
      champion: pointer.run_id,
      rows: done.rows.rows,
      duplicates_dropped: done.report.duplicates_dropped,
      rows_dropped_missing: done.report.rows_dropped_missing,
      missing_cells: done.report.missing_cells,
      seconds: (Date.now() - started) / 1000,
    });
    return result("processed", await announce(ctx, claim), done.report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
