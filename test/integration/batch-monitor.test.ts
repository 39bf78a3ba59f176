/**
 * monitor on real MinIO with real batch-inference results (GRU fixture, onnxruntime): a scoring file
 * whose values are scaled by 3 past its first half drifts and is recorded once (a redelivered
 * message records nothing new); the same file unscaled does not; the ratio at promotion comes from
 * evaluate's decision record when it names the run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scoreClaimCheck } from "../../functions/batch-inference/batch.ts";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import {
  DriftEvent,
  EvaluationDecision,
  type PerformanceEvalMessage,
} from "../../functions/common/contracts.ts";
import { evaluationKeys } from "../../functions/common/keys.ts";
import { getJson, listKeys, putJson } from "../../functions/common/s3.ts";
import { monitorMessage } from "../../functions/monitor/monitor.ts";
import { cardOf, publishFixture } from "./inference-harness.ts";
import { sliceTestScaled, testContext, uniqueId } from "./pipeline-helpers.ts";
import { stageScoring } from "./scoring-helpers.ts";

const HASH = "c".repeat(64);
const prefix = uniqueId("monitor");
let ctx: StageContext;

async function scored(identifier: string, factor: number): Promise<PerformanceEvalMessage> {
  await publishFixture("gru", `${identifier}-gru`, identifier);
  return scoreClaimCheck(await stageScoring(ctx, identifier, HASH, sliceTestScaled(factor)), ctx);
}

beforeAll(async () => {
  ctx = await testContext("it-monitor");
});
afterAll(async () => {
  if (ctx) await closeStageContext(ctx);
});

describe("monitor", () => {
  it("values scaled by 3 past the first half: drift recorded once, a redelivery records nothing new", async () => {
    const id = `${prefix}-x3`;
    const message = await scored(id, 3);
    // measured: `up` goes from 0.90 of persistence's MAE to 1.26 (x1.40); `down` barely moves (x1.02)
    expect(message.ratio.up as number).toBeGreaterThan(1.15 * (message.drift.up?.reference_ratio as number));
    const first = await monitorMessage(message, ctx);
    expect(first.status).toBe("drift");
    if (first.status !== "drift") return;
    expect(first.recorded).toBe(true);
    expect(first.event.reference).toBe("card");
    expect(first.event.targets.up?.drifted).toBe(true);
    expect(first.event.targets.down?.drifted).toBe(false);
    const again = await monitorMessage(message, ctx);
    expect(again.status === "drift" && again.recorded).toBe(false);
    const keys = await listKeys(ctx.s3, ctx.config.storage.buckets.promotion, `${id}/drift/`);
    expect(keys).toEqual([first.key]);
    const stored = await getJson(ctx.s3, ctx.config.storage.buckets.promotion, first.key, DriftEvent);
    expect(stored.output_uri).toBe(message.output_uri);
    expect(stored.threshold).toBe(1.15);
  });

  it("the same file unscaled does not drift and records nothing", async () => {
    const id = `${prefix}-x1`;
    const message = await scored(id, 1);
    const result = await monitorMessage(message, ctx);
    expect(result).toEqual({ status: "ok", reference: "card" });
    expect(await listKeys(ctx.s3, ctx.config.storage.buckets.promotion, `${id}/drift/`)).toEqual([]);
  });

  it("the ratio at promotion comes from the decision record when it names the run", async () => {
    const id = `${prefix}-decided`;
    const message = await scored(id, 3);
    const card = cardOf("gru");
    const test = card.metrics.test;
    const persistence = card.metrics.persistence;
    // a decision whose run was 100x worse than persistence at promotion: the live ratio is no drift against it
    const worse = Object.fromEntries(
      Object.entries(persistence).map(([t, m]) => [
        t,
        { mae: m.mae * 100, rmse: m.rmse * 100, mse: m.mse * 10_000 },
      ]),
    );
    const entry = {
      run_id: message.run_id,
      model_type: "GRU",
      kind: "candidate",
      status: "SCORED",
      score: 1,
      rmse: 1,
      mae: 1,
      mse: 1,
      per_target: worse,
    };
    const baseline = {
      run_id: "persistence",
      model_type: "PERSISTENCE",
      kind: "baseline",
      status: "SCORED",
      score: 1,
      rmse: 1,
      mae: 1,
      mse: 1,
      per_target: persistence,
    };
    const decision = EvaluationDecision.parse({
      v: 1,
      identifier: id,
      config_hash: message.config_hash,
      generation: "0123456789abcdef",
      runs: [message.run_id],
      decided_at: new Date().toISOString(),
      policy: "always",
      expected: ["GRU"],
      deadline_passed: false,
      n_test_windows: 1,
      scoreboard: [entry, baseline],
      baseline,
      winner: { run_id: message.run_id, model_type: "GRU", score: 1 },
      promoted: true,
      reason: "test",
      pointer: null,
      previous: null,
      history_key: null,
    });
    expect(Object.keys(test)).toEqual(Object.keys(persistence));
    await putJson(
      ctx.s3,
      ctx.config.storage.buckets.artifacts,
      evaluationKeys.decision(id, message.config_hash),
      decision,
    );
    const result = await monitorMessage(message, ctx);
    expect(result).toEqual({ status: "ok", reference: "decision" });
  });
});
