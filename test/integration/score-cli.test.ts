/**
 * Scoring uploads on real MinIO and Kafka: `raw-data/<id>/score/<file>.csv` is preprocessed with the
 * champion's training configuration (the same numbers as training-time preprocessing of those rows,
 * clip bounds included), gaps and NaN cells are handled as in training, an identifier without a
 * champion fails naming it (DLQ-s3-events, the CLI's exit code), and `npm run score` ends with the
 * performance-eval summary whose result rows equal batch-inference's over the training test split.
 * The champion is the GRU fixture promoted on a data set preprocessed here (so its sidecar is real).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scoreClaimCheck } from "../../functions/batch-inference/batch.ts";
import { stageScoringObject } from "../../functions/batch-inference/objects.ts";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import {
  DlqEnvelope,
  PerformanceEvalMessage,
  ProcessedMeta,
  ScoreMeta,
  type TrainingDataMessage,
} from "../../functions/common/contracts.ts";
import { processedScoreKey, sidecarKey } from "../../functions/common/keys.ts";
import { getBytes, getJson, parseS3Uri, putBytes } from "../../functions/common/s3.ts";
import { preprocessUpload } from "../../functions/preprocess/preprocess.ts";
import type { ScorePreprocessResult } from "../../functions/preprocess/score.ts";
import { readModelDir, uploadModel, writePointer } from "../../local/seed-model.ts";
import { lastJsonLine, runCli } from "../cli-process.ts";
import { fixtureDir } from "./inference-harness.ts";
import * as helpers from "./pipeline-helpers.ts";

const { sliceTestCsv, TopicCollector, uniqueId } = helpers;

const dir = mkdtempSync(join(tmpdir(), "flts-score-it-"));
const STAGING = "flts-test-staging";
const csvText = readFileSync(sliceTestCsv, "utf8").trim();
const [header, ...lines] = csvText.split("\n") as [string, ...string[]];
const cols = header.split(",");
let ctx: StageContext;
let training: TrainingDataMessage;
const id = uniqueId("score");

let duck: DuckDBConnection;
const sql = async (query: string): Promise<unknown[][]> => (await duck.runAndReadAll(query)).getRowsJS();

/** Every row of a Parquet object (time as epoch ms), in time order. */
async function parquetRows(bucket: string, key: string): Promise<unknown[][]> {
  const path = join(dir, `${key.replace(/\//g, "_")}`);
  writeFileSync(path, await getBytes(ctx.s3, bucket, key));
  return sql(`SELECT * REPLACE (epoch_ms(time) AS time) FROM read_parquet('${path}') ORDER BY time`);
}

async function resultRows(uri: string): Promise<unknown[][]> {
  const { bucket, key } = parseS3Uri(uri);
  const path = join(dir, `${key.replace(/\//g, "_")}`);
  writeFileSync(path, await getBytes(ctx.s3, bucket, key));
  return sql(
    `SELECT epoch_ms(ts), step, down, up, down_actual, up_actual FROM read_parquet('${path}') ORDER BY ts`,
  );
}

/** Uploads CSV text as `<identifier>/score/<file>` to the staging bucket (no trigger) and preprocesses it. */
async function preprocessScoring(identifier: string, file: string, text: string) {
  const key = `${identifier}/score/${file}`;
  await putBytes(ctx.s3, STAGING, key, Buffer.from(text));
  return preprocessUpload(
    { bucket: STAGING, key, size: null, eTag: null, eventName: "ObjectCreated:Put" },
    ctx,
  );
}

beforeAll(async () => {
  // clipping on, so the champion's fitted bounds visibly apply to the data scored
  ctx = await helpers.testContext("it-score", { CLIP_PERCENTILES: "0.01,0.99" });
  duck = await DuckDBConnection.create(await DuckDBInstance.create(":memory:"));
  const processed = await helpers.stageAndPreprocess(ctx, id);
  training = processed.claim;
  const files = readModelDir(fixtureDir("gru"));
  const pointer = await uploadModel(
    ctx.s3,
    ctx.config.storage.buckets,
    { ...files, card: { ...files.card, training_data: training, config_hash: processed.config_hash } },
    `${id}-gru`,
    id,
  );
  await writePointer(ctx.s3, ctx.config.storage.buckets.promotion, pointer);
});
afterAll(async () => {
  duck?.closeSync();
  if (ctx) await closeStageContext(ctx);
});

describe("preprocess of a scoring upload", () => {
  it("gives the same rows as training-time preprocessing (champion's clip bounds), with a sidecar; a rerun skips", async () => {
    const result = (await preprocessScoring(id, "PobleSecSlice_test.csv", csvText)) as ScorePreprocessResult;
    expect(result).toMatchObject({ status: "processed", purpose: "score", identifier: id });
    expect(result.champion).toMatchObject({ run_id: `${id}-gru`, window: 10, horizon: 1 });
    const processed = ctx.config.storage.buckets.processed;
    expect(result.claim).toEqual({
      bucket: processed,
      object_key: processedScoreKey(id, result.config_hash),
      config_hash: result.config_hash,
      identifier: id,
      v: 1,
      size: result.claim.size,
      purpose: "score",
    });
    // the companion was training's test split: same rows, same (clipped) numbers
    const scored = await parquetRows(processed, result.claim.object_key);
    const testSplit = await parquetRows(training.bucket, training.test_object_key);
    expect(scored).toHaveLength(lines.length);
    expect(scored).toEqual(testSplit);
    const meta = await getJson(ctx.s3, processed, sidecarKey(result.claim.object_key), ScoreMeta);
    const trainingMeta = await getJson(
      ctx.s3,
      training.bucket,
      sidecarKey(training.object_key),
      ProcessedMeta,
    );
    expect(meta.champion.run_id).toBe(`${id}-gru`);
    expect(meta.clip_bounds).toEqual(trainingMeta.clip_bounds);
    expect(meta.clip_bounds).not.toBeNull();
    expect(meta.claim_check).toEqual(result.claim);

    const again = (await preprocessScoring(id, "PobleSecSlice_test.csv", csvText)) as ScorePreprocessResult;
    expect(again.status).toBe("skipped_idempotent");
    expect(again.claim).toEqual(result.claim);
  });

  it("a file with a gap and NaN cells: cells filled by the champion's NaN policy, windows across the gap left out", async () => {
    const kept = lines.filter((_, i) => !(i >= 100 && i < 103)); // an 8-minute gap after row 99
    const edited = kept.map((l, i) => {
      const cells = l.split(",");
      if (i === 200) cells[cols.indexOf("rnti_count")] = "NaN";
      if (i === 300) cells[cols.indexOf("up")] = "";
      return cells.join(",");
    });
    const result = (await preprocessScoring(
      id,
      "holes.csv",
      [header, ...edited].join("\n"),
    )) as ScorePreprocessResult;
    expect(result.report.nan_policy).toBe("ffill");
    expect(result.report.missing_cells).toEqual({
      rnti_count: { empty: 0, nan: 1, inf: 0, filled: 1 },
      up: { empty: 1, nan: 0, inf: 0, filled: 1 },
    });
    const scored = await parquetRows(result.claim.bucket, result.claim.object_key);
    const testSplit = await parquetRows(training.bucket, training.test_object_key);
    const expected = testSplit.filter((_, i) => !(i >= 100 && i < 103));
    const at = (rows: unknown[][], r: number, col: string) => (rows[r] as unknown[])[cols.indexOf(col)];
    expect(scored).toHaveLength(expected.length);
    // forward filled: the previous row's (clipped) value; every other cell as in training
    expect(at(scored, 200, "rnti_count")).toBe(at(expected, 199, "rnti_count"));
    expect(at(scored, 300, "up")).toBe(at(expected, 299, "up"));
    const untouched = (rows: unknown[][]) => rows.filter((_, i) => i !== 200 && i !== 300);
    expect(untouched(scored)).toEqual(untouched(expected));

    const evaluation = await scoreClaimCheck(result.claim, ctx);
    const span = 11;
    expect(evaluation.windows_skipped).toEqual({ gap: span - 1, non_finite: 0 });
    expect(evaluation.n_windows).toBe(kept.length - span + 1 - (span - 1));
  });

  it("an identifier without a champion is refused naming it", async () => {
    const orphan = uniqueId("score-orphan");
    await expect(preprocessScoring(orphan, "x.csv", csvText)).rejects.toThrow(
      `identifier '${orphan}' has no champion`,
    );
  });
});

describe("npm run score", () => {
  it("uploads, waits for performance-eval and prints the summary; its rows equal batch-inference over the test split", async () => {
    const run = await runCli("local/score-cli.ts", ["--data", sliceTestCsv, "--identifier", id], {
      timeoutMs: 300_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const summary = lastJsonLine<Record<string, unknown>>(run.stdout);
    expect(Object.keys(summary)).toEqual([
      "identifier",
      "run_id",
      "model_type",
      "n_windows",
      "output_uri",
      "metrics",
      "persistence",
      "ratio",
      "drift",
      "seconds",
      "forecasts_per_s",
      "monitor",
    ]);
    // the champion's own test rows: the live ratios are the ones it had at promotion
    expect(summary.monitor).toEqual({ status: "ok", drift_uri: null, retraining: null });
    expect(summary).toMatchObject({
      identifier: id,
      run_id: `${id}-gru`,
      model_type: "GRU",
      n_windows: lines.length - 10,
    });
    expect(run.stderr).toContain("[score] done");
    const evaluation = PerformanceEvalMessage.partial().parse(summary);
    expect((evaluation.ratio?.down as number) > 0).toBe(true);

    const testBytes = await getBytes(ctx.s3, training.bucket, training.test_object_key);
    const direct = await scoreClaimCheck(
      await stageScoringObject(ctx.s3, ctx.config.storage.buckets.processed, id, "b".repeat(64), testBytes),
      ctx,
    );
    const viaCli = await resultRows(summary.output_uri as string);
    expect(viaCli).toHaveLength(lines.length - 10);
    expect(viaCli).toEqual(await resultRows(direct.output_uri));
  });

  it("an identifier without a champion: the upload goes to DLQ-s3-events with the reason, the CLI exits 1 naming preprocess", async () => {
    const orphan = uniqueId("score-orphan");
    const dlq = await TopicCollector.start("DLQ-s3-events");
    try {
      const run = await runCli("local/score-cli.ts", ["--data", sliceTestCsv, "--identifier", orphan], {
        timeoutMs: 300_000,
      });
      expect(run.code).toBe(1);
      expect(run.stdout.trim()).toBe("");
      expect(run.stderr).toContain(`stage preprocess failed: identifier '${orphan}' has no champion`);
      const [doc] = await dlq.waitFor("the upload's DLQ envelope", (d) =>
        String(d.value ?? "").includes(orphan),
      );
      const envelope = DlqEnvelope.parse(doc);
      expect(envelope.function).toBe("preprocess");
      expect(envelope.error).toContain(`identifier '${orphan}' has no champion`);
    } finally {
      await dlq.stop();
    }
  });

  it("a missing file or no --identifier is a usage error (exit 2) naming the argument", async () => {
    const missing = await runCli("local/score-cli.ts", ["--data", join(dir, "nope.csv"), "--identifier", id]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--data: file");
    const noId = await runCli("local/score-cli.ts", ["--data", sliceTestCsv]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("--identifier is required");
  });
});
