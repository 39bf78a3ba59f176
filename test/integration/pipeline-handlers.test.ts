/**
 * Each handler against real Kafka and MinIO (and the real Python trainer, DuckDB and onnxruntime).
 * Every test works under its own identifier.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StageContext } from "../../functions/common/context.ts";
import { closeStageContext } from "../../functions/common/context.ts";
import {
  type ModelTrainingMessage,
  ProcessedMeta,
  PromotionPointer,
} from "../../functions/common/contracts.ts";
import { promotionKeys } from "../../functions/common/keys.ts";
import { exists, getBytes, getJson, listKeys, putBytes, putJson } from "../../functions/common/s3.ts";
import { evaluateMessage } from "../../functions/evaluate/evaluate.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import { preprocessObject } from "../../functions/preprocess/preprocess.ts";
import { loadPreprocessSettings } from "../../functions/preprocess/settings.ts";
import { completeRun } from "../../functions/train-complete/complete.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { dispatchTraining, newRunId } from "../../functions/train-dispatch/dispatch.ts";
import { loadDispatchSettings } from "../../functions/train-dispatch/settings.ts";
import { ensureTrainerVenv, venvPython } from "../../local/python-env.ts";
import { LocalTrainerPool } from "../../local/runtime/local-trainer.ts";
import { pollUntil } from "../poll.ts";
import {
  placeFixtureRun,
  sliceCsv,
  sliceTestCsv,
  TopicCollector,
  testContext,
  uniqueId,
  uploadAndPreprocess,
} from "./pipeline-helpers.ts";

let ctx: StageContext;
let trainingData: TopicCollector;
let modelTraining: TopicCollector;
let modelSelected: TopicCollector;

beforeAll(async () => {
  ctx = await testContext("it-handlers");
  [trainingData, modelTraining, modelSelected] = await Promise.all([
    TopicCollector.start("training-data"),
    TopicCollector.start("model-training"),
    TopicCollector.start("model-selected"),
  ]);
});
afterAll(async () => {
  await Promise.all([trainingData?.stop(), modelTraining?.stop(), modelSelected?.stop()]);
  if (ctx) await closeStageContext(ctx);
});

const raw = () => ctx.config.storage.buckets.raw;
const processed = () => ctx.config.storage.buckets.processed;
const artifacts = () => ctx.config.storage.buckets.artifacts;
const promotion = () => ctx.config.storage.buckets.promotion;

/** Uploads the reference-data slice (and its _test companion) for `id` and preprocesses it. */
const preprocessSlice = (id: string, env: Record<string, string> = {}) =>
  uploadAndPreprocess(ctx, raw(), id, env);

async function parquetKv(bytes: Uint8Array): Promise<Record<string, string>> {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "flts-it-"));
  const path = join(dir, "f.parquet");
  writeFileSync(path, bytes);
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await DuckDBConnection.create(instance);
  try {
    const rows = (
      await conn.runAndReadAll(`SELECT decode(key), decode(value) FROM parquet_kv_metadata('${path}')`)
    ).getRowsJS();
    return Object.fromEntries(rows as [string, string][]);
  } finally {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("preprocess (real MinIO, Kafka, DuckDB)", () => {
  it("writes train/test Parquet with the config in their metadata, the sidecar, and a claim check", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id);
    expect(result.status).toBe("processed");
    if (result.status === "ignored") throw new Error("unexpected");
    const hash = result.config_hash;
    const keys = await listKeys(ctx.s3, processed(), `${id}/`);
    expect(keys.sort()).toEqual([
      `${id}/${hash}/.meta.json`,
      `${id}/${hash}/test.parquet`,
      `${id}/${hash}/train.parquet`,
    ]);
    const meta = await getJson(ctx.s3, processed(), `${id}/${hash}/.meta.json`, ProcessedMeta);
    expect(meta.config.split).toEqual({ kind: "file", test_file: "PobleSecSlice_test.csv" });
    expect(meta.train.rows).toBe(1500);
    expect(meta.test.rows).toBe(400);
    expect(meta.report).toMatchObject({ rows_read: 1900, feature_selection: "reference_columns" });
    expect(meta.report.features_left_out).toEqual([]);
    expect(result.report).toEqual(meta.report);
    const kv = await parquetKv(await getBytes(ctx.s3, processed(), `${id}/${hash}/train.parquet`));
    expect(kv.config_hash).toBe(hash);
    expect(JSON.parse(kv.config as string)).toEqual(meta.config);
    const [claim] = await trainingData.waitFor("the training-data claim check", (m) => m.identifier === id);
    expect(claim).toMatchObject({
      bucket: processed(),
      object_key: `${id}/${hash}/train.parquet`,
      test_object_key: `${id}/${hash}/test.parquet`,
      config_hash: hash,
      v: 1,
      report: meta.report,
    });
  });

  it("skips an already processed config (skip_idempotent) and re-emits the claim; FORCE_REPROCESS and EXTRA_HASH_SALT process again", async () => {
    const id = uniqueId();
    const first = await preprocessSlice(id);
    const again = await preprocessObject(first.ref, ctx, loadPreprocessSettings({}));
    expect(again.status).toBe("skipped_idempotent");
    if (first.result.status === "ignored" || again.status === "ignored") throw new Error("unexpected");
    expect(again.config_hash).toBe(first.result.config_hash);
    await trainingData.waitFor("two claim checks", (m) => m.identifier === id, 2);

    const forced = await preprocessObject(first.ref, ctx, loadPreprocessSettings({ FORCE_REPROCESS: "1" }));
    expect(forced.status).toBe("processed");
    const salted = await preprocessObject(first.ref, ctx, loadPreprocessSettings({ EXTRA_HASH_SALT: "v2" }));
    expect(salted.status).toBe("processed");
    if (salted.status === "ignored") throw new Error("unexpected");
    expect(salted.config_hash).not.toBe(first.result.config_hash);
  });

  it("ignores the upload of a _test.csv companion on its own", async () => {
    const id = uniqueId();
    await putBytes(ctx.s3, raw(), `${id}/PobleSecSlice_test.csv`, readFileSync(sliceTestCsv));
    const result = await preprocessObject(
      { bucket: raw(), key: `${id}/PobleSecSlice_test.csv`, size: null, eTag: null, eventName: "x" },
      ctx,
    );
    expect(result.status).toBe("ignored");
    expect(await listKeys(ctx.s3, processed(), `${id}/`)).toEqual([]);
  });

  it("fails on a CSV without `down`, naming it, and writes nothing under processed-data", async () => {
    const id = uniqueId();
    const text = readFileSync(sliceCsv, "utf8").replace(/^time,down,/, "time,downlink,");
    await putBytes(ctx.s3, raw(), `${id}/bad.csv`, text);
    await expect(
      preprocessObject({ bucket: raw(), key: `${id}/bad.csv`, size: null, eTag: null, eventName: "x" }, ctx),
    ).rejects.toThrow(/bad.csv: column 'down' is missing/);
    expect(await listKeys(ctx.s3, processed(), `${id}/`)).toEqual([]);
  });

  it("fails on a 1e308 cell in `down`, naming column and row: nothing written, no claim check published", async () => {
    const id = uniqueId();
    const lines = readFileSync(sliceCsv, "utf8").split("\n");
    lines[3] = (lines[3] as string).replace(/^([^,]*),[^,]*,/, "$1,1e308,");
    await putBytes(ctx.s3, raw(), `${id}/huge.csv`, lines.join("\n"));
    await expect(
      preprocessObject({ bucket: raw(), key: `${id}/huge.csv`, size: null, eTag: null, eventName: "x" }, ctx),
    ).rejects.toThrow(/huge\.csv: column 'down' has 1e308 at row 3 \(line 4\), beyond the float32 range/);
    expect(await listKeys(ctx.s3, processed(), `${id}/`)).toEqual([]);
    await trainingData.syncToEnd();
    expect(trainingData.matching((m) => m.identifier === id)).toEqual([]);
  });
});

describe("train-dispatch and train-complete (real Python trainer, PROPHET)", () => {
  it("launches one run per (model_type, config_hash) even when the claim arrives twice at once, then reports SUCCESS", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id);
    if (result.status === "ignored") throw new Error("unexpected");
    const pool = new LocalTrainerPool({
      python: venvPython(await ensureTrainerVenv()),
      concurrency: 1,
      s3: ctx.s3,
    });
    registerTrainerLauncher("local", pool);
    const settings = loadDispatchSettings({ EXPECTED_MODEL_TYPES: "PROPHET", TRAINER_BACKEND: "local" });
    const [a, b] = await Promise.all([
      dispatchTraining(result.claim, ctx, settings),
      dispatchTraining(result.claim, ctx, settings),
    ]);
    const dispatched = [...a.dispatched, ...b.dispatched];
    const skipped = [...a.skipped, ...b.skipped];
    expect(dispatched).toHaveLength(1);
    expect(skipped).toHaveLength(1);
    const runId = dispatched[0]?.run_id as string;
    expect(skipped[0]?.run_id).toBe(runId);
    const runDirs = new Set((await listKeys(ctx.s3, artifacts(), `runs/${id}-`)).map((k) => k.split("/")[1]));
    expect([...runDirs]).toEqual([runId]);

    await pollUntil(
      "the trainer to finish",
      async () =>
        (await exists(ctx.s3, artifacts(), `runs/${runId}/_SUCCESS`)) ||
        (await exists(ctx.s3, artifacts(), `runs/${runId}/_FAILED`))
          ? true
          : null,
      { timeoutMs: 180_000 },
    );
    await pool.idle();
    const message = await completeRun(
      { bucket: artifacts(), key: `runs/${runId}/_SUCCESS`, size: null, eTag: null, eventName: "x" },
      ctx,
    );
    expect(message.status).toBe("SUCCESS");
    expect(Object.keys(message.per_target ?? {})).toEqual(["down", "up"]);
    const pt = message.per_target as Record<string, { rmse: number }>;
    expect(message.metrics?.rmse).toBeCloseTo(((pt.down?.rmse ?? 0) + (pt.up?.rmse ?? 0)) / 2, 3);

    await modelTraining.syncToEnd();
    const ofRun = modelTraining.matching((m) => m.run_id === runId);
    expect(ofRun.map((m) => m.status).sort()).toEqual(["RUNNING", "SUCCESS"]);
  }, 240_000);

  it("reports FAILED for a _FAILED marker and for a _SUCCESS whose artifacts are missing", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id);
    if (result.status === "ignored") throw new Error("unexpected");
    const record = (runId: string) => ({
      run_id: runId,
      model_type: "GRU",
      identifier: id,
      config_hash: result.config_hash,
      backend: "local",
      status: "RUNNING",
      artifact_uri: `s3://${artifacts()}/runs/${runId}/`,
      training_data: result.claim,
      created_at: new Date().toISOString(),
    });
    const failedRun = newRunId(id, "GRU", result.config_hash);
    await putJson(ctx.s3, artifacts(), `runs/${failedRun}/run.json`, record(failedRun));
    await putJson(ctx.s3, artifacts(), `runs/${failedRun}/_FAILED`, {
      run_id: failedRun,
      model_type: "GRU",
      error: "CUDA out of memory",
    });
    const failed = await completeRun(
      { bucket: artifacts(), key: `runs/${failedRun}/_FAILED`, size: null, eTag: null, eventName: "x" },
      ctx,
    );
    expect(failed).toMatchObject({ status: "FAILED", error: "CUDA out of memory", metrics: null });

    const hollowRun = newRunId(id, "GRU", result.config_hash);
    await putJson(ctx.s3, artifacts(), `runs/${hollowRun}/run.json`, record(hollowRun));
    await putJson(ctx.s3, artifacts(), `runs/${hollowRun}/_SUCCESS`, {
      run_id: hollowRun,
      finished_at: new Date().toISOString(),
    });
    const hollow = await completeRun(
      { bucket: artifacts(), key: `runs/${hollowRun}/_SUCCESS`, size: null, eTag: null, eventName: "x" },
      ctx,
    );
    expect(hollow.status).toBe("FAILED");
    expect(hollow.error).toMatch(/model.onnx is missing.*model.json is missing.*metrics.json is missing/);
  });
});

/** Persistence baseline computed straight from the test CSV (independent of the evaluator's code). */
function independentBaseline(window: number, tol: number) {
  const lines = readFileSync(sliceTestCsv, "utf8").trim().split("\n");
  const header = (lines[0] as string).split(",");
  const rows = lines.slice(1).map((l) => l.split(","));
  const t = rows.map((r) => Date.parse(`${r[0]?.replace(" ", "T")}Z`) / 1000);
  const col = (name: string) => rows.map((r) => Number(r[header.indexOf(name)]));
  const out: Record<string, number> = {};
  let windows = 0;
  for (const name of ["down", "up"]) {
    const v = col(name);
    let sq = 0;
    let n = 0;
    for (let s = 0; s + window + 1 <= rows.length; s++) {
      let ok = true;
      for (let i = s + 1; i <= s + window; i++) if ((t[i] as number) - (t[i - 1] as number) > tol) ok = false;
      if (!ok) continue;
      sq += ((v[s + window] as number) - (v[s + window - 1] as number)) ** 2;
      n++;
    }
    out[name] = Math.sqrt(sq / n);
    windows = n;
  }
  return { rmse: ((out.down as number) + (out.up as number)) / 2, windows };
}

describe("a FAILED run is retried and re-evaluated (real trainer, PROPHET)", () => {
  it("dispatches the next attempt for a type whose run failed, and decides again on the new set of runs", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id);
    if (result.status === "ignored") throw new Error("unexpected");
    const evaluate = loadEvaluateSettings({ EXPECTED_MODEL_TYPES: "PROPHET", PROMOTION_POLICY: "always" });
    const ref = (runId: string, marker: string) => ({
      bucket: artifacts(),
      key: `runs/${runId}/${marker}`,
      size: null,
      eTag: null,
      eventName: "x",
    });

    // Attempt 1: the launch fails (no trainer function configured), which writes _FAILED.
    const broken = await dispatchTraining(
      result.claim,
      ctx,
      loadDispatchSettings({ EXPECTED_MODEL_TYPES: "PROPHET", TRAINER_BACKEND: "lambda" }),
    );
    const failedRun = broken.dispatched[0];
    expect(failedRun).toMatchObject({ launched: false });
    expect(failedRun?.error).toMatch(/TRAINER_LAMBDA_FUNCTION/);
    const failedMsg = await completeRun(ref(failedRun?.run_id as string, "_FAILED"), ctx);
    const first = await evaluateMessage(failedMsg, ctx, evaluate);
    if (first.status !== "decided") throw new Error(`expected a decision, got ${first.status}`);
    expect(first.decision.promoted).toBe(false);

    // Attempt 2: the guard's run failed, so the type is dispatched again, on the local trainer.
    const pool = new LocalTrainerPool({
      python: venvPython(await ensureTrainerVenv()),
      concurrency: 1,
      s3: ctx.s3,
    });
    registerTrainerLauncher("local", pool);
    const local = loadDispatchSettings({ EXPECTED_MODEL_TYPES: "PROPHET", TRAINER_BACKEND: "local" });
    const retry = await dispatchTraining(result.claim, ctx, local);
    expect(retry.skipped).toEqual([]);
    const retryRun = retry.dispatched[0]?.run_id as string;
    expect(retryRun).not.toBe(failedRun?.run_id);
    await pool.idle();
    const success = await completeRun(ref(retryRun, "_SUCCESS"), ctx);
    expect(success.status).toBe("SUCCESS");
    const second = await evaluateMessage(success, ctx, evaluate);
    if (second.status !== "decided") throw new Error(`expected a new decision, got ${second.status}`);
    expect(second.decision.generation).not.toBe(first.decision.generation);
    expect(second.decision.promoted).toBe(true);
    expect(second.decision.winner?.run_id).toBe(retryRun);

    // Now the successful attempt holds the type: a third claim is skipped.
    const third = await dispatchTraining(result.claim, ctx, local);
    expect(third.dispatched).toEqual([]);
    expect(third.skipped).toEqual([{ model_type: "PROPHET", run_id: retryRun }]);
  }, 180_000);
});

/** The fixture models forecast one step: their data set is preprocessed to match. */
const FIXTURE_HORIZON = { HORIZON: "1" };

describe("evaluate (real onnxruntime, real trained fixture models)", () => {
  it("waits for every expected type, scores candidates against persistence, promotes once, and ignores a redelivery", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id, FIXTURE_HORIZON);
    if (result.status === "ignored") throw new Error("unexpected");
    const hash = result.config_hash;
    const settings = loadEvaluateSettings({
      EXPECTED_MODEL_TYPES: "GRU,LSTM,PROPHET",
      PROMOTION_POLICY: "always",
    });
    const messages = [];
    for (const type of ["GRU", "LSTM", "PROPHET"] as const)
      messages.push(await placeFixtureRun(ctx, id, hash, result.claim, type));

    expect((await evaluateMessage(messages[0] as ModelTrainingMessage, ctx, settings)).status).toBe(
      "waiting",
    );
    const second = await evaluateMessage(messages[1] as ModelTrainingMessage, ctx, settings);
    expect(second).toMatchObject({ status: "waiting", pending: ["PROPHET"] });
    const decided = await evaluateMessage(messages[2] as ModelTrainingMessage, ctx, settings);
    if (decided.status !== "decided") throw new Error(`expected a decision, got ${decided.status}`);
    const d = decided.decision;

    const expected = independentBaseline(10, 360);
    expect(d.n_test_windows).toBe(expected.windows);
    expect(d.baseline.rmse).toBeCloseTo(expected.rmse, 0);
    expect(d.scoreboard.filter((e) => e.kind === "candidate" && e.status === "SCORED")).toHaveLength(3);
    for (const e of d.scoreboard.filter((r) => r.kind === "candidate")) {
      expect(Object.keys(e.per_horizon ?? {})).toEqual(["down", "up"]);
      expect(e.gate?.passed).toBe(e.gate?.failures.length === 0);
    }
    expect(d.baseline.per_horizon?.down?.mae).toHaveLength(1);
    expect(d.scoreboard.find((e) => e.kind === "seasonal")).toMatchObject({ model_type: "SEASONAL" });
    const best = d.scoreboard
      .filter((e) => e.kind === "candidate")
      .sort((x, y) => (x.score as number) - (y.score as number))[0];
    expect(d.winner?.run_id).toBe(best?.run_id);
    expect(d.promoted).toBe(true);

    const pointer = await getJson(ctx.s3, promotion(), promotionKeys.current(id), PromotionPointer);
    expect(pointer).toMatchObject({
      run_id: best?.run_id,
      config_hash: hash,
      model_uri: `s3://${artifacts()}/runs/${best?.run_id}/model.onnx`,
    });
    expect(
      await getJson(ctx.s3, promotion(), promotionKeys.configCurrent(id, hash), PromotionPointer),
    ).toMatchObject({ run_id: best?.run_id });
    const [selected] = await modelSelected.waitFor("model-selected", (m) => m.identifier === id);
    expect(selected).toMatchObject({ run_id: best?.run_id, config_hash: hash });

    // Redelivery of the same SUCCESS event: no second promotion.
    expect((await evaluateMessage(messages[2] as ModelTrainingMessage, ctx, settings)).status).toBe(
      "duplicate",
    );
    expect(await listKeys(ctx.s3, promotion(), promotionKeys.historyPrefix(id, hash))).toHaveLength(1);
    await modelSelected.syncToEnd();
    expect(modelSelected.matching((m) => m.identifier === id)).toHaveLength(1);
  }, 120_000);

  it("does not promote a candidate that fails to beat the current champion on the same test data", async () => {
    const id = uniqueId();
    const { result } = await preprocessSlice(id, FIXTURE_HORIZON);
    if (result.status === "ignored") throw new Error("unexpected");
    const first = await placeFixtureRun(ctx, id, result.config_hash, result.claim, "GRU");
    const always = loadEvaluateSettings({ EXPECTED_MODEL_TYPES: "GRU", PROMOTION_POLICY: "always" });
    const one = await evaluateMessage(first, ctx, always);
    if (one.status !== "decided") throw new Error("expected a decision");
    // A new lineage (salted) with the same model: its score ties the champion's, so it does not beat it.
    const salted = await preprocessObject(
      { bucket: raw(), key: `${id}/PobleSecSlice.csv`, size: null, eTag: null, eventName: "x" },
      ctx,
      loadPreprocessSettings({ EXTRA_HASH_SALT: "again", ...FIXTURE_HORIZON }),
    );
    if (salted.status === "ignored") throw new Error("unexpected");
    const challenger = await placeFixtureRun(ctx, id, salted.config_hash, salted.claim, "GRU");
    const strict = loadEvaluateSettings({
      EXPECTED_MODEL_TYPES: "GRU",
      PROMOTION_POLICY: "beat_baseline_and_champion",
    });
    const two = await evaluateMessage(challenger, ctx, strict);
    if (two.status !== "decided") throw new Error("expected a decision");
    const champion = two.decision.scoreboard.find((e) => e.kind === "champion");
    expect(champion).toMatchObject({ run_id: first.run_id, status: "SCORED" });
    expect(two.decision.promoted).toBe(false);
    // the fixture GRU beats persistence on this slice, so the champion is what stops it
    expect(one.decision.winner?.score).toBeLessThan(one.decision.baseline.score as number);
    expect(two.decision.reason).toMatch(/does not beat the current champion/);
    expect((await getJson(ctx.s3, promotion(), promotionKeys.current(id), PromotionPointer)).run_id).toBe(
      first.run_id,
    );
  }, 120_000);
});
