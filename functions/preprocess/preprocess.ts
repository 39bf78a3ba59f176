/**
 * preprocess: one raw CSV (`raw-data/<identifier>/<file>.csv`) becomes
 * `processed-data/<identifier>/<config_hash>/{train,test}.parquet` plus `.meta.json` (written last),
 * and a `training-data` claim check. Same config_hash already done: `skip_idempotent`, re-emit.
 * `raw-data/<identifier>/score/<file>.csv` is data to score instead (preprocessUpload → score.ts).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StageContext } from "../common/context.ts";
import {
  IdentifierField,
  PermanentError,
  type PreprocessConfig,
  type PreprocessReport,
  ProcessedMeta,
  TOPICS,
  TrainingDataMessage,
} from "../common/contracts.ts";
import { configHash, sha256Hex } from "../common/hash.ts";
import { publish } from "../common/kafka.ts";
import { processedKeys, rawKeys, TEST_SUFFIX } from "../common/keys.ts";
import { exists, getBytes, getBytesIfExists, getJson, putBytes, putJson } from "../common/s3.ts";
import type { ObjectRef } from "../common/s3-event.ts";
import { preprocessScoreObject, type ScorePreprocessResult, scoreUploadOf } from "./score.ts";
import { loadPreprocessSettings, type PreprocessSettings } from "./settings.ts";
import { transform } from "./transform.ts";

export interface RawObjectKey {
  identifier: string;
  file: string;
  /** The `<name>_test.csv` companion's key. */
  testKey: string;
}

/** `<identifier>/<file>.csv` → its parts; anything else is a permanent error naming the key. */
export function parseRawKey(key: string): RawObjectKey {
  const parts = key.split("/");
  if (parts.length !== 2 || !parts[1]?.toLowerCase().endsWith(".csv")) {
    throw new PermanentError(`raw object key '${key}' must be '<identifier>/<file>.csv'`);
  }
  const [identifier, file] = parts as [string, string];
  const id = IdentifierField.safeParse(identifier);
  if (!id.success)
    throw new PermanentError(
      `raw object key '${key}': identifier '${identifier}' is not valid (letters, digits, '.', '_' and '-' only)`,
    );
  return { identifier, file, testKey: rawKeys.testCompanion(identifier, file) };
}

export type PreprocessResult =
  | { status: "ignored"; reason: string; key: string }
  | {
      status: "skipped_idempotent" | "processed";
      identifier: string;
      config_hash: string;
      claim: TrainingDataMessage;
      /** What preprocess did (for a skip: what the run that processed this config did). */
      report: PreprocessReport;
    };

/** What the preprocess function did with one upload: a series to train on, or data to score. */
export type UploadResult = PreprocessResult | ScorePreprocessResult;

/** The function's entry: `<identifier>/score/<file>.csv` is data to score (score.ts), anything else a series. */
export async function preprocessUpload(
  ref: ObjectRef,
  ctx: StageContext,
  settings: PreprocessSettings = loadPreprocessSettings(ctx.env),
): Promise<UploadResult> {
  const scoring = scoreUploadOf(ref.key);
  return scoring ? preprocessScoreObject(ref, scoring, ctx, settings) : preprocessObject(ref, ctx, settings);
}

export async function preprocessObject(
  ref: ObjectRef,
  ctx: StageContext,
  settings: PreprocessSettings = loadPreprocessSettings(ctx.env),
): Promise<PreprocessResult> {
  const { s3, logger, config } = ctx;
  if (ref.key.toLowerCase().endsWith(TEST_SUFFIX)) {
    logger.info("preprocess_ignored_test_companion", { key: ref.key });
    return {
      status: "ignored",
      reason: "a _test.csv companion is processed with its main file",
      key: ref.key,
    };
  }
  const { identifier, file, testKey } = parseRawKey(ref.key);
  const raw = await getBytes(s3, ref.bucket, ref.key);
  const testRaw = await getBytesIfExists(s3, ref.bucket, testKey);
  const split: PreprocessConfig["split"] = testRaw
    ? { kind: "file", test_file: testKey.split("/")[1] as string }
    : { kind: "fraction", test_fraction: settings.testFraction };
  const preprocessConfig: PreprocessConfig = { ...settings.base, split };
  const rawDigest = { sha256: sha256Hex(raw), test_sha256: testRaw ? sha256Hex(testRaw) : null };
  const hash = configHash({ identifier, settings: preprocessConfig, raw: rawDigest, salt: settings.salt });
  const keys = processedKeys(identifier, hash);
  const processedBucket = config.storage.buckets.processed;

  if (!settings.forceReprocess && (await exists(s3, processedBucket, keys.meta))) {
    const meta = await getJson(s3, processedBucket, keys.meta, ProcessedMeta);
    logger.info("skip_idempotent", { identifier, config_hash: hash, key: ref.key, meta_key: keys.meta });
    const claim = await publish(
      ctx.producer,
      TOPICS.trainingData,
      TrainingDataMessage,
      meta.claim_check,
      identifier,
    );
    return { status: "skipped_idempotent", identifier, config_hash: hash, claim, report: meta.report };
  }

  const dir = await mkdtemp(join(tmpdir(), "flts-preprocess-"));
  try {
    const csvPath = join(dir, "raw.csv");
    const testCsvPath = testRaw ? join(dir, "raw_test.csv") : null;
    await writeFile(csvPath, raw);
    if (testRaw && testCsvPath) await writeFile(testCsvPath, testRaw);
    const trainOut = join(dir, "train.parquet");
    const testOut = join(dir, "test.parquet");
    const started = Date.now();
    const result = await transform({
      csvPath,
      testCsvPath,
      csvName: file,
      testCsvName: testRaw ? (split.kind === "file" ? split.test_file : null) : null,
      config: preprocessConfig,
      trainOut,
      testOut,
      kvMetadata: { config_hash: hash, config: JSON.stringify(preprocessConfig), identifier },
    });
    const { size } = await stat(trainOut);
    const claim: TrainingDataMessage = {
      bucket: processedBucket,
      object_key: keys.train,
      test_object_key: keys.test,
      config_hash: hash,
      identifier,
      v: 1,
      size,
      report: result.report,
    };
    const meta: ProcessedMeta = {
      v: 1,
      identifier,
      config_hash: hash,
      config: preprocessConfig,
      raw: {
        bucket: ref.bucket,
        key: ref.key,
        sha256: rawDigest.sha256,
        test_key: testRaw ? testKey : null,
        test_sha256: rawDigest.test_sha256,
      },
      columns: result.columns,
      features: result.features,
      targets: result.targets,
      clip_bounds: result.clipBounds,
      rows: result.rows,
      report: result.report,
      train: { key: keys.train, ...result.train },
      test: { key: keys.test, ...result.test },
      claim_check: claim,
      created_at: new Date().toISOString(),
    };
    ProcessedMeta.parse(meta);
    await putBytes(
      s3,
      processedBucket,
      keys.train,
      await readFile(trainOut),
      "application/vnd.apache.parquet",
    );
    await putBytes(s3, processedBucket, keys.test, await readFile(testOut), "application/vnd.apache.parquet");
    await putJson(s3, processedBucket, keys.meta, meta); // last: its presence marks the set complete
    logger.info("preprocess_done", {
      identifier,
      config_hash: hash,
      train_rows: result.train.rows,
      test_rows: result.test.rows,
      duplicates_dropped: result.rows.duplicates_dropped,
      nan_rows_dropped: result.rows.nan_rows_dropped,
      missing_cells: result.report.missing_cells,
      negatives_clipped: result.report.negatives_clipped,
      features: result.report.features,
      features_left_out: result.report.features_left_out,
      seconds: (Date.now() - started) / 1000,
    });
    const published = await publish(
      ctx.producer,
      TOPICS.trainingData,
      TrainingDataMessage,
      claim,
      identifier,
    );
    return { status: "processed", identifier, config_hash: hash, claim: published, report: result.report };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
