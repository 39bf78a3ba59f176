/**
 * One decision, one `model-selected`, on real MinIO and Kafka with real fixture models: concurrent
 * evaluators of the same generation, each with its own producer, publish once; a finalizer whose
 * claim went stale without publishing is taken over, and the takeover publishes once; a fresh claim
 * is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { PromotionPointer } from "../../functions/common/contracts.ts";
import { evaluationKeys, promotionKeys } from "../../functions/common/keys.ts";
import { exists, getJson, listKeys, putIfAbsent } from "../../functions/common/s3.ts";
import { decide, evaluateMessage } from "../../functions/evaluate/evaluate.ts";
import { finalizeDecision } from "../../functions/evaluate/promote.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import { loadRunStates, recordStatus } from "../../functions/evaluate/state.ts";
import {
  placeFixtureRun,
  stageAndPreprocess,
  TopicCollector,
  testContext,
  uniqueId,
} from "./pipeline-helpers.ts";

const env = { EXPECTED_MODEL_TYPES: "PROPHET", PROMOTION_POLICY: "always" };
let a: StageContext;
let b: StageContext;
let selected: TopicCollector;
const settings = loadEvaluateSettings(env);

beforeAll(async () => {
  [a, b] = await Promise.all([testContext("it-pub-a", env), testContext("it-pub-b", env)]);
  selected = await TopicCollector.start("model-selected");
}, 60_000);

afterAll(async () => {
  await selected?.stop();
  for (const c of [a, b]) if (c) await closeStageContext(c);
});

const artifacts = () => a.config.storage.buckets.artifacts;
const promotionBucket = () => a.config.storage.buckets.promotion;

/** A processed data set with one finished PROPHET run, and its decision written (not yet carried out). */
async function decidedGroup() {
  const id = uniqueId("pub");
  const staged = await stageAndPreprocess(a, id);
  const hash = staged.config_hash;
  const success = await placeFixtureRun(a, id, hash, staged.claim, "PROPHET");
  await recordStatus(a.s3, artifacts(), success);
  const runs = await loadRunStates(a.s3, artifacts(), id, hash);
  const decision = await decide(a, id, hash, runs, false, settings);
  expect(
    await putIfAbsent(
      a.s3,
      artifacts(),
      evaluationKeys.decisionFor(id, hash, decision.generation),
      JSON.stringify(decision),
    ),
  ).toBe(true);
  return { id, hash, success, decision };
}

const selectedFor = async (id: string) => {
  await selected.syncToEnd();
  return selected.matching((m) => m.identifier === id);
};

describe("one decision, one model-selected", () => {
  it("two concurrent evaluators of the same SUCCESS: one model-selected", async () => {
    const id = uniqueId("pub");
    const staged = await stageAndPreprocess(a, id);
    const success = await placeFixtureRun(a, id, staged.config_hash, staged.claim, "PROPHET");
    const results = await Promise.all([
      evaluateMessage(success, a, settings),
      evaluateMessage(success, b, settings),
    ]);
    expect(results.some((r) => r.status === "decided")).toBe(true);
    await selected.waitFor("the promotion", (m) => m.identifier === id);
    expect(await selectedFor(id)).toHaveLength(1);
  }, 120_000);

  it("two concurrent finalizations of one decision: exactly one carries it out and publishes", async () => {
    const { id, hash, success, decision } = await decidedGroup();
    const done = await Promise.all([finalizeDecision(a, decision), finalizeDecision(b, decision)]);
    expect(done.filter(Boolean)).toHaveLength(1);
    expect(await exists(a.s3, artifacts(), evaluationKeys.publishedFor(id, hash, decision.generation))).toBe(
      true,
    );
    await selected.waitFor("the promotion", (m) => m.identifier === id);
    expect(await selectedFor(id)).toHaveLength(1);
    expect(await listKeys(a.s3, promotionBucket(), promotionKeys.historyPrefix(id, hash))).toHaveLength(1);
    expect((await getJson(a.s3, promotionBucket(), promotionKeys.current(id), PromotionPointer)).run_id).toBe(
      success.run_id,
    );
  }, 120_000);

  it("takes over a claim left by a dead finalizer (older than evaluate's timeout) and publishes once", async () => {
    const { id, hash, decision } = await decidedGroup();
    // A finalizer claimed the generation an hour ago and died before publishing.
    const claimedAt = new Date(Date.now() - 3_600_000).toISOString();
    await putIfAbsent(
      a.s3,
      artifacts(),
      evaluationKeys.claimFor(id, hash, decision.generation, 1),
      JSON.stringify({ generation: decision.generation, slot: 1, claimed_at: claimedAt }),
    );
    const done = await Promise.all([finalizeDecision(a, decision), finalizeDecision(b, decision)]);
    expect(done.filter(Boolean)).toHaveLength(1);
    expect(await exists(a.s3, artifacts(), evaluationKeys.claimFor(id, hash, decision.generation, 2))).toBe(
      true,
    );
    expect(await exists(a.s3, artifacts(), evaluationKeys.publishedFor(id, hash, decision.generation))).toBe(
      true,
    );
    // Once published, nobody publishes it again.
    expect(await finalizeDecision(b, decision)).toBe(false);
    await selected.waitFor("the takeover's promotion", (m) => m.identifier === id);
    expect(await selectedFor(id)).toHaveLength(1);
  }, 120_000);

  it("a fresh claim without a published marker is left to its finalizer", async () => {
    const { id, hash, decision } = await decidedGroup();
    await putIfAbsent(
      a.s3,
      artifacts(),
      evaluationKeys.claimFor(id, hash, decision.generation, 1),
      JSON.stringify({ generation: decision.generation, slot: 1, claimed_at: new Date().toISOString() }),
    );
    expect(await finalizeDecision(b, decision)).toBe(false);
    expect(await exists(a.s3, artifacts(), evaluationKeys.claimFor(id, hash, decision.generation, 2))).toBe(
      false,
    );
    expect(await selectedFor(id)).toHaveLength(0);
  }, 120_000);
});
