/**
 * batch-inference on real MinIO, Kafka and onnxruntime with the GRU fixture: the results equal the
 * single-request path (the inference service's /predict/batch) for the same rows; a scoring file with
 * gaps and NaN cells; through the local runtime (batch-inference and monitor): a claim check scored
 * and announced, a degraded file's drift recorded by monitor, and claim checks for a missing object
 * or an identifier without a champion sent to DLQ-inference-data with their reason.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scoreClaimCheck } from "../../functions/batch-inference/batch.ts";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import {
  batchResultRow,
  DlqEnvelope,
  DriftEvent,
  InferenceDataMessage,
  PerformanceEvalMessage,
} from "../../functions/common/contracts.ts";
import { publish } from "../../functions/common/kafka.ts";
import { getBytes, getJson, listKeys, parseS3Uri } from "../../functions/common/s3.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { type Runtime, startRuntime } from "../../local/runtime/runtime.ts";
import { pollUntil } from "../poll.ts";
import { cardOf, post, publishFixture, serveFixture } from "./inference-harness.ts";
import { sliceTestCsv, sliceTestScaled, TopicCollector, testContext, uniqueId } from "./pipeline-helpers.ts";
import { scratchDir, sql, stageScoring } from "./scoring-helpers.ts";

const HASH = "a".repeat(64);
const prefix = uniqueId("batch");
let ctx: StageContext;

/** The result Parquet of a run, read back from MinIO. */
async function results(uri: string): Promise<
  {
    ts: number;
    step: number;
    down: number;
    up: number;
    down_actual: number | null;
    up_actual: number | null;
  }[]
> {
  const { bucket, key } = parseS3Uri(uri);
  const path = join(scratchDir, `${key.replace(/\//g, "_")}`);
  writeFileSync(path, await getBytes(ctx.s3, bucket, key));
  // every column of the object, in its order: the contract's row, nothing more
  const cols = (
    await sql<unknown[]>(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${path}'))`)
  ).map((r) => String(r[0]));
  expect(cols).toEqual(["ts", "step", "down", "down_actual", "up", "up_actual"]);
  const row = batchResultRow(["down", "up"]);
  const rows = await sql<unknown[]>(
    `SELECT epoch_ms(ts), step, down, up, down_actual, up_actual FROM read_parquet('${path}') ORDER BY ts`,
  );
  return rows.map((r) => ({
    ...row.parse({
      ts: new Date(Number(r[0])),
      step: Number(r[1]),
      down: r[2],
      up: r[3],
      down_actual: r[4],
      up_actual: r[5],
    }),
    ts: Number(r[0]) / 1000,
    step: Number(r[1]),
    down: r[2] as number,
    up: r[3] as number,
    down_actual: r[4] as number | null,
    up_actual: r[5] as number | null,
  }));
}

const csvText = readFileSync(sliceTestCsv, "utf8");
const header = csvText.split("\n")[0] as string;
const lines = csvText.trim().split("\n").slice(1);

beforeAll(async () => {
  ctx = await testContext("it-batch");
});
afterAll(async () => {
  if (ctx) await closeStageContext(ctx);
});

describe("batch-inference module", () => {
  let service: InferenceService;
  const identifier = `${prefix}-same`;
  beforeAll(async () => {
    service = await serveFixture(identifier, `${prefix}-gru`, {
      MAX_BATCH_WINDOWS: "256",
      TS_MAX_DISTANCE_DAYS: "36500",
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("scores every window like /predict/batch does for the same rows (same model, float precision)", async () => {
    const claim = await stageScoring(ctx, identifier, HASH, csvText);
    const evaluation = PerformanceEvalMessage.parse(await scoreClaimCheck(claim, ctx));
    const card = cardOf("gru");
    const rows = lines.map((l) => l.split(","));
    const cols = header.split(",");
    // the slice has no gaps and no NaN: every start is a window
    expect(evaluation.n_windows).toBe(rows.length - card.window - card.horizon + 1);
    expect(evaluation.windows_skipped).toEqual({ gap: 0, non_finite: 0 });
    const got = await results(evaluation.output_uri);
    expect(got).toHaveLength(evaluation.n_windows * card.horizon);

    const windows = Array.from({ length: evaluation.n_windows }, (_, s) => {
      const data: Record<string, unknown> = {
        ts: rows.slice(s, s + card.window).map((r) => `${r[0]?.replace(" ", "T")}Z`),
      };
      for (const f of card.features)
        data[f] = rows.slice(s, s + card.window).map((r) => Number(r[cols.indexOf(f)]));
      return data;
    });
    let compared = 0;
    for (let from = 0; from < windows.length; from += 256) {
      const res = await post(service, "/predict/batch", {
        identifier,
        windows: windows.slice(from, from + 256),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        forecasts: { predictions: { ts: string; down: number; up: number }[] }[];
      };
      body.forecasts.forEach((f, i) => {
        const single = f.predictions[0] as { ts: string; down: number; up: number };
        const batch = got[from + i] as (typeof got)[number];
        expect(batch.ts).toBe(Date.parse(single.ts) / 1000);
        expect(Math.abs(batch.down - single.down)).toBeLessThanOrEqual(Math.abs(single.down) * 1e-6);
        expect(Math.abs(batch.up - single.up)).toBeLessThanOrEqual(Math.abs(single.up) * 1e-6);
        expect(batch.down_actual).toBe(
          Number((rows[from + i + card.window] as string[])[cols.indexOf("down")]),
        );
        compared++;
      });
    }
    expect(compared).toBe(evaluation.n_windows);
    // the session on the onnxruntime worker thread (SCORE_WORKER=1) gives the same rows
    const onWorker = await scoreClaimCheck(claim, {
      ...ctx,
      env: { ...ctx.env, SCORE_WORKER: "1", SCORE_BATCH_WINDOWS: "100" },
    });
    expect(onWorker.n_windows).toBe(evaluation.n_windows);
    expect(await results(onWorker.output_uri)).toEqual(got);
    // the message's metrics are those of the rows written
    const mae = got.reduce((s, r) => s + Math.abs(r.down - (r.down_actual as number)), 0) / got.length;
    expect(evaluation.metrics.down?.mae).toBeCloseTo(mae, 0);
    expect(Math.abs((evaluation.metrics.down?.mae as number) - mae) / mae).toBeLessThan(1e-6);
    const persist = got
      .slice(1)
      .reduce((s, r, i) => s + Math.abs((got[i]?.down_actual as number) - (r.down_actual as number)), 0);
    expect(evaluation.persistence.down?.mae).toBeGreaterThan(0);
    expect(evaluation.ratio.down).toBeCloseTo(
      (evaluation.metrics.down?.mae as number) / (evaluation.persistence.down?.mae as number),
      9,
    );
    expect(persist).toBeGreaterThan(0);
    expect(evaluation.drift.down?.reference_ratio).toBeCloseTo(
      (card.metrics.test.down?.mae as number) / (card.metrics.persistence.down?.mae as number),
      9,
    );
  });

  it("a scoring file with gaps and NaN cells: those windows are left out and counted, NaN actuals are not scored", async () => {
    const id = `${prefix}-holes`;
    await publishFixture("gru", `${prefix}-gru-holes`, id);
    const card = cardOf("gru");
    const cols = header.split(",");
    const kept = lines.filter((_, i) => !(i >= 100 && i < 103)); // a 8-minute gap after row 99
    const edited = kept.map((l, i) => {
      const cells = l.split(",");
      if (i === 200) cells[cols.indexOf("rnti_count")] = "NaN"; // a feature cell: windows covering row 200 go
      if (i === 300) cells[cols.indexOf("up")] = ""; // a target (and feature) cell left empty
      return cells.join(",");
    });
    const claim = await stageScoring(ctx, id, HASH, [header, ...edited].join("\n"));
    const evaluation = await scoreClaimCheck(claim, ctx);
    const span = card.window + card.horizon;
    const possible = kept.length - span + 1;
    // windows across the gap: those with a start in [100 - span + 1, 99]
    const gap = span - 1;
    // windows whose feature rows include row 200 or row 300 (not across the gap)
    const nonFinite = 2 * card.window;
    expect(evaluation.windows_skipped).toEqual({ gap, non_finite: nonFinite });
    expect(evaluation.n_windows).toBe(possible - gap - nonFinite);
    const got = await results(evaluation.output_uri);
    expect(got).toHaveLength(evaluation.n_windows);
    expect(got.every((r) => Number.isFinite(r.down) && Number.isFinite(r.up))).toBe(true);
    // row 300's `up` is the actual of the window ending at 299: written as null, left out of the metrics
    const nullUp = got.filter((r) => r.up_actual === null);
    expect(nullUp).toHaveLength(1);
    expect(got.filter((r) => r.down_actual === null)).toHaveLength(0);
  });
});

describe("batch-inference through the local runtime", () => {
  let runtime: Runtime;
  let dlq: TopicCollector;
  let evals: TopicCollector;
  beforeAll(async () => {
    runtime = await startRuntime({
      env: process.env,
      functions: ["batch-inference", "monitor"],
      groupSuffix: prefix,
      startAt: "latest",
      accept: (text, id) => (id ? id.startsWith(prefix) : text.includes(prefix)),
    });
    [dlq, evals] = await Promise.all([
      TopicCollector.start("DLQ-inference-data"),
      TopicCollector.start("performance-eval"),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([dlq?.stop(), evals?.stop()]);
    await runtime?.stop();
  });

  it("a claim check is scored and announced on performance-eval", async () => {
    const id = `${prefix}-rt`;
    await publishFixture("gru", `${prefix}-gru-rt`, id);
    const claim = await stageScoring(ctx, id, HASH, csvText);
    await publish(ctx.producer, "inference-data", InferenceDataMessage, claim, id);
    const [doc] = await evals.waitFor("the performance-eval message", (d) => d.identifier === id);
    const evaluation = PerformanceEvalMessage.parse(doc);
    expect(evaluation.run_id).toBe(`${prefix}-gru-rt`);
    expect(evaluation.n_windows).toBe(lines.length - 10);
  });

  it("values scaled by 3 past the first half: batch-inference, then monitor records one drift event", async () => {
    const id = `${prefix}-drift`;
    await publishFixture("gru", `${prefix}-gru-drift`, id);
    const claim = await stageScoring(ctx, id, HASH, sliceTestScaled(3));
    await publish(ctx.producer, "inference-data", InferenceDataMessage, claim, id);
    const [doc] = await evals.waitFor("the performance-eval message", (d) => d.identifier === id);
    const bucket = ctx.config.storage.buckets.promotion;
    const keys = await pollUntil("the drift event", async () => {
      const found = await listKeys(ctx.s3, bucket, `${id}/drift/`);
      return found.length > 0 ? found : null;
    });
    expect(keys).toHaveLength(1);
    const event = await getJson(ctx.s3, bucket, keys[0] as string, DriftEvent);
    expect(event.output_uri).toBe((doc as { output_uri: string }).output_uri);
    expect(event.targets.up?.drifted).toBe(true);
  });

  it("a claim check for a missing object, or an identifier without a champion, goes to the DLQ with its reason", async () => {
    const withModel = `${prefix}-missing`;
    await publishFixture("gru", `${prefix}-gru-missing`, withModel);
    const missing = {
      bucket: ctx.config.storage.buckets.processed,
      object_key: `${withModel}/score/${HASH}/nothing.parquet`,
      config_hash: HASH,
      identifier: withModel,
      v: 1,
      size: 1,
      purpose: "score",
    };
    const noChampion = `${prefix}-nochamp`;
    const orphan = await stageScoring(ctx, noChampion, HASH, csvText);
    await publish(
      ctx.producer,
      "inference-data",
      InferenceDataMessage,
      missing as InferenceDataMessage,
      withModel,
    );
    await publish(ctx.producer, "inference-data", InferenceDataMessage, orphan, noChampion);
    const envelopes = (
      await dlq.waitFor("both claim checks in the DLQ", (d) => String(d.value ?? "").includes(prefix), 2)
    ).map((d) => DlqEnvelope.parse(d));
    const byId = (id: string) => envelopes.find((e) => JSON.parse(e.value).identifier === id);
    expect(byId(withModel)?.error).toContain(`s3://${missing.bucket}/${missing.object_key} does not exist`);
    expect(byId(noChampion)?.error).toContain(`identifier '${noChampion}' has no champion`);
    expect(byId(noChampion)?.function).toBe("batch-inference");
    await evals.syncToEnd();
    expect(evals.matching((d) => d.identifier === withModel || d.identifier === noChampion)).toHaveLength(0);
  });
});
