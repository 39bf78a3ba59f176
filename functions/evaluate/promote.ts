/**
 * Carries out a decision: history and pointers (`promotion_artifacts_ok`), then `model-selected`,
 * then the `published.json` marker. Only the holder of the generation's publication claim does it, so
 * concurrent evaluators (or pipelines) publish one `model-selected` per decision. Every step is
 * idempotent, so a takeover after a crash finishes the same single promotion.
 */

import type { StageContext } from "../common/context.ts";
import {
  type EvaluationDecision,
  ModelSelectedMessage,
  type PromotionHistoryEntry,
  PromotionPointer,
  TOPICS,
} from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { evaluationKeys, GLOBAL_SCOPE, promotionKeys } from "../common/keys.ts";
import { exists, getJsonIfExists, putIfAbsent, putJson } from "../common/s3.ts";
import { functionByName } from "../manifest.ts";
import { loadEvaluateSettings } from "./settings.ts";
import { PublicationClaim } from "./state.ts";

const CLAIM_SLOTS = 10;

/**
 * Claims the publication of a decision; returns the slot, or null when another finalizer holds it
 * (or finished it). Takeover rule: a claim older than evaluate's timeout (the longest a finalizer can
 * live) whose generation has no published marker was left by a dead finalizer; the next finalizer
 * claims the next slot.
 */
export async function claimPublication(
  ctx: StageContext,
  decision: EvaluationDecision,
  takeoverSeconds = functionByName("evaluate").timeoutSeconds,
  now = new Date(),
): Promise<number | null> {
  const bucket = ctx.config.storage.buckets.artifacts;
  const { identifier, config_hash, generation } = decision;
  for (let slot = 1; slot <= CLAIM_SLOTS; slot++) {
    const key = evaluationKeys.claimFor(identifier, config_hash, generation, slot);
    const claim: PublicationClaim = { generation, slot, claimed_at: now.toISOString() };
    if (await putIfAbsent(ctx.s3, bucket, key, JSON.stringify(claim))) return slot;
    if (await exists(ctx.s3, bucket, evaluationKeys.publishedFor(identifier, config_hash, generation)))
      return null;
    const held = await getJsonIfExists(ctx.s3, bucket, key, PublicationClaim);
    if (held && now.getTime() - Date.parse(held.claimed_at) < takeoverSeconds * 1000) return null;
    ctx.logger.warn("publication_claim_takeover", { identifier, config_hash, generation, stale_slot: slot });
  }
  ctx.logger.error("publication_claims_exhausted", {
    identifier,
    config_hash,
    generation,
    slots: CLAIM_SLOTS,
  });
  return null;
}

/** Carries out `decision` when this finalizer wins its claim; returns whether it did. */
export async function finalizeDecision(
  ctx: StageContext,
  decision: EvaluationDecision,
  promoteGlobal = loadEvaluateSettings(ctx.env).promoteGlobal,
  takeoverSeconds?: number,
): Promise<boolean> {
  const { s3, logger, config } = ctx;
  const { identifier, config_hash } = decision;
  const slot = await claimPublication(ctx, decision, takeoverSeconds);
  if (slot === null) {
    logger.info("publication_claimed_elsewhere", {
      identifier,
      config_hash,
      generation: decision.generation,
    });
    return false;
  }
  const promotionBucket = config.storage.buckets.promotion;
  if (decision.promoted && decision.pointer) {
    const scopes = promoteGlobal ? [identifier, GLOBAL_SCOPE] : [identifier];
    const keys: string[] = [];
    for (const scope of scopes) {
      const pointer = { ...decision.pointer, scope };
      const history: PromotionHistoryEntry = {
        pointer,
        previous: decision.previous,
        scoreboard: decision.scoreboard,
        reason: decision.reason,
      };
      const historyKey = promotionKeys.history(scope, config_hash, decision.decided_at);
      await putIfAbsent(s3, promotionBucket, historyKey, JSON.stringify(history));
      await putJson(s3, promotionBucket, promotionKeys.configCurrent(scope, config_hash), pointer);
      // A takeover never moves the scope's pointer back past a later promotion.
      const current = await getJsonIfExists(
        s3,
        promotionBucket,
        promotionKeys.current(scope),
        PromotionPointer,
      );
      if (!current || current.promoted_at <= pointer.promoted_at)
        await putJson(s3, promotionBucket, promotionKeys.current(scope), pointer);
      keys.push(historyKey, promotionKeys.configCurrent(scope, config_hash), promotionKeys.current(scope));
    }
    logger.info("promotion_artifacts_ok", {
      identifier,
      config_hash,
      run_id: decision.pointer.run_id,
      bucket: promotionBucket,
      keys,
    });
    const winner = decision.scoreboard.find(
      (e) => e.run_id === decision.pointer?.run_id && e.kind === "candidate",
    );
    await publish(
      ctx.producer,
      TOPICS.modelSelected,
      ModelSelectedMessage,
      {
        model_uri: decision.pointer.model_uri,
        run_id: decision.pointer.run_id,
        model_type: decision.pointer.model_type,
        config_hash,
        identifier,
        score: decision.pointer.score,
        rmse: winner?.rmse ?? Number.NaN,
        mae: winner?.mae ?? Number.NaN,
        mse: winner?.mse ?? Number.NaN,
        scoreboard: decision.scoreboard,
      },
      identifier,
    );
    logger.info("model_selected_published", {
      identifier,
      config_hash,
      run_id: decision.pointer.run_id,
      model_type: decision.pointer.model_type,
      score: decision.pointer.score,
    });
  } else {
    logger.info("promotion_declined", { identifier, config_hash, reason: decision.reason });
  }
  const artifacts = config.storage.buckets.artifacts;
  const marker = {
    at: new Date().toISOString(),
    promoted: decision.promoted,
    generation: decision.generation,
  };
  // The latest decision, for readers; then the generation's marker, which closes it.
  await putJson(s3, artifacts, evaluationKeys.decision(identifier, config_hash), decision);
  await putJson(s3, artifacts, evaluationKeys.published(identifier, config_hash), marker);
  await putJson(
    s3,
    artifacts,
    evaluationKeys.publishedFor(identifier, config_hash, decision.generation),
    marker,
  );
  return true;
}
