/**
 * The ENSEMBLE in the flow, against real Kafka and MinIO (and onnxruntime for the candidates):
 * evaluate asks once the generation's types are terminal, train-dispatch starts one ENSEMBLE per
 * generation however often it is asked, and evaluate decides with it as one more candidate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StageContext } from "../../functions/common/context.ts";
import { closeStageContext } from "../../functions/common/context.ts";
import {
  DispatchGuard,
  ModelCard,
  type ModelTrainingMessage,
  RunRecord,
  TrainerJobSpec,
  TrainingDataMessage,
} from "../../functions/common/contracts.ts";
import { evaluationKeys, guardKeys, runKeys } from "../../functions/common/keys.ts";
import { exists, getJson, listKeys, putJson } from "../../functions/common/s3.ts";
import { EnsembleAsk, ensembleRunId } from "../../functions/evaluate/ensemble-request.ts";
import { evaluateMessage } from "../../functions/evaluate/evaluate.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import { generationOf } from "../../functions/evaluate/state.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { dispatchTraining } from "../../functions/train-dispatch/dispatch.ts";
import { loadDispatchSettings } from "../../functions/train-dispatch/settings.ts";
import {
  placeFixtureRun,
  TopicCollector,
  testContext,
  uniqueId,
  uploadAndPreprocess,
} from "./pipeline-helpers.ts";

let ctx: StageContext;
let trainingData: TopicCollector;
let modelTraining: TopicCollector;
const launched: TrainerJobSpec[] = [];

beforeAll(async () => {
  ctx = await testContext("it-ensemble");
  [trainingData, modelTraining] = await Promise.all([
    TopicCollector.start("training-data"),
    TopicCollector.start("model-training"),
  ]);
  // The `local` backend records what it is asked to start (this file tests the flow, not the trainer).
  registerTrainerLauncher("local", {
    launch: async (spec) => {
      launched.push(spec);
      return { backend: "local", handle: `recorded-${launched.length}` };
    },
  });
});
afterAll(async () => {
  await Promise.all([trainingData?.stop(), modelTraining?.stop()]);
  if (ctx) await closeStageContext(ctx);
});

const artifacts = () => ctx.config.storage.buckets.artifacts;

/** The slice preprocessed at horizon 1 (the fixture models' horizon). */
async function preprocessSlice(id: string) {
  const { result } = await uploadAndPreprocess(ctx, ctx.config.storage.buckets.raw, id, { HORIZON: "1" });
  if (result.status === "ignored") throw new Error("the slice was ignored");
  return result;
}

/** A fixture run whose card says its validation predictions are out of sample (or not). */
async function placeMember(
  id: string,
  hash: string,
  claim: unknown,
  type: "GRU" | "LSTM" | "PROPHET",
  oos: boolean,
) {
  const message = await placeFixtureRun(ctx, id, hash, claim, type);
  const key = runKeys.card(message.run_id);
  const card = await getJson(ctx.s3, artifacts(), key, ModelCard);
  await putJson(ctx.s3, artifacts(), key, { ...card, validation: { n_windows: 200, out_of_sample: oos } });
  return message;
}

function claimWithEnsemble(claim: TrainingDataMessage, generation: string, members: ModelTrainingMessage[]) {
  return TrainingDataMessage.parse({
    ...claim,
    ensemble: { generation, members: members.map((m) => ({ run_id: m.run_id, model_type: m.model_type })) },
  });
}

describe("train-dispatch on an ensemble claim check", () => {
  it("starts the generation's one ENSEMBLE (and nothing else), even when asked twice at once", async () => {
    const id = uniqueId();
    const { claim, config_hash: hash } = await preprocessSlice(id);
    const members = [
      await placeMember(id, hash, claim, "GRU", true),
      await placeMember(id, hash, claim, "LSTM", true),
    ];
    const generation = generationOf(members.map((m) => m.run_id));
    const ask = claimWithEnsemble(claim, generation, members);
    // EXPECTED naming ENSEMBLE changes nothing: only an ask starts one.
    const settings = loadDispatchSettings({ EXPECTED_MODEL_TYPES: "GRU,ENSEMBLE", TRAINER_BACKEND: "local" });
    const [a, b] = await Promise.all([
      dispatchTraining(ask, ctx, settings),
      dispatchTraining(ask, ctx, settings),
    ]);
    const runId = ensembleRunId(id, hash, generation);
    expect([...a.dispatched, ...b.dispatched]).toEqual([
      { model_type: "ENSEMBLE", run_id: runId, backend: "local", launched: true, error: null },
    ]);
    expect([...a.skipped, ...b.skipped]).toEqual([{ model_type: "ENSEMBLE", run_id: runId }]);

    const spec = await getJson(ctx.s3, artifacts(), runKeys.job(runId), TrainerJobSpec);
    expect(spec.model_type).toBe("ENSEMBLE");
    expect(spec.ensemble).toEqual(ask.ensemble);
    expect(spec.training_data).not.toHaveProperty("ensemble");
    expect(launched.filter((s) => s.run_id === runId)).toHaveLength(1);
    const record = await getJson(ctx.s3, artifacts(), runKeys.record(runId), RunRecord);
    expect(record).toMatchObject({ model_type: "ENSEMBLE", status: "RUNNING", backend: "local" });
    expect(
      await getJson(ctx.s3, artifacts(), guardKeys.ensemble(hash, generation), DispatchGuard),
    ).toMatchObject({
      run_id: runId,
      model_type: "ENSEMBLE",
    });
    const [running] = await modelTraining.waitFor("the ENSEMBLE's RUNNING", (m) => m.run_id === runId);
    expect(running).toMatchObject({ status: "RUNNING", model_type: "ENSEMBLE", identifier: id });

    // The plain claim check never starts an ENSEMBLE.
    const plain = await dispatchTraining(claim, ctx, settings);
    expect(plain.dispatched.map((d) => d.model_type)).toEqual(["GRU"]);
  }, 60_000);

  it("writes _FAILED when the ENSEMBLE's backend cannot launch it", async () => {
    const id = uniqueId();
    const { claim, config_hash: hash } = await preprocessSlice(id);
    const members = [
      await placeMember(id, hash, claim, "GRU", true),
      await placeMember(id, hash, claim, "PROPHET", true),
    ];
    const generation = generationOf(members.map((m) => m.run_id));
    // TRAINER_BACKENDS names ENSEMBLE; the lambda launcher has no TRAINER_LAMBDA_FUNCTION here.
    const settings = loadDispatchSettings({ TRAINER_BACKEND: "local", TRAINER_BACKENDS: "ENSEMBLE=lambda" });
    const out = await dispatchTraining(claimWithEnsemble(claim, generation, members), ctx, settings);
    const runId = ensembleRunId(id, hash, generation);
    expect(out.dispatched).toMatchObject([
      { model_type: "ENSEMBLE", run_id: runId, backend: "lambda", launched: false },
    ]);
    expect(out.dispatched[0]?.error).toMatch(/TRAINER_LAMBDA_FUNCTION/);
    expect(await exists(ctx.s3, artifacts(), runKeys.failed(runId))).toBe(true);
  }, 60_000);
});

describe("evaluate asks for the ENSEMBLE and decides with it", () => {
  it("asks once the types are terminal, waits for the ENSEMBLE, and scores a FAILED one as a failed row", async () => {
    const id = uniqueId();
    const { claim, config_hash: hash } = await preprocessSlice(id);
    const settings = loadEvaluateSettings({
      EXPECTED_MODEL_TYPES: "GRU,LSTM,PROPHET",
      PROMOTION_POLICY: "always",
    });
    const gru = await placeMember(id, hash, claim, "GRU", true);
    const lstm = await placeMember(id, hash, claim, "LSTM", true);
    const prophet = await placeMember(id, hash, claim, "PROPHET", false);
    const generation = generationOf([gru.run_id, lstm.run_id, prophet.run_id]);
    const runId = ensembleRunId(id, hash, generation);

    expect(await evaluateMessage(gru, ctx, settings)).toMatchObject({
      status: "waiting",
      pending: ["LSTM", "PROPHET"],
    });
    await evaluateMessage(lstm, ctx, settings);
    expect(await evaluateMessage(prophet, ctx, settings)).toMatchObject({
      status: "waiting",
      pending: ["ENSEMBLE"],
    });
    const ask = await getJson(
      ctx.s3,
      artifacts(),
      evaluationKeys.ensembleFor(id, hash, generation),
      EnsembleAsk,
    );
    expect(ask).toMatchObject({ run_id: runId, ensemble: { generation } });
    // PROPHET's validation is not out of sample: it is no member.
    expect(ask.ensemble.members).toEqual([
      { run_id: gru.run_id, model_type: "GRU" },
      { run_id: lstm.run_id, model_type: "LSTM" },
    ]);
    const [published] = await trainingData.waitFor("the ask", (m) => m.identifier === id && !!m.ensemble);
    expect(TrainingDataMessage.parse(published)).toEqual({ ...claim, ensemble: ask.ensemble });

    // A redelivery asks again (same members); train-dispatch starts one ENSEMBLE for both asks.
    expect((await evaluateMessage(prophet, ctx, settings)).status).toBe("waiting");
    await trainingData.syncToEnd();
    const asks = trainingData
      .matching((m) => m.identifier === id && !!m.ensemble)
      .map((m) => TrainingDataMessage.parse(m));
    expect(asks).toHaveLength(2);
    const dispatch = loadDispatchSettings({ TRAINER_BACKEND: "local" });
    const results = await Promise.all(asks.map((a) => dispatchTraining(a, ctx, dispatch)));
    expect(results.flatMap((r) => r.dispatched).map((d) => d.run_id)).toEqual([runId]);

    const [running] = await modelTraining.waitFor("RUNNING", (m) => m.run_id === runId);
    expect(await evaluateMessage(running as ModelTrainingMessage, ctx, settings)).toMatchObject({
      status: "waiting",
      pending: ["ENSEMBLE"],
    });
    const failed: ModelTrainingMessage = {
      ...(running as ModelTrainingMessage),
      status: "FAILED",
      error: "fewer than 2 usable members",
    };
    const decided = await evaluateMessage(failed, ctx, settings);
    if (decided.status !== "decided") throw new Error(`expected a decision, got ${decided.status}`);
    const d = decided.decision;
    expect(d.generation).toBe(generation);
    expect(d.runs).toEqual([gru.run_id, lstm.run_id, prophet.run_id, runId].sort());
    expect(d.scoreboard.find((e) => e.run_id === runId)).toMatchObject({
      model_type: "ENSEMBLE",
      kind: "candidate",
      status: "FAILED",
      error: "fewer than 2 usable members",
    });
    expect(d.scoreboard.filter((e) => e.kind === "candidate" && e.status === "SCORED")).toHaveLength(3);
    expect(await evaluateMessage(failed, ctx, settings)).toMatchObject({ status: "duplicate" });
  }, 120_000);

  it("decides at once with too few out-of-sample members, or with BUILD_ENSEMBLE off", async () => {
    const id = uniqueId();
    const { claim, config_hash: hash } = await preprocessSlice(id);
    const gru = await placeMember(id, hash, claim, "GRU", true);
    const lstm = await placeMember(id, hash, claim, "LSTM", false);
    const few = loadEvaluateSettings({ EXPECTED_MODEL_TYPES: "GRU,LSTM", PROMOTION_POLICY: "always" });
    await evaluateMessage(gru, ctx, few);
    expect((await evaluateMessage(lstm, ctx, few)).status).toBe("decided");

    const id2 = uniqueId();
    const second = await preprocessSlice(id2);
    const a = await placeMember(id2, second.config_hash, second.claim, "GRU", true);
    const b = await placeMember(id2, second.config_hash, second.claim, "LSTM", true);
    const off = loadEvaluateSettings({
      EXPECTED_MODEL_TYPES: "GRU,LSTM",
      PROMOTION_POLICY: "always",
      BUILD_ENSEMBLE: "0",
    });
    await evaluateMessage(a, ctx, off);
    expect((await evaluateMessage(b, ctx, off)).status).toBe("decided");
    for (const [ident, h] of [
      [id, hash],
      [id2, second.config_hash],
    ] as const)
      expect(
        (await listKeys(ctx.s3, artifacts(), evaluationKeys.prefix(ident, h))).some((k) =>
          k.endsWith(".ensemble.json"),
        ),
      ).toBe(false);
  }, 120_000);

  it("decides without the ENSEMBLE once EVAL_DEADLINE_SECONDS passed since it was asked for", async () => {
    const id = uniqueId();
    const { claim, config_hash: hash } = await preprocessSlice(id);
    const gru = await placeMember(id, hash, claim, "GRU", true);
    const lstm = await placeMember(id, hash, claim, "LSTM", true);
    const waiting = loadEvaluateSettings({ EXPECTED_MODEL_TYPES: "GRU,LSTM", PROMOTION_POLICY: "always" });
    expect((await evaluateMessage(gru, ctx, waiting)).status).toBe("waiting");
    const settings = loadEvaluateSettings({
      EXPECTED_MODEL_TYPES: "GRU,LSTM",
      PROMOTION_POLICY: "always",
      EVAL_DEADLINE_SECONDS: "0",
    });
    expect(await evaluateMessage(lstm, ctx, settings)).toMatchObject({
      status: "waiting",
      pending: ["ENSEMBLE"],
    });
    // Nobody dispatched it: the next message (a redelivery, or the sweeper's nudge) decides.
    const decided = await evaluateMessage(lstm, ctx, settings);
    if (decided.status !== "decided") throw new Error(`expected a decision, got ${decided.status}`);
    expect(decided.decision.deadline_passed).toBe(true);
    expect(decided.decision.scoreboard.find((e) => e.model_type === "ENSEMBLE")).toMatchObject({
      status: "MISSING",
      error: "no run reported",
    });
  }, 120_000);
});
