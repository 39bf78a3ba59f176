/**
 * Runs cannot be orphaned, on real MinIO and Kafka: the local runtime's sweeper timer (the stand-in
 * for the EventBridge rule) marks a run whose heartbeat stopped, and makes evaluate decide once the
 * deadline passed with no message arriving; a re-run's train-dispatch takes over a dead run's guard.
 * Short leases and deadlines come from settings, so nothing waits long.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { DispatchGuard, EvaluationDecision, RunRecord } from "../../functions/common/contracts.ts";
import { evaluationKeys, guardKeys, parseEvaluationKey, runKeys } from "../../functions/common/keys.ts";
import {
  exists,
  getBytesIfExists,
  getJson,
  getJsonIfExists,
  listKeys,
  putJson,
  s3Uri,
} from "../../functions/common/s3.ts";
import { recordStatus } from "../../functions/evaluate/state.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { dispatchTraining, newRunId } from "../../functions/train-dispatch/dispatch.ts";
import { loadDispatchSettings } from "../../functions/train-dispatch/settings.ts";
import { type Runtime, startRuntime } from "../../local/runtime/runtime.ts";
import { pollUntil } from "../poll.ts";
import { placeFixtureRun, stageAndPreprocess, testContext, uniqueId } from "./pipeline-helpers.ts";

const filePrefix = uniqueId("sw");
const env = {
  EXPECTED_MODEL_TYPES: "GRU,PROPHET",
  PROMOTION_POLICY: "always",
  EVAL_DEADLINE_SECONDS: "3",
  RUN_LEASE_SECONDS: "2",
  HEARTBEAT_SECONDS: "1",
  SWEEP_INTERVAL_SECONDS: "1",
};
let ctx: StageContext;
let runtime: Runtime;
const artifacts = () => ctx.config.storage.buckets.artifacts;
const failedError = async (runId: string) => {
  const bytes = await getBytesIfExists(ctx.s3, artifacts(), runKeys.failed(runId));
  return bytes ? (JSON.parse(Buffer.from(bytes).toString("utf8")) as { error: string }).error : null;
};

beforeAll(async () => {
  ctx = await testContext("it-sweeper", env);
  runtime = await startRuntime({
    env: { ...process.env, ...env },
    groupSuffix: filePrefix,
    startAt: "latest",
    functions: ["sweeper", "evaluate"],
    accept: (text, id) => (id ? id.startsWith(filePrefix) : text.includes(filePrefix)),
    trainer: null,
  });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  if (ctx) await closeStageContext(ctx);
});

function runRecord(id: string, hash: string, runId: string, claim: unknown, createdAt: string): RunRecord {
  return {
    run_id: runId,
    model_type: "GRU",
    identifier: id,
    config_hash: hash,
    backend: "local",
    status: "RUNNING",
    artifact_uri: s3Uri(artifacts(), runKeys.prefix(runId)),
    training_data: claim as RunRecord["training_data"],
    created_at: createdAt,
  };
}

describe("sweeper (local runtime timer standing in for EventBridge)", () => {
  it("marks _FAILED a run without a marker whose heartbeat stopped, with the reason", async () => {
    const id = `${filePrefix}-lease`;
    const staged = await stageAndPreprocess(ctx, id);
    const runId = newRunId(id, "GRU", staged.config_hash);
    const now = new Date().toISOString();
    await putJson(
      ctx.s3,
      artifacts(),
      runKeys.record(runId),
      runRecord(id, staged.config_hash, runId, staged.claim, now),
    );
    await putJson(ctx.s3, artifacts(), runKeys.heartbeat(runId), { run_id: runId, at: now, beat: 3 });

    const error = await pollUntil("the sweeper to mark the silent run", () => failedError(runId), {
      timeoutMs: 30_000,
    });
    expect(error).toMatch(/^lease expired: no heartbeat for \d+ s \(RUN_LEASE_SECONDS=2\)$/);
    expect(await exists(ctx.s3, artifacts(), runKeys.success(runId))).toBe(false);
  }, 60_000);

  it("makes evaluate decide once EVAL_DEADLINE_SECONDS passed, with no message arriving", async () => {
    const id = `${filePrefix}-deadline`;
    const staged = await stageAndPreprocess(ctx, id);
    const hash = staged.config_hash;
    const prophet = await placeFixtureRun(ctx, id, hash, staged.claim, "PROPHET");
    const gru = await placeFixtureRun(ctx, id, hash, staged.claim, "GRU");
    // GRU is still training (RUNNING, never finishes); PROPHET is done. Their statuses are what
    // evaluate recorded from the messages it had; no message comes after them.
    await recordStatus(ctx.s3, artifacts(), { ...gru, status: "RUNNING", metrics: null });
    await recordStatus(ctx.s3, artifacts(), prophet);

    // Nothing more is published by the test: the sweeper must bring the decision.
    const decision = await pollUntil(
      "a decision after the deadline",
      () => getJsonIfExists(ctx.s3, artifacts(), evaluationKeys.decision(id, hash), EvaluationDecision),
      { timeoutMs: 60_000 },
    );
    expect(decision.deadline_passed).toBe(true);
    expect(decision.scoreboard.find((e) => e.model_type === "GRU")).toMatchObject({ status: "MISSING" });
    expect(decision.winner?.run_id).toBe(prophet.run_id);
    await pollUntil("the published marker", () =>
      exists(ctx.s3, artifacts(), evaluationKeys.published(id, hash)).then((x) => x || null),
    );
    const nudges = (await listKeys(ctx.s3, artifacts(), evaluationKeys.prefix(id, hash))).filter(
      (k) => parseEvaluationKey(k)?.entry.kind === "nudged",
    );
    expect(nudges).toHaveLength(1);
  }, 90_000);
});

describe("train-dispatch never waits on a dead run", () => {
  it("marks the guard's dead run _FAILED (lease expired) and dispatches the next attempt; a live one is skipped", async () => {
    const id = `${filePrefix}-rerun`;
    const staged = await stageAndPreprocess(ctx, id);
    const hash = staged.config_hash;
    // A launcher that accepts the job and never runs it: a trainer that dies at once (fake launcher).
    const launched: string[] = [];
    registerTrainerLauncher("local", {
      launch: async (spec) => {
        launched.push(spec.run_id);
        return { backend: "local", handle: "lost" };
      },
    });
    const settings = loadDispatchSettings({ EXPECTED_MODEL_TYPES: "PROPHET", TRAINER_BACKEND: "local" });
    const first = await dispatchTraining(staged.claim, ctx, settings);
    const dead = first.dispatched[0]?.run_id as string;
    expect(launched).toEqual([dead]);

    // Re-run at once: the run is within its start lease, so its guard holds.
    const again = await dispatchTraining(staged.claim, ctx, settings);
    expect(again.skipped).toEqual([{ model_type: "PROPHET", run_id: dead }]);

    // An hour later, still no heartbeat and no marker: the run is dead (its record is back-dated).
    const record = await getJson(ctx.s3, artifacts(), runKeys.record(dead), RunRecord);
    await putJson(ctx.s3, artifacts(), runKeys.record(dead), {
      ...record,
      created_at: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const rerun = await dispatchTraining(staged.claim, ctx, settings);
    expect(rerun.skipped).toEqual([]);
    const retry = rerun.dispatched[0]?.run_id as string;
    expect(retry).not.toBe(dead);
    expect(launched).toEqual([dead, retry]);
    expect(await failedError(dead)).toMatch(/^lease expired: no heartbeat for 3\d{3} s since dispatch/);
    const guard = await getJson(ctx.s3, artifacts(), guardKeys.attempt(hash, "PROPHET", 2), DispatchGuard);
    expect(guard.run_id).toBe(retry);
  }, 60_000);
});
