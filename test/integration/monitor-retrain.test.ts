/**
 * Retraining on drift on real MinIO, DuckDB and onnxruntime: a champion (the GRU fixture as a run of
 * a really preprocessed slice), a scoring file whose values are scaled by 3 past its first half
 * preprocessed with the champion's configuration and scored; with RETRAIN_ON_DRIFT=1 the monitor
 * uploads one retraining series (history with the scored rows in place), a second drifting result
 * against the same champion starts nothing new, and the series preprocesses as a new training
 * generation of the identifier. Then `npm run score` with RETRAIN_ON_DRIFT=1 (PROPHET the one expected
 * type, PROMOTION_POLICY=always): drift, the series, one generation trained, evaluated and promoted.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scoreClaimCheck } from "../../functions/batch-inference/batch.ts";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { type InferenceDataMessage, PromotionPointer } from "../../functions/common/contracts.ts";
import { parseRawKey, promotionKeys, rawKeys, rawScoreKey, runKeys } from "../../functions/common/keys.ts";
import { getBytes, getJson, listKeys, putBytes, putJson, s3Uri } from "../../functions/common/s3.ts";
import { monitorMessage } from "../../functions/monitor/monitor.ts";
import { preprocessObject, preprocessUpload } from "../../functions/preprocess/preprocess.ts";
import type { ScoreSummary } from "../../local/score/run.ts";
import { lastJsonLine, runCli } from "../cli-process.ts";
import {
  placeFixtureRun,
  sliceCsv,
  sliceTestCsv,
  sliceTestScaled,
  stageAndPreprocess,
  testContext,
  uniqueId,
} from "./pipeline-helpers.ts";
import { scratchDir } from "./scoring-helpers.ts";

type ScoreMonitor = ScoreSummary["monitor"];

const id = uniqueId("retrain");
let ctx: StageContext;
let champion: PromotionPointer;

const [header, ...testLines] = readFileSync(sliceTestCsv, "utf8").trim().split("\n") as [string, ...string[]];
const historyRows = [sliceCsv, sliceTestCsv].reduce(
  (n, path) => n + readFileSync(path, "utf8").trim().split("\n").length - 1,
  0,
);

async function scoreUpload(file: string) {
  const raw = ctx.config.storage.buckets.raw;
  const key = rawScoreKey(id, file);
  await putBytes(ctx.s3, raw, key, sliceTestScaled(3), "text/csv");
  const result = await preprocessUpload(
    { bucket: raw, key, size: null, eTag: null, eventName: "ObjectCreated:Put" },
    ctx,
  );
  const claim = (result as { claim?: InferenceDataMessage }).claim;
  if (!claim) throw new Error(`score upload ${key} was not announced: ${JSON.stringify(result)}`);
  return scoreClaimCheck(claim, ctx);
}

/** The GRU fixture promoted as the champion of a really preprocessed slice of `identifier`. */
async function promoteFixtureChampion(identifier: string): Promise<PromotionPointer> {
  const staged = await stageAndPreprocess(ctx, identifier);
  const run = await placeFixtureRun(ctx, identifier, staged.config_hash, staged.claim, "GRU");
  const artifacts = ctx.config.storage.buckets.artifacts;
  const pointer: PromotionPointer = {
    model_uri: s3Uri(artifacts, runKeys.onnx(run.run_id)),
    card_uri: s3Uri(artifacts, runKeys.card(run.run_id)),
    run_id: run.run_id,
    model_type: "GRU",
    config_hash: staged.config_hash,
    identifier,
    scope: identifier,
    score: 0,
    promoted_at: new Date().toISOString(),
  };
  await putJson(ctx.s3, ctx.config.storage.buckets.promotion, promotionKeys.current(identifier), pointer);
  return pointer;
}

beforeAll(async () => {
  ctx = await testContext("it-retrain", { RETRAIN_ON_DRIFT: "1" });
  champion = await promoteFixtureChampion(id);
}, 120_000);

afterAll(async () => {
  if (ctx) await closeStageContext(ctx);
});

describe("retraining on drift (RETRAIN_ON_DRIFT=1)", () => {
  it("one drifting result uploads one retraining series; a second starts nothing new", async () => {
    const raw = ctx.config.storage.buckets.raw;
    const first = await monitorMessage(await scoreUpload("scaled.csv"), ctx);
    expect(first.status).toBe("drift");
    if (first.status !== "drift") return;
    const seriesKey = rawKeys.retrain(id, champion.run_id);
    expect(first.retraining).toEqual({ uri: s3Uri(raw, seriesKey), started: true, rows: historyRows });

    const csv = new TextDecoder()
      .decode(await getBytes(ctx.s3, raw, seriesKey))
      .trim()
      .split("\n");
    expect(csv).toHaveLength(historyRows + 1);
    const columns = (csv[0] as string).split(",");
    expect(new Set(columns)).toEqual(new Set(header.split(",")));
    // the scored rows replace the history's at the same times: the last row is the scaled one
    const last = (testLines.at(-1) as string).split(",");
    const lastOut = (csv.at(-1) as string).split(",");
    const up = header.split(",").indexOf("up");
    expect(Number(lastOut[columns.indexOf("up")])).toBeCloseTo(Number(last[up]) * 3, 6);

    const second = await monitorMessage(await scoreUpload("scaled-again.csv"), ctx);
    expect(second.status === "drift" && second.retraining).toEqual({
      uri: s3Uri(raw, seriesKey),
      started: false,
      rows: null,
    });
    const retrainSeries = (await listKeys(ctx.s3, raw, rawKeys.prefix(id))).filter(
      (k) => parseRawKey(k)?.kind === "series",
    );
    expect(retrainSeries).toEqual([seriesKey]);
  });

  it("the retraining series preprocesses as a new training generation of the identifier", async () => {
    const raw = ctx.config.storage.buckets.raw;
    const result = await preprocessObject(
      {
        bucket: raw,
        key: rawKeys.retrain(id, champion.run_id),
        size: null,
        eTag: null,
        eventName: "ObjectCreated:Put",
      },
      ctx,
    );
    expect(result.status).toBe("processed");
    const claim = (result as { claim?: { config_hash: string; identifier: string } }).claim;
    expect(claim?.identifier).toBe(id);
    expect(claim?.config_hash).not.toBe(champion.config_hash);
  });
});

describe("npm run score with RETRAIN_ON_DRIFT=1", () => {
  it("drift starts one retraining, followed to its decision; the summary says so", async () => {
    const cliId = uniqueId("retrain-cli");
    const cliChampion = await promoteFixtureChampion(cliId);
    const data = join(scratchDir, "scaled-by-3.csv");
    writeFileSync(data, sliceTestScaled(3));
    const run = await runCli("local/score-cli.ts", ["--data", data, "--identifier", cliId], {
      env: { RETRAIN_ON_DRIFT: "1", EXPECTED_MODEL_TYPES: "PROPHET", PROMOTION_POLICY: "always", CI: "true" },
      timeoutMs: 400_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const summary = lastJsonLine<{ monitor: ScoreMonitor }>(run.stdout);
    const raw = ctx.config.storage.buckets.raw;
    const seriesUri = s3Uri(raw, rawKeys.retrain(cliId, cliChampion.run_id));
    expect(summary.monitor.status).toBe("drift");
    expect(summary.monitor.drift_uri).toMatch(
      new RegExp(`/${cliId}/drift/${cliChampion.run_id}-[0-9a-f]{16}\\.json$`),
    );
    expect(summary.monitor.retraining?.series_uri).toBe(seriesUri);
    expect(summary.monitor.retraining?.started).toBe(true);
    const pipeline = summary.monitor.retraining?.pipeline;
    expect(pipeline?.identifier).toBe(cliId);
    expect(pipeline?.config_hash).not.toBe(cliChampion.config_hash);
    expect(pipeline?.runs.map((r) => [r.model_type, r.status])).toEqual([["PROPHET", "SUCCESS"]]);
    expect(pipeline?.promoted?.model_type).toBe("PROPHET");
    const pointer = await getJson(
      ctx.s3,
      ctx.config.storage.buckets.promotion,
      promotionKeys.current(cliId),
      PromotionPointer,
    );
    expect(pointer.config_hash).toBe(pipeline?.config_hash);
  });
});
