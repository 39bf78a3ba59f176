/**
 * Manual promotion and rollback: checks first (nothing is written when a check fails), then the
 * history entry and the pointers (promotionKeys, as evaluate's finalizeDecision writes them), then
 * `model-selected`, which the inference service swaps on.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { Producer } from "kafkajs";
import {
  type ModelCard,
  ModelSelectedMessage,
  type PromotionHistoryEntry,
  PromotionPointer,
  type ScoreboardEntry,
  TOPICS,
} from "../../functions/common/contracts.ts";
import { publish } from "../../functions/common/kafka.ts";
import { promotionKeys, runKeys } from "../../functions/common/keys.ts";
import { putIfAbsent, putJson, s3Uri } from "../../functions/common/s3.ts";
import { type Buckets, describeRun, readChampion, readLatestDecision } from "./catalog.ts";
import { readHistory } from "./history.ts";

/** Bad input: the CLI prints the message and exits 2, having written nothing. */
export class RefusedError extends Error {}

export interface OpsContext {
  s3: S3Client;
  producer: Producer;
  buckets: Buckets;
}

export interface OperationResult {
  action: "promote" | "rollback";
  identifier: string;
  run_id: string;
  previous_run_id: string | null;
  history_key: string;
  reason: string;
}

function meanTest(card: ModelCard): { rmse: number; mae: number; mse: number } {
  const values = Object.values(card.metrics.test);
  const mean = (k: "rmse" | "mae" | "mse") => values.reduce((s, m) => s + m[k], 0) / values.length;
  return { rmse: mean("rmse"), mae: mean("mae"), mse: mean("mse") };
}

interface Checked {
  card: ModelCard;
  scored: ScoreboardEntry | null;
  scoreboard: ScoreboardEntry[];
}

/** The checks of a promotion target; throws RefusedError naming the problem. */
async function checkRun(ctx: OpsContext, runId: string, identifier: string): Promise<Checked> {
  const info = await describeRun(ctx.s3, ctx.buckets, runId);
  if (!info) throw new RefusedError(`run ${runId}: no model card at runs/${runId}/model.json (unknown run)`);
  if (info.card.identifier !== identifier)
    throw new RefusedError(
      `run ${runId} is a model of identifier '${info.card.identifier}', not '${identifier}'`,
    );
  if (info.state === "FAILED") throw new RefusedError(`run ${runId} FAILED (runs/${runId}/_FAILED)`);
  if (!info.has_model) throw new RefusedError(`run ${runId}: runs/${runId}/model.onnx is missing`);
  if (info.scored && info.scored.status !== "SCORED")
    throw new RefusedError(
      `run ${runId} is ${info.scored.status} on its last scoreboard (${info.scored.error ?? "no score"})`,
    );
  const decision = await readLatestDecision(ctx.s3, ctx.buckets, identifier, info.card.config_hash);
  return { card: info.card, scored: info.scored, scoreboard: decision?.scoreboard ?? [] };
}

async function apply(
  ctx: OpsContext,
  action: OperationResult["action"],
  identifier: string,
  target: Checked,
  reason: string,
  now: Date,
): Promise<OperationResult> {
  const { card, scored } = target;
  const previous = await readChampion(ctx.s3, ctx.buckets, identifier);
  if (previous?.run_id === card.run_id)
    throw new RefusedError(`run ${card.run_id} is already the champion of '${identifier}'`);
  const metrics =
    scored?.rmse != null && scored.mae != null && scored.mse != null
      ? { rmse: scored.rmse, mae: scored.mae, mse: scored.mse }
      : meanTest(card);
  const pointer = PromotionPointer.parse({
    model_uri: s3Uri(ctx.buckets.artifacts, runKeys.onnx(card.run_id)),
    run_id: card.run_id,
    model_type: card.model_type,
    config_hash: card.config_hash,
    identifier,
    scope: identifier,
    // A run never scored by evaluate carries its own mean test RMSE (score_source says which).
    score: scored?.score ?? metrics.rmse,
    score_source: scored?.score != null ? "scoreboard" : "card_test_rmse",
    card_uri: s3Uri(ctx.buckets.artifacts, runKeys.card(card.run_id)),
    promoted_at: now.toISOString(),
    promoted_by: action === "promote" ? "manual" : "rollback",
    ...metrics,
  });
  const history: PromotionHistoryEntry = {
    pointer,
    previous: previous ?? null,
    scoreboard: target.scoreboard,
    reason,
  };
  const historyKey = promotionKeys.history(identifier, card.config_hash, pointer.promoted_at);
  if (!(await putIfAbsent(ctx.s3, ctx.buckets.promotion, historyKey, JSON.stringify(history))))
    throw new RefusedError(`${historyKey} exists already: another promotion at the same instant`);
  await putJson(
    ctx.s3,
    ctx.buckets.promotion,
    promotionKeys.configCurrent(identifier, card.config_hash),
    pointer,
  );
  await putJson(ctx.s3, ctx.buckets.promotion, promotionKeys.current(identifier), pointer);
  await publish(
    ctx.producer,
    TOPICS.modelSelected,
    ModelSelectedMessage,
    {
      model_uri: pointer.model_uri,
      run_id: pointer.run_id,
      model_type: pointer.model_type,
      config_hash: pointer.config_hash,
      identifier,
      score: pointer.score,
      ...metrics,
      scoreboard: target.scoreboard,
    },
    identifier,
  );
  return {
    action,
    identifier,
    run_id: card.run_id,
    previous_run_id: previous?.run_id ?? null,
    history_key: historyKey,
    reason,
  };
}

export async function promoteRun(
  ctx: OpsContext,
  runId: string,
  identifier: string,
  reason: string | undefined,
  now = new Date(),
): Promise<OperationResult> {
  const target = await checkRun(ctx, runId, identifier);
  return apply(ctx, "promote", identifier, target, `manual promotion: ${reason ?? "no reason given"}`, now);
}

/**
 * Back to the champion before the current one: the `previous` of the newest history entry that
 * promoted the current champion. A second rollback therefore returns to the run rolled back from.
 */
export async function rollback(
  ctx: OpsContext,
  identifier: string,
  reason: string | undefined,
  now = new Date(),
): Promise<OperationResult> {
  const current = await readChampion(ctx.s3, ctx.buckets, identifier);
  if (!current)
    throw new RefusedError(`identifier '${identifier}' has no champion (${identifier}/current.json)`);
  const history = await readHistory(ctx.s3, ctx.buckets.promotion, identifier);
  const last = history.filter((h) => h.entry.pointer.run_id === current.run_id).at(-1);
  const target = last?.entry.previous;
  if (!target)
    throw new RefusedError(
      `identifier '${identifier}': the history holds no champion before ${current.run_id}`,
    );
  const checked = await checkRun(ctx, target.run_id, identifier);
  return apply(
    ctx,
    "rollback",
    identifier,
    checked,
    `rollback from ${current.run_id} to ${target.run_id}${reason ? `: ${reason}` : ""}`,
    now,
  );
}
