/**
 * Carries out a decision: history and pointers (`promotion_artifacts_ok`), then `model-selected`,
 * then the `published.json` marker. Every step is idempotent, so a retry after a crash finishes the
 * same single promotion.
 */

import type { StageContext } from "../common/context.ts";
import {
  type EvaluationDecision,
  ModelSelectedMessage,
  type PromotionHistoryEntry,
  TOPICS,
} from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { GLOBAL_SCOPE, keyTimestamp, promotionKeys } from "../common/promotion.ts";
import { putIfAbsent, putJson } from "../common/s3.ts";
import { loadEvaluateSettings } from "./settings.ts";
import { evaluationKeys } from "./state.ts";

export async function finalizeDecision(
  ctx: StageContext,
  decision: EvaluationDecision,
  promoteGlobal = loadEvaluateSettings(ctx.env).promoteGlobal,
): Promise<void> {
  const { s3, logger, config } = ctx;
  const { identifier, config_hash } = decision;
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
      const historyKey = promotionKeys.history(scope, config_hash, keyTimestamp(decision.decided_at));
      await putIfAbsent(s3, promotionBucket, historyKey, JSON.stringify(history));
      await putJson(s3, promotionBucket, promotionKeys.configCurrent(scope, config_hash), pointer);
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
}
