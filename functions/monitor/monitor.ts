/**
 * monitor: one `performance-eval` message → the drift rule against the model's ratio at promotion;
 * on drift a record `model-promotion/<identifier>/drift/<run_id>-<id>.json`, written once per scored
 * result (a redelivered message records nothing new), and the log event `model_drift_detected`;
 * with RETRAIN_ON_DRIFT=1, the champion's retraining (retrain.ts).
 */
import { createHash } from "node:crypto";
import type { StageContext } from "../common/context.ts";
import { DriftEvent, type PerformanceEvalMessage, parseContract } from "../common/contracts.ts";
import { promotionKeys } from "../common/keys.ts";
import { putIfAbsent } from "../common/s3.ts";
import { driftRule } from "./drift.ts";
import { publishLiveRatios } from "./live-metrics.ts";
import { referenceRatios } from "./reference.ts";
import { type Retraining, startRetraining } from "./retrain.ts";
import { loadMonitorSettings } from "./settings.ts";

export type MonitorResult =
  | { status: "ok"; reference: "decision" | "card" }
  | { status: "drift"; key: string; recorded: boolean; event: DriftEvent; retraining: Retraining | null };

export const driftKey = (message: PerformanceEvalMessage): string =>
  promotionKeys.drift(
    message.identifier,
    message.run_id,
    createHash("sha256").update(message.output_uri).digest("hex").slice(0, 16),
  );

export async function monitorMessage(
  message: PerformanceEvalMessage,
  ctx: StageContext,
): Promise<MonitorResult> {
  const { threshold, retrainOnDrift } = loadMonitorSettings(ctx.env);
  const { buckets } = ctx.config.storage;
  const reference = await referenceRatios(ctx.s3, buckets.artifacts, message);
  const rule = driftRule(message.ratio, reference.ratios, threshold);
  ctx.logger.info("monitor_ratio", {
    identifier: message.identifier,
    run_id: message.run_id,
    ratio: message.ratio,
    reference: reference.source,
    targets: rule.targets,
  });
  publishLiveRatios(message);
  if (!rule.drifted) return { status: "ok", reference: reference.source };
  const event = parseContract(DriftEvent, "drift event", {
    v: 1,
    identifier: message.identifier,
    run_id: message.run_id,
    model_type: message.model_type,
    config_hash: message.config_hash,
    threshold,
    reference: reference.source,
    targets: rule.targets,
    output_uri: message.output_uri,
    detected_at: new Date().toISOString(),
  });
  const key = driftKey(message);
  const recorded = await putIfAbsent(ctx.s3, buckets.promotion, key, JSON.stringify(event));
  if (recorded)
    ctx.logger.warn("model_drift_detected", {
      identifier: message.identifier,
      run_id: message.run_id,
      drift_uri: `s3://${buckets.promotion}/${key}`,
      targets: Object.keys(rule.targets).filter((t) => rule.targets[t]?.drifted),
    });
  const retraining = retrainOnDrift ? await startRetraining(message, ctx) : null;
  if (retraining)
    ctx.logger.warn(retraining.started ? "retraining_started" : "retraining_already_started", {
      identifier: message.identifier,
      champion: message.run_id,
      series_uri: retraining.uri,
      rows: retraining.rows,
    });
  return { status: "drift", key, recorded, event, retraining };
}
