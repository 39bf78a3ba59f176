/**
 * The local runtime end to end on real Kafka and MinIO: consumer groups per function, MinIO
 * notifications as S3 events, retries and DLQs, and the one-promotion guarantees. One runtime serves
 * the file; it only handles identifiers of this file (prefix), with PROPHET as the only expected type
 * (the fastest real trainer) and PROMOTION_POLICY=always so every decision promotes.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { DlqEnvelope, EvaluationDecision, ModelTrainingMessage } from "../../functions/common/contracts.ts";
import { publish } from "../../functions/common/kafka.ts";
import { evaluationKeys, promotionKeys } from "../../functions/common/keys.ts";
import { getJsonIfExists, listKeys, putBytes } from "../../functions/common/s3.ts";
import { ensureTrainerVenv, venvPython } from "../../local/python-env.ts";
import type { Outcome } from "../../local/runtime/consumer.ts";
import { type Runtime, startRuntime } from "../../local/runtime/runtime.ts";
import { pollUntil } from "../poll.ts";
import {
  placeFixtureRun,
  sliceCsv,
  sliceTestCsv,
  stageAndPreprocess,
  TopicCollector,
  testContext,
  uniqueId,
} from "./pipeline-helpers.ts";

const filePrefix = uniqueId("rt");
const env = { EXPECTED_MODEL_TYPES: "PROPHET", PROMOTION_POLICY: "always", TRAINER_BACKEND: "local" };
let ctx: StageContext;
let runtime: Runtime;
const outcomes: Outcome<unknown>[] = [];
let modelSelected: TopicCollector;
let dlqTraining: TopicCollector;
let dlqS3: TopicCollector;
const twiceId = `${filePrefix}-twice`;
let twiceStaged: Awaited<ReturnType<typeof stageAndPreprocess>>;

beforeAll(async () => {
  ctx = await testContext("it-runtime", env);
  // Staged before the runtime starts (at the latest offsets), so its claim dispatches no real run that
  // would race the SUCCESS event the test publishes.
  twiceStaged = await stageAndPreprocess(ctx, twiceId);
  runtime = await startRuntime({
    env: { ...process.env, ...env },
    groupSuffix: filePrefix,
    startAt: "latest",
    accept: (text, id) => (id ? id.startsWith(filePrefix) : text.includes(filePrefix)),
    trainer: { python: venvPython(await ensureTrainerVenv()), concurrency: 1 },
  });
  runtime.events.on("outcome", (o: Outcome<unknown>) => outcomes.push(o));
  // after the runtime, which creates the DLQ topics it needs
  [modelSelected, dlqTraining, dlqS3] = await Promise.all([
    TopicCollector.start("model-selected"),
    TopicCollector.start("DLQ-training-data"),
    TopicCollector.start("DLQ-s3-events"),
  ]);
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await Promise.all([modelSelected?.stop(), dlqTraining?.stop(), dlqS3?.stop()]);
  if (ctx) await closeStageContext(ctx);
});

const of = (fn: string, id: string) =>
  outcomes.filter(
    (o) => o.function === fn && JSON.stringify(o.ok ? [o.input, o.result] : [o.input, o.error]).includes(id),
  );

const decisionOf = (id: string, hash: string) =>
  getJsonIfExists(
    ctx.s3,
    ctx.config.storage.buckets.artifacts,
    evaluationKeys.decision(id, hash),
    EvaluationDecision,
  );

const published = (id: string, hash: string) =>
  listKeys(ctx.s3, ctx.config.storage.buckets.artifacts, evaluationKeys.published(id, hash)).then((k) =>
    k.length ? true : null,
  );

describe("local runtime (real Kafka, MinIO notifications, Python trainer)", () => {
  it("turns a duplicated S3 upload into one run and one promotion", async () => {
    const id = `${filePrefix}-dup`;
    const raw = ctx.config.storage.buckets.raw;
    await putBytes(ctx.s3, raw, `${id}/PobleSecSlice_test.csv`, readFileSync(sliceTestCsv));
    await putBytes(ctx.s3, raw, `${id}/PobleSecSlice.csv`, readFileSync(sliceCsv));
    await putBytes(ctx.s3, raw, `${id}/PobleSecSlice.csv`, readFileSync(sliceCsv)); // the same event again

    const pre = await pollUntil("two preprocess outcomes", () => {
      const found = of("preprocess", id).filter(
        (o) => o.ok && (o.result as { status: string }).status !== "ignored",
      );
      return found.length >= 2 ? found : null;
    });
    const statuses = pre.map((o) => (o.ok ? (o.result as { status: string }).status : "error")).sort();
    expect(statuses).toEqual(["processed", "skipped_idempotent"]);
    const hash = (pre[0] as { result: { config_hash: string } }).result.config_hash;

    await pollUntil("the promotion to be published", () => published(id, hash), { timeoutMs: 180_000 });
    const dispatches = of("train-dispatch", id).map((o) =>
      o.ok ? (o.result as { dispatched: unknown[]; skipped: unknown[] }) : null,
    );
    expect(dispatches.map((d) => [d?.dispatched.length, d?.skipped.length]).sort()).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const runDirs = new Set(
      (await listKeys(ctx.s3, ctx.config.storage.buckets.artifacts, `runs/${id}-`)).map(
        (k) => k.split("/")[1],
      ),
    );
    expect(runDirs.size).toBe(1);
    expect(
      await listKeys(ctx.s3, ctx.config.storage.buckets.promotion, promotionKeys.historyPrefix(id, hash)),
    ).toHaveLength(1);
    const decision = await decisionOf(id, hash);
    expect(decision?.promoted).toBe(true);
    expect(decision?.scoreboard.map((e) => e.kind).sort()).toEqual(["baseline", "candidate", "seasonal"]);
    await modelSelected.syncToEnd();
    expect(modelSelected.matching((m) => m.identifier === id)).toHaveLength(1);
  }, 240_000);

  it("promotes exactly once when the same model-training SUCCESS event is published twice", async () => {
    const id = twiceId;
    const staged = twiceStaged;
    const success = ModelTrainingMessage.parse(
      await placeFixtureRun(ctx, id, staged.config_hash, staged.claim, "PROPHET"),
    );
    await publish(ctx.producer, "model-training", ModelTrainingMessage, success, id);
    await publish(ctx.producer, "model-training", ModelTrainingMessage, success, id);

    const evaluated = await pollUntil("two evaluate outcomes for the published event", () => {
      const found = of("evaluate", success.run_id).filter(
        (o) => o.input && (o.input as { status: string }).status === "SUCCESS",
      );
      return found.length >= 2 ? found : null;
    });
    expect(evaluated.map((o) => (o.ok ? (o.result as { status: string }).status : o.error)).sort()).toEqual([
      "decided",
      "duplicate",
    ]);
    expect(of("train-dispatch", id)).toEqual([]);
    expect(
      await listKeys(
        ctx.s3,
        ctx.config.storage.buckets.promotion,
        promotionKeys.historyPrefix(id, staged.config_hash),
      ),
    ).toHaveLength(1);
    await modelSelected.syncToEnd();
    expect(modelSelected.matching((m) => m.identifier === id)).toHaveLength(1);
  }, 120_000);

  it("sends poison messages to DLQ-training-data and goes on with the next message", async () => {
    const id = `${filePrefix}-poison`;
    const staged = await stageAndPreprocess(ctx, id);
    await ctx.producer.send({ topic: "training-data", messages: [{ value: `not json at all ${id}` }] });
    await ctx.producer.send({
      topic: "training-data",
      messages: [{ value: JSON.stringify({ identifier: id, bucket: 5 }) }],
    });
    await ctx.producer.send({ topic: "training-data", messages: [{ value: JSON.stringify(staged.claim) }] });

    const dead = await dlqTraining.waitFor("two DLQ envelopes", (m) => String(m.value ?? "").includes(id), 2);
    for (const doc of dead) {
      const envelope = DlqEnvelope.parse(doc);
      expect(envelope).toMatchObject({
        source_topic: "training-data",
        function: "train-dispatch",
        attempts: 1,
      });
      expect(envelope.error).toMatch(/invalid message/);
    }
    expect(dead.map((d) => String(d.error)).join(" ")).toMatch(/config_hash/); // the schema failure names fields
    // the valid claim behind them is handled after both (the staged preprocess had emitted it once before)
    const dispatchIndex = (ok: boolean) =>
      outcomes
        .map((o, i) =>
          o.function === "train-dispatch" && o.ok === ok && JSON.stringify(o).includes(id) ? i : -1,
        )
        .filter((i) => i >= 0);
    await pollUntil("the claim after the poison to be handled", () =>
      dispatchIndex(true).length >= 2 ? true : null,
    );
    expect(Math.max(...dispatchIndex(true))).toBeGreaterThan(Math.max(...dispatchIndex(false)));
    // ... and the pipeline runs on through training to a decision
    await pollUntil("the decision after the poison", () => published(id, staged.config_hash), {
      timeoutMs: 180_000,
    });
    expect(
      (await decisionOf(id, staged.config_hash))?.scoreboard.find((e) => e.kind === "candidate")?.status,
    ).toBe("SCORED");
  }, 240_000);

  it("retries a failing message with backoff, then sends it to the DLQ with the attempt count", async () => {
    const id = `${filePrefix}-retry`;
    // A valid SUCCESS event for a data set that was never processed: evaluate cannot find its test split.
    const hash = "d".repeat(64);
    const message: ModelTrainingMessage = {
      operation: "Trained: PROPHET",
      status: "SUCCESS",
      run_id: `${id}-prophet-x`,
      model_type: "PROPHET",
      config_hash: hash,
      identifier: id,
      artifact_uri: `s3://${ctx.config.storage.buckets.artifacts}/runs/${id}-prophet-x/`,
      metrics: { rmse: 1, mae: 1, mse: 1 },
      error: null,
    };
    const dlqTraining2 = await TopicCollector.start("DLQ-model-training");
    try {
      await publish(ctx.producer, "model-training", ModelTrainingMessage, message, id);
      const [doc] = await dlqTraining2.waitFor("the exhausted message in DLQ-model-training", (m) =>
        String(m.value ?? "").includes(id),
      );
      const envelope = DlqEnvelope.parse(doc);
      expect(envelope).toMatchObject({ function: "evaluate", attempts: 3, source_topic: "model-training" });
      expect(envelope.error).toMatch(/\.meta\.json does not exist/);
      // The runtime records the outcome just after publishing to the DLQ: wait for it, don't race it.
      const failure = await pollUntil("evaluate's failure outcome", () =>
        of("evaluate", id).find((o) => !o.ok),
      );
      expect(failure).toMatchObject({ ok: false, attempts: 3, dlq: true });
    } finally {
      await dlqTraining2.stop();
    }
  }, 60_000);

  it("fails a CSV without `down` in preprocess, naming it, with a DLQ envelope and nothing under processed-data", async () => {
    const id = `${filePrefix}-bad`;
    const text = readFileSync(sliceCsv, "utf8").replace(/^time,down,/, "time,dl,");
    await putBytes(ctx.s3, ctx.config.storage.buckets.raw, `${id}/bad.csv`, text);
    const failure = await pollUntil("the preprocess failure", () => of("preprocess", id).find((o) => !o.ok));
    expect(failure.ok).toBe(false);
    if (failure.ok) return;
    expect(failure.error).toMatch(/column 'down' is missing/);
    expect(failure.attempts).toBe(1); // bad input is not retried
    const [envelope] = await dlqS3.waitFor("the DLQ-s3-events envelope", (m) =>
      String(m.value ?? "").includes(`${id}/bad.csv`),
    );
    expect(envelope?.function).toBe("preprocess");
    expect(await listKeys(ctx.s3, ctx.config.storage.buckets.processed, `${id}/`)).toEqual([]);
  }, 60_000);
});
